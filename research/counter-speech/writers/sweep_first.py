"""First-stage variants (C, embedding scale), combined with the fixed second-stage OOF logits of d2."""
import pickle, sys, time
from pathlib import Path
import numpy as np
sys.path.insert(0, "/work/main/src")
from scipy.sparse import csr_matrix, hstack
from bastion.classify import training as T
from bastion.classify.model import log_odds
from bastion.classify.context_head import propaganda_log_odds
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold
ex = T.examples_from([Path("/work/main/data/text")]); pool = [e for e in ex if e.split != "test"]
meta = pickle.load(open("/tmp/exp3/metad2.pkl", "rb")); assert [m["id"] for m in meta] == [e.id for e in pool]
d = np.load("/tmp/exp3/oofd2.npz"); classes = list(d["classes"]); P = classes.index("propaganda")
second = propaganda_log_odds(d["logits"], P)
cache = Path("/tmp/exp3/design.pkl")
if cache.exists(): lex, emb = pickle.load(open(cache, "rb"))
else:
    m, emb, _ = T.design(pool); lex = m[:, :-emb.shape[1]]; pickle.dump((lex, emb), open(cache, "wb"))
targets = np.array([e.target for e in pool]); groups = np.array([e.template for e in pool])
langs = np.array([e.lang for e in pool]); pos = targets == "propaganda"; cs = targets == "counter_speech"
def rep(s, label):
    out = []
    for lang in ["en", "fr", "ar"]:
        mk = langs == lang; sc = s[mk]; p = pos[mk]
        for rec in (0.92, 0.95):
            thr = np.sort(sc[p])[int(np.floor((1 - rec) * p.sum()))]; fl = sc >= thr
            out.append(f"{lang}{int(rec*100)} cs{fl[cs[mk]].sum():2d} b{fl[~p].sum():2d}")
    print(f"{label:28s}", " ".join(out), flush=True)
rep(log_odds(d["raw"]), "first d2 alone"); rep((log_odds(d["raw"]) + second) / 2, "mean d2 (as trained)")
for C, scale in [(float(a), float(b)) for a, b in (x.split(",") for x in sys.argv[1:])]:
    X = hstack([lex, csr_matrix(emb * scale)]).tocsr(); raw = np.zeros(len(pool)); t0 = time.time()
    for fit, held in GroupKFold(n_splits=5).split(X, targets, groups):
        mdl = LogisticRegression(C=C, max_iter=5000, class_weight="balanced").fit(X[fit], targets[fit])
        raw[held] = mdl.predict_proba(X[held])[:, list(mdl.classes_).index("propaganda")]
    rep(log_odds(raw), f"first C={C} s={scale}"); rep((log_odds(raw) + second) / 2, f"mean C={C} s={scale} {time.time()-t0:.0f}s")
