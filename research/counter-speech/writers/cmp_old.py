import pickle, sys, re, numpy as np
sys.path.insert(0, "/work/main/src")
from bastion.classify.model import log_odds
from bastion.classify.context_head import propaganda_log_odds
def load(tag):
    d = np.load(f"/tmp/exp3/oof{tag}.npz"); meta = pickle.load(open(f"/tmp/exp3/meta{tag}.pkl", "rb"))
    P = list(d["classes"]).index("propaganda")
    f = log_odds(d["raw"]); s = propaganda_log_odds(d["logits"], P)
    return {m["id"]: (a, b, m) for a, b, m in zip(f, s, meta)}
A, B = load(sys.argv[1]), load(sys.argv[2])
ids = [i for i in A if i in B]
for name, fn in [("first", lambda t: t[0]), ("second", lambda t: t[1]), ("mean", lambda t: (t[0] + t[1]) / 2)]:
    for rec in (0.90, 0.95):
        row = []
        for lang in ["en", "fr", "ar"]:
            L = [i for i in ids if A[i][2]["lang"] == lang]
            pos = np.array([A[i][2]["label"] == "propaganda" for i in L]); cs = np.array([A[i][2]["slice"] == "counter_speech" for i in L])
            for tag, D in ((sys.argv[1], A), (sys.argv[2], B)):
                s = np.array([fn(D[i]) for i in L]); thr = np.sort(s[pos])[int(np.floor((1 - rec) * pos.sum()))]; fl = s >= thr
                row.append(f"{lang}:{tag} cs{fl[cs].sum()} b{fl[~pos].sum()}")
        print(f"{name:6s} r{rec}", " ".join(row))
