"""Cache the pool's design matrix, targets and second-stage token states (for weight experiments)."""
import pickle, sys, time
from pathlib import Path
import numpy as np, scipy.sparse as sp
sys.path.insert(0, "/work/main/src")
from bastion.classify import training as T
from bastion.classify.encoder import LAYERS, encoder
t0 = time.time()
examples = T.examples_from([Path("/work/main/data/text")])
pool = [e for e in examples if e.split != "test"]
print(len(pool), "pool", flush=True)
matrix, emb, _ = T.design(pool)
targets = np.array([e.target for e in pool]); groups = np.array([e.template for e in pool])
final = T._classifier().fit(matrix, targets)
read = T._pieces_read(pool, final)
print("first", time.time() - t0, flush=True)
states = encoder(LAYERS).states(read)
print("states", time.time() - t0, flush=True)
sp.save_npz("/tmp/exp4/matrix.npz", matrix)
meta = [dict(id=e.id, lang=e.lang, label=e.label, slice=e.slice, target=e.target, template=e.template, text=e.text) for e in pool]
pickle.dump(dict(meta=meta, targets=targets, groups=groups, states=states), open("/tmp/exp4/cache.pkl", "wb"))
print("done", time.time() - t0)
