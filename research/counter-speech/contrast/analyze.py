import pickle, sys
import numpy as np
sys.path.insert(0, "/work/main/src")
from bastion.classify.model import log_odds
from bastion.classify.context_head import propaganda_log_odds
import os; TAG = os.environ.get("TAG", ""); d = np.load(f"/tmp/exp2/oof{TAG}.npz"); meta = pickle.load(open(f"/tmp/exp2/meta{TAG}.pkl", "rb"))
classes = list(d["classes"]); P = classes.index("propaganda")
first = log_odds(d["raw"]); second = propaganda_log_odds(d["logits"], P)
def report(score, recall=0.95, show=False, label=""):
    out = []
    for lang in ["en", "fr", "ar"]:
        idx = [i for i, m in enumerate(meta) if m["lang"] == lang and not (os.environ.get("OLDONLY") and "-v0" in m["id"])]
        pos = np.array([meta[i]["label"] == "propaganda" for i in idx]); s = score[idx]
        ranked = np.sort(s[pos]); thr = ranked[int(np.floor((1 - recall) * len(ranked)))]
        fl = s >= thr
        slices = {}
        for j, i in enumerate(idx):
            if not pos[j]:
                sl = meta[i]["slice"]; n, f = slices.get(sl, (0, 0)); slices[sl] = (n + 1, f + int(fl[j]))
                if show and fl[j]: print(f"  FP {lang} {sl} {s[j]-thr:+.2f} {meta[i]['id']}: {meta[i]['text'][:300]}")
        worst = max(f / n for n, f in slices.values())
        out.append(f"{lang} rec {fl[pos].mean():.3f} fp {sum(f for n,f in slices.values())} worst {worst:.3f} " + " ".join(f"{k[:4]}{f}/{n}" for k,(n,f) in sorted(slices.items())))
    print(label, " | ".join(out))
if __name__ == "__main__":
    report(first, label="first"); report(second, label="second"); report((first + second) / 2, show=True, label="mean")
