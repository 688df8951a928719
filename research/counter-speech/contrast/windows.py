"""If every 2-sentence window were also scored: benign texts of the pool it would flag, and
diluted calls it would find."""
import json, sys, collections
sys.path.insert(0, "/work/main/src")
from pathlib import Path
from bastion.classify.classifier import classify_texts
from bastion.classify.dataset import load_examples, training_files
from bastion.classify.long_texts import SENTENCE_END
ex = [e for e in load_examples(training_files(Path("/work/main/data/text"))) if e.split != "test" and e.label == "benign"]
wins, owner = [], []
for i, e in enumerate(ex):
    s = [x for x in SENTENCE_END.split(e.text) if x.strip()]
    if len(s) < 3: continue
    for j in range(len(s) - 1):
        wins.append(" ".join(s[j:j + 2])); owner.append(i)
res = classify_texts(wins, explain=False)
hit = {owner[k] for k, r in enumerate(res) if r.band != "none"}
whole = classify_texts([ex[i].text for i in sorted(set(owner))], explain=False)
base = {i for i, r in zip(sorted(set(owner)), whole) if r.band != "none"}
c = collections.Counter((ex[i].lang, ex[i].slice) for i in hit - base)
n = collections.Counter((ex[i].lang, ex[i].slice) for i in set(owner))
print("benign texts with 3+ sentences", len(set(owner)), "flagged whole", len(base), "flagged by a window (new)", len(hit - base))
for k in sorted(n): print(k, f"{c[k]}/{n[k]}")
