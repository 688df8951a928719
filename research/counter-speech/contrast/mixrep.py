import os, pickle, sys
import numpy as np
sys.path.insert(0, "/work/main/src")
from bastion.classify.model import log_odds
from bastion.classify.context_head import propaganda_log_odds
TAG = sys.argv[1]
d = np.load(f"/tmp/exp2/oof{TAG}.npz"); meta = pickle.load(open(f"/tmp/exp2/meta{TAG}.pkl", "rb"))
P = list(d["classes"]).index("propaganda")
first = log_odds(d["raw"]); second = propaganda_log_odds(d["logits"], P)
for name, score in [("first", first), ("second", second), ("mean", (first + second) / 2)]:
    out = []
    for lang in ("en", "fr", "ar"):
        orig = [i for i, m in enumerate(meta) if m["lang"] == lang and not m["id"].endswith("-mix")]
        mix = [i for i, m in enumerate(meta) if m["lang"] == lang and m["id"].endswith("-mix")]
        pos = lambda ix: np.array([meta[i]["label"] == "propaganda" for i in ix])
        s = score[orig]; p = pos(orig)
        thr = np.sort(s[p])[int(np.floor(0.05 * p.sum()))]
        fl = s >= thr
        sl = {}
        for j, i in enumerate(orig):
            if not p[j]:
                k = meta[i]["slice"]; n, f = sl.get(k, (0, 0)); sl[k] = (n + 1, f + int(fl[j]))
        sm = score[mix] >= thr; pm = pos(mix)
        out.append(f"{lang} fp {sum(f for n, f in sl.values())} cs {sl['counter_speech'][1]}/{sl['counter_speech'][0]} ever {sl['everyday'][1]} | mixed: found {sm[pm].sum()}/{pm.sum()} benign {sm[~pm].sum()}/{(~pm).sum()}")
    print(name, " || ".join(out))
