import pickle, sys, time
import numpy as np
sys.path.insert(0, "/work/main/src")
import torch; torch.set_num_threads(2)
import bastion.classify._head_torch as H
from bastion.classify.context_head import head_logits, as_arrays
from sklearn.model_selection import GroupKFold
import torch.nn.functional as F
boost = {k: float(v) for k, v in (a.split("=") for a in sys.argv[2:])}
tag = sys.argv[1]
d = np.load("/tmp/exp2/oof.npz"); meta = pickle.load(open("/tmp/exp2/meta.pkl", "rb"))
classes = list(d["classes"]); labels = d["labels"]
states = pickle.load(open("/tmp/exp2/states.pkl", "rb"))
orig = F.cross_entropy
mult = torch.ones(len(classes))
for k, v in boost.items(): mult[classes.index(k)] = v
def ce(logits, target, weight=None, **kw):
    return orig(logits, target, weight=weight * mult if weight is not None else mult, **kw)
H.F.cross_entropy = ce
groups = np.array([m["template"] for m in meta])
logits = np.zeros((len(meta), len(classes)), dtype=np.float32)
t0 = time.time()
for fit, held in GroupKFold(n_splits=5).split(labels, labels, groups):
    hs = [H.train_one([states[i] for i in fit], labels[fit].tolist(), len(classes), seed) for seed in range(int(__import__("os").environ.get("SEEDS", "2")))]
    heads = as_arrays({k: np.stack([h[k] for h in hs]) for k in hs[0]})
    logits[held] = head_logits(heads, [states[i] for i in held])
    print(time.time() - t0, flush=True)
np.save(f"/tmp/exp2/logits-{tag}.npy", logits)
