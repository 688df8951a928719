import pickle, sys
import numpy as np
sys.path.insert(0, "/tmp/exp2"); sys.path.insert(0, "/work/main/src")
from analyze import report, first, second, d, meta, P
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold
for w in [0.3, 0.4, 0.5, 0.6, 0.7, 1.0]:
    report((1-w)*first + w*second, label=f"w{w}")
# stack
raw = d["raw"]
groups = np.array([m["template"] for m in meta]); y = d["labels"] == P
def sm(z): z = z - z.max(1, keepdims=True); e = np.exp(z); return e / e.sum(1, keepdims=True)
X = np.hstack([np.log(np.clip(sm(d["logits"]), 1e-6, 1)), first[:, None], second[:, None]])
for C in [0.01, 0.1, 1.0]:
    s = np.zeros(len(y))
    for fit, held in GroupKFold(5).split(X, y, groups):
        m = LogisticRegression(C=C, max_iter=2000).fit(X[fit], y[fit]); s[held] = m.decision_function(X[held])
    report(s, label=f"stack C{C}")
