import json, sys, collections, random
sys.path.insert(0, "/work/main/src")
from pathlib import Path
from bastion.classify.classifier import classify_texts
from bastion.classify.dataset import load_examples, training_files
from bastion.classify.long_texts import SENTENCE_END
allx = load_examples(training_files(Path("/work/main/data/text")))
ex = [e for e in allx if e.split != "test" and e.label == "benign"]
def windows(text, k):
    s = [x for x in SENTENCE_END.split(text) if x.strip()]
    if len(s) < 3: return []
    return [" ".join(s[j:j + k]) for j in range(len(s) - k + 1)]
for k in (1, 2):
    wins, owner = [], []
    for i, e in enumerate(ex):
        for w in windows(e.text, k): wins.append(w); owner.append(i)
    res = classify_texts(wins, explain=False)
    n = collections.Counter((ex[i].lang, ex[i].slice) for i in set(owner))
    for band in ("review", "high"):
        hit = {owner[j] for j, r in enumerate(res) if (r.band == "high" if band == "high" else r.band != "none")}
        c = collections.Counter((ex[i].lang, ex[i].slice) for i in hit)
        print(f"k={k} band>={band}: benign texts with a window flagged {len(hit)}/{len(set(owner))}", {f"{a}-{b[:4]}": f"{c[(a,b)]}/{n[(a,b)]}" for (a,b) in sorted(n) if c[(a,b)]})
# diluted calls
rng = random.Random(1)
filler = {lang: [l.strip() for l in open(f"/work/main/research/counter-speech/contrast/filler-{lang}.txt") if l.strip()] for lang in ("en", "fr", "ar")}
for lang in ("en", "fr", "ar"):
    calls = [e.text for e in allx if e.lang == lang and e.label == "propaganda" and len(e.text) < 250 and e.split != "test"][:40]
    alone = classify_texts(calls, explain=False)
    posts = [" ".join(rng.sample(filler[lang], 3) + [c] + rng.sample(filler[lang], 3)) for c in calls]
    whole = classify_texts(posts, explain=False)
    found = {}
    for k in (1, 2):
        wins, owner = [], []
        for i, p in enumerate(posts):
            for w in windows(p, k): wins.append(w); owner.append(i)
        res = classify_texts(wins, explain=False)
        found[k] = (len({owner[j] for j, r in enumerate(res) if r.band == "high"}), len({owner[j] for j, r in enumerate(res) if r.band != "none"}))
    print(lang, "calls", len(calls), "alone high", sum(r.band == "high" for r in alone), "alone review+", sum(r.band != "none" for r in alone), "diluted whole flagged", sum(r.band != "none" for r in whole), "windows k=1 high/review", found[1], "k=2", found[2])

# Is the flagged window out of place? cosine(window, rest of the text) with USE
import numpy as np
from bastion.classify.embeddings import embed
def worst_window(text, k=2):
    s = [x for x in SENTENCE_END.split(text) if x.strip()]
    ws = [(j, " ".join(s[j:j + k])) for j in range(len(s) - k + 1)]
    res = classify_texts([w for _, w in ws], explain=False)
    j, w = max(zip([j for j, _ in ws], [w for _, w in ws]), key=lambda jw: res[[x for x, _ in ws].index(jw[0])].score)
    r = res[[x for x, _ in ws].index(j)]
    rest = " ".join(s[:j] + s[j + k:])
    e = embed([w, rest])
    return r.band, float(e[0] @ e[1])
ben = [e for e in ex if len(windows(e.text, 2)) > 0]
bs = [worst_window(e.text) for e in ben]
print("benign worst-window high: cos", sorted(round(c, 2) for b, c in bs if b == "high"))
print("benign all cos quartiles", np.percentile([c for b, c in bs], [10, 25, 50, 75]).round(2))
for lang in ("en", "fr", "ar"):
    calls = [e.text for e in allx if e.lang == lang and e.label == "propaganda" and len(e.text) < 250 and e.split != "test"][:40]
    posts = [" ".join(rng.sample(filler[lang], 3) + [c] + rng.sample(filler[lang], 3)) for c in calls]
    ds = [worst_window(p) for p in posts]
    print(lang, "diluted worst-window high: cos quartiles", np.percentile([c for b, c in ds if b == "high"], [50, 75, 90, 100]).round(2), "n", sum(b == "high" for b, c in ds))
