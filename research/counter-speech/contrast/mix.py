"""Experiment: train both stages with mixed posts (each short pool text between neutral filler
posts, same label, same template, so folds stay grouped). OOF on the original texts and on the
mixed ones."""
import pickle, random, sys, time
from dataclasses import replace
from pathlib import Path
import numpy as np
sys.path.insert(0, "/work/main/src")
import torch; torch.set_num_threads(2)
from bastion.classify import training as T
from bastion.classify.context_head import fit_heads, head_logits
from bastion.classify.encoder import LAYERS, encoder
from sklearn.model_selection import GroupKFold
t0 = time.time()
pool = [e for e in T.examples_from([Path("/work/main/data/text")]) if e.split != "test"]
old_states = pickle.load(open("/tmp/exp2/states.pkl", "rb")); assert len(old_states) == len(pool)
filler = {l: [x.strip() for x in open(f"/tmp/exp2/filler-{l}.txt") if x.strip()] for l in ("en", "fr", "ar")}
rng = random.Random(7)
mixed = []
for e in pool:
    if len(e.text) >= 400 or rng.random() >= float(sys.argv[2] if len(sys.argv) > 2 else 0.6):
        continue
    f = filler[e.lang]
    parts = rng.sample(f, rng.randint(1, 3)) + [e.text] + rng.sample(f, rng.randint(1, 3))
    if rng.random() < 0.3:  # the call at the very start or end too
        parts = parts[1:] if rng.random() < 0.5 else parts[:-1]
    mixed.append(replace(e, id=e.id + "-mix", text=" ".join(parts)))
print("mixed", len(mixed), "of", len(pool), flush=True)
allx = pool + mixed
matrix, emb, _ = T.design(allx)
targets = np.array([e.target for e in allx]); groups = np.array([e.template for e in allx])
raw = T.out_of_fold(matrix, targets, groups)
classes = sorted(set(targets.tolist()))
print("first", time.time() - t0, flush=True)
states = old_states + encoder(LAYERS).states([e.text for e in mixed])
print("states", time.time() - t0, flush=True)
labels = np.array([classes.index(e.target) for e in allx])
logits = np.zeros((len(allx), len(classes)), dtype=np.float32)
for fit, held in GroupKFold(n_splits=5).split(labels, labels, groups):
    heads = fit_heads([states[i] for i in fit], labels[fit].tolist(), len(classes))
    logits[held] = head_logits(heads, [states[i] for i in held])
    print("fold", time.time() - t0, flush=True)
TAG = sys.argv[1]
meta = [dict(id=e.id, lang=e.lang, label=e.label, slice=e.slice, template=e.template, text=e.text) for e in allx]
np.savez(f"/tmp/exp2/oof{TAG}.npz", raw=raw, logits=logits, labels=labels, classes=np.array(classes), emb=emb)
pickle.dump(meta, open(f"/tmp/exp2/meta{TAG}.pkl", "wb"))
