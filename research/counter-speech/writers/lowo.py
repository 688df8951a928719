"""Train on every training file but one writer's (p, q or old); save the model and the
both-stage OOF review thresholds at several recalls. usage: lowo.py W [REVIEW_RECALL]"""
import json, re, sys, time
from pathlib import Path
import numpy as np
sys.path.insert(0, "/work/main/src")
import torch; torch.set_num_threads(2)
from bastion.classify import training as T
W = sys.argv[1]
ex = T.examples_from([Path("/work/main/data/text")])
def writer(e):
    m = re.match(r"^..-([pq])\d", e.id); return m.group(1) if m else "old"
keep = [e for e in ex if writer(e) != W]
captured = []
orig = T._thresholds_by_language
def spy(pool, scores, positive, high_precision=T.HIGH_PRECISION):
    captured.append((np.array([e.lang for e in pool]), scores.copy(), positive.copy(), np.array([e.target for e in pool])))
    return orig(pool, scores, positive, high_precision)
T._thresholds_by_language = spy
print(len(ex), "->", len(keep), flush=True); t0 = time.time()
model = T.train(keep, version=f"lowo-{W}")
model.save(Path(f"/tmp/exp3/lowo-{W}.npz")); print("trained", time.time() - t0)
langs, scores, positive, targets = captured[-1]
out = {}
for lang in ["en", "fr", "ar"]:
    s = np.sort(scores[(langs == lang) & positive])
    out[lang] = {f"{r:.2f}": float(s[int(np.floor((1 - r) * len(s)))]) for r in np.arange(0.85, 0.971, 0.01)}
json.dump(out, open(f"/tmp/exp3/lowo-{W}-thr.json", "w"), indent=1)
np.savez(f"/tmp/exp3/lowo-{W}-oof.npz", langs=langs, scores=scores, positive=positive, targets=targets)
