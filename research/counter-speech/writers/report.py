"""Counts flagged out of fold at 95% recall per language (threshold on the whole pool), by writer group."""
import os, pickle, re, sys
import numpy as np
sys.path.insert(0, "/work/main/src")
from bastion.classify.model import log_odds
from bastion.classify.context_head import propaganda_log_odds
TAG = sys.argv[1]; show = "--show" in sys.argv
d = np.load(f"/tmp/exp3/oof{TAG}.npz"); meta = pickle.load(open(f"/tmp/exp3/meta{TAG}.pkl", "rb"))
classes = list(d["classes"]); P = classes.index("propaganda")
first = log_odds(d["raw"]); second = propaganda_log_odds(d["logits"], P)
def writer(m):
    return "new" if re.match(r"^..-[pq]\d", m["id"]) else "old"
def report(score, label, recall=0.95):
    for lang in ["en", "fr", "ar"]:
        idx = [i for i, m in enumerate(meta) if m["lang"] == lang]
        pos = np.array([meta[i]["label"] == "propaganda" for i in idx]); s = score[idx]
        ranked = np.sort(s[pos]); thr = ranked[int(np.floor((1 - recall) * len(ranked)))]
        fl = s >= thr
        for w in ["old", "new"]:
            sel = np.array([writer(meta[i]) == w for i in idx])
            if not sel.any(): continue
            slices = {}
            for j, i in enumerate(idx):
                if sel[j] and not pos[j]:
                    sl = meta[i]["slice"]; n, f = slices.get(sl, (0, 0)); slices[sl] = (n + 1, f + int(fl[j]))
                    if show and fl[j] and label == "mean": print(f"  FP {lang} {sl} {s[j]-thr:+.2f} {meta[i]['id']}: {meta[i]['text'][:200]}")
            rec = fl[pos & sel].mean() if (pos & sel).any() else float("nan")
            print(f"{label:6s} {lang} {w} rec {rec:.3f} fp {sum(f for n,f in slices.values())}/{sum(n for n,f in slices.values())} " + " ".join(f"{k[:4]}{f}/{n}" for k,(n,f) in sorted(slices.items())))
report(first, "first"); report(second, "second"); report((first + second) / 2, "mean")
