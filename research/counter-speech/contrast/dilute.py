"""Calls pasted among everyday posts in one ~1,000-char piece: what each stage says."""
import json, random, sys
import numpy as np
sys.path.insert(0, "/work/main/src")
from bastion.classify.classifier import classify_texts
from bastion.classify.model import shipped_model, log_odds
from bastion.classify.encoder import encoder
from bastion.classify.context_head import head_logits, propaganda_log_odds
from bastion.classify.embeddings import embed
from bastion.text.normalize import normalize_text
rows = [json.loads(l) for f in ["en.jsonl", "en-more.jsonl"] for l in open(f"/work/main/data/text/{f}")]
everyday = [r["text"] for r in rows if r["slice"] == "everyday" and len(r["text"]) < 200]
calls = [r["text"] for r in rows if r["label"] == "propaganda" and len(r["text"]) < 250][:40]
rng = random.Random(1)
texts = []
for c in calls:
    before = rng.sample(everyday, 3); after = rng.sample(everyday, 3)
    texts.append(" ".join(before + [c] + after))
m = shipped_model(); ctx = m.context
res = classify_texts(texts, explain=False)
probs = m.class_probabilities([normalize_text(t) for t in texts], embed(texts))
first = log_odds(probs[:, m.propaganda].astype(np.float64))
second = propaganda_log_odds(head_logits(ctx.heads, encoder(ctx.layers).states(texts)), m.propaganda)
alone = res_calls = classify_texts(calls, explain=False)
print("lengths", np.median([len(t) for t in texts]))
print("calls alone flagged", sum(r.band != "none" for r in alone), "/", len(calls))
print("diluted flagged", sum(r.band != "none" for r in res), "/", len(texts))
print("first >= gate", int((first >= ctx.gate).sum()), "gate", ctx.gate)
rev = ctx.thresholds["en"].review
for name, s in [("second alone", second), ("mean", (first + second) / 2)]:
    cal = ctx.calibrated(s)
    print(name, "would flag", int((cal >= rev).sum()), "median", float(np.median(cal)))
