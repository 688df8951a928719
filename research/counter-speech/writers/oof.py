"""OOF predictions of both stages on the pool (train+dev) of the given files. usage: oof.py TAG FILE..."""
import pickle, sys, time
from pathlib import Path
import numpy as np
sys.path.insert(0, "/work/main/src")
from bastion.classify import training as T
from bastion.classify.context_head import fit_heads, head_logits
from bastion.classify.encoder import LAYERS, encoder
from sklearn.model_selection import GroupKFold
import torch; torch.set_num_threads(2)
t0 = time.time(); TAG = sys.argv[1]
examples = T.examples_from([Path(p) for p in sys.argv[2:]])
pool = [e for e in examples if e.split != "test"]
print(len(pool), "pool", flush=True)
matrix, emb, _ = T.design(pool)
targets = np.array([e.target for e in pool]); groups = np.array([e.template for e in pool])
raw = T.out_of_fold(matrix, targets, groups)
final = T._classifier().fit(matrix, targets)
classes = [str(c) for c in final.classes_]
print("first stage", time.time() - t0, flush=True)
read = T._pieces_read(pool, final)
states = encoder(LAYERS).states(read)
print("states", time.time() - t0, flush=True)
labels = np.array([classes.index(e.target) for e in pool])
logits = np.zeros((len(pool), len(classes)), dtype=np.float32)
for fit, held in GroupKFold(n_splits=5).split(labels, labels, groups):
    heads = fit_heads([states[i] for i in fit], labels[fit].tolist(), len(classes))
    logits[held] = head_logits(heads, [states[i] for i in held])
print("heads", time.time() - t0, flush=True)
meta = [dict(id=e.id, lang=e.lang, label=e.label, slice=e.slice, template=e.template, text=e.text) for e in pool]
np.savez(f"/tmp/exp3/oof{TAG}.npz", raw=raw, logits=logits, labels=labels, classes=np.array(classes))
pickle.dump(meta, open(f"/tmp/exp3/meta{TAG}.pkl", "wb"))
