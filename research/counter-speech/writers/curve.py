import pickle, sys, numpy as np
sys.path.insert(0, "/work/main/src")
from bastion.classify.model import log_odds
from bastion.classify.context_head import propaganda_log_odds
TAG = sys.argv[1]
d = np.load(f"/tmp/exp3/oof{TAG}.npz"); meta = pickle.load(open(f"/tmp/exp3/meta{TAG}.pkl", "rb"))
classes = list(d["classes"]); P = classes.index("propaganda")
s = (log_odds(d["raw"]) + propaganda_log_odds(d["logits"], P)) / 2
for lang in ["en","fr","ar"]:
    idx = np.array([i for i,m in enumerate(meta) if m["lang"]==lang]); pos = np.array([meta[i]["label"]=="propaganda" for i in idx]); sc = s[idx]
    cs = np.array([meta[i]["slice"]=="counter_speech" for i in idx]); ben = ~pos
    row=[]
    for rec in [0.85,0.88,0.90,0.92,0.95]:
        thr = np.sort(sc[pos])[int(np.floor((1-rec)*pos.sum()))]
        fl = sc>=thr
        row.append(f"r{rec:.2f}: cs {fl[cs].sum()}/{cs.sum()} ben {fl[ben].sum()}/{ben.sum()}")
    print(lang, " | ".join(row))
