"""Counts flagged OOF at 95% recall per language: per stage and mean. usage: rep.py TAG..."""
import pickle, sys
import numpy as np
sys.path.insert(0, "/work/main/src")
from bastion.classify.model import log_odds
from bastion.classify.context_head import propaganda_log_odds
meta = pickle.load(open("/tmp/exp4/cache.pkl", "rb"))["meta"]
langs = np.array([m["lang"] for m in meta]); pos = np.array([m["label"] == "propaganda" for m in meta])
sl = np.array([m["slice"] for m in meta])
for TAG in sys.argv[1:]:
    d = np.load(f"/tmp/exp4/oof{TAG}.npz"); classes = list(d["classes"]); P = classes.index("propaganda")
    a = log_odds(d["raw"]); b = propaganda_log_odds(d["logits"], P)
    for name, s in [("first", a), ("second", b), ("mean", (a + b) / 2)]:
        out = []
        for recall in (0.95, 0.90):
          cs = []; ab = []
          for lang in ["en", "fr", "ar"]:
            m = langs == lang; r = np.sort(s[m & pos]); thr = r[int(np.floor((1 - recall) * len(r)))]
            fl = (s >= thr) & m & ~pos
            cs.append(int((fl & (sl == "counter_speech")).sum())); ab.append(int(fl.sum()))
          out.append(f"@{recall:.2f} cs {cs[0]:2d}/{cs[1]:2d}/{cs[2]:2d} all {ab[0]:2d}/{ab[1]:2d}/{ab[2]:2d}")
        print(f"{TAG:10s} {name:6s} " + "   ".join(out))
