"""OOF on the pool minus some items (reusing states3)."""
import pickle, sys, time
from pathlib import Path
import numpy as np
sys.path.insert(0, "/work/main/src")
import torch; torch.set_num_threads(2)
from bastion.classify import training as T
from bastion.classify.context_head import fit_heads, head_logits
from sklearn.model_selection import GroupKFold
TAG = sys.argv[1]
examples = T.examples_from([Path("/work/main/data/text")])
pool = [e for e in examples if e.split != "test"]
states_all = pickle.load(open("/tmp/exp2/states3.pkl", "rb"))
assert len(states_all) == len(pool)
keep = [i for i, e in enumerate(pool) if not ("-v0" in e.id and e.label == "propaganda")]
pool = [pool[i] for i in keep]; states = [states_all[i] for i in keep]
t0 = time.time()
matrix, emb, _ = T.design(pool)
targets = np.array([e.target for e in pool]); groups = np.array([e.template for e in pool])
raw = T.out_of_fold(matrix, targets, groups)
classes = sorted(set(targets.tolist()))
print("first", time.time() - t0, flush=True)
labels = np.array([classes.index(e.target) for e in pool])
logits = np.zeros((len(pool), len(classes)), dtype=np.float32)
for fit, held in GroupKFold(n_splits=5).split(labels, labels, groups):
    heads = fit_heads([states[i] for i in fit], labels[fit].tolist(), len(classes))
    logits[held] = head_logits(heads, [states[i] for i in held])
    print("fold", time.time() - t0, flush=True)
meta = [dict(id=e.id, lang=e.lang, label=e.label, slice=e.slice, template=e.template, text=e.text) for e in pool]
np.savez(f"/tmp/exp2/oof{TAG}.npz", raw=raw, logits=logits, labels=labels, classes=np.array(classes), emb=emb)
pickle.dump(meta, open(f"/tmp/exp2/meta{TAG}.pkl", "wb"))
