"""Out of fold: two-sentence windows scored by fold models that never saw the text's template.
Benign pool texts of 3+ sentences (new flags), diluted calls (calls from the pool in neutral filler)."""
import pickle, random, sys, time
from pathlib import Path
import numpy as np
sys.path.insert(0, "/work/main/src")
import torch; torch.set_num_threads(2)
from bastion.classify import training as T
from bastion.classify.context_head import fit_heads, head_logits, propaganda_log_odds
from bastion.classify.dataset import PROPAGANDA
from bastion.classify.encoder import LAYERS, encoder
from bastion.classify.long_texts import SENTENCE_END
from bastion.classify.model import log_odds
from bastion.text.normalize import clean_text
from sklearn.model_selection import GroupKFold

t0 = time.time()
pool = [e for e in T.examples_from([Path("/work/main/data/text")]) if e.split != "test"]
matrix, _, _ = T.design(pool)
targets = np.array([e.target for e in pool]); groups = np.array([e.template for e in pool])
final = T._classifier().fit(matrix, targets)
classes = [str(c) for c in final.classes_]; P = classes.index(PROPAGANDA)
reader = encoder(LAYERS)
states = reader.states(T._pieces_read(pool, final))
labels = np.array([classes.index(t) for t in targets])
print("prep", time.time() - t0, flush=True)

def windows(text, k=2):
    s = [x for x in SENTENCE_END.split(text) if x.strip()]
    return [" ".join(s[j:j + k]) for j in range(len(s) - k + 1)] if len(s) >= 3 else []

rng = random.Random(1)
filler = {l: [x.strip() for x in open(f"/work/main/research/counter-speech/contrast/filler-{l}.txt") if x.strip()] for l in ("en", "fr", "ar")}
# window owners: ("benign", pool index) and ("diluted", pool index of the call)
wtexts, wowner = [], []
for i, e in enumerate(pool):
    if e.label != PROPAGANDA:
        for w in windows(e.text): wtexts.append(w); wowner.append(("benign", i))
diluted = {}
for i, e in enumerate(pool):
    if e.label == PROPAGANDA and len(e.text) < 250:
        post = " ".join(rng.sample(filler[e.lang], 3) + [e.text] + rng.sample(filler[e.lang], 3))
        diluted[i] = post
        for w in windows(post): wtexts.append(w); wowner.append(("diluted", i))
dil_idx = sorted(diluted)
wmatrix, _, _ = T._matrix(wtexts)
wstates = reader.states([clean_text(w) for w in wtexts])
dmatrix, _, _ = T._matrix([diluted[i] for i in dil_idx])
dstates = reader.states([clean_text(T.pieces(clean_text(diluted[i]))[0]) if False else clean_text(diluted[i]) for i in dil_idx])
print("windows", len(wtexts), "diluted posts", len(dil_idx), time.time() - t0, flush=True)

whole = np.zeros(len(pool)); wscore = np.zeros(len(wtexts)); dscore = np.zeros(len(dil_idx))
fold_of = np.zeros(len(pool), dtype=int)
for f, (fit, held) in enumerate(GroupKFold(n_splits=5).split(labels, labels, groups)):
    fold_of[held] = f
    lr = T._classifier().fit(matrix[fit], targets[fit])
    heads = fit_heads([states[i] for i in fit], labels[fit].tolist(), len(classes))
    col = list(lr.classes_).index(PROPAGANDA)
    def comb(m, st):
        return (log_odds(lr.predict_proba(m)[:, col]) + propaganda_log_odds(head_logits(heads, st), P)) / 2
    whole[held] = comb(matrix[held], [states[i] for i in held])
    hs = set(held.tolist())
    wi = [j for j, (_, i) in enumerate(wowner) if i in hs]
    if wi: wscore[wi] = comb(wmatrix[wi], [wstates[j] for j in wi])
    di = [k for k, i in enumerate(dil_idx) if i in hs]
    if di: dscore[di] = comb(dmatrix[di], [dstates[k] for k in di])
    print("fold", f, time.time() - t0, flush=True)
np.savez("/tmp/exp2/win_oof.npz", whole=whole, wscore=wscore, dscore=dscore, fold_of=fold_of)
pickle.dump(dict(wowner=wowner, dil_idx=dil_idx, meta=[(e.id, e.lang, e.label, e.slice) for e in pool], wtexts=wtexts), open("/tmp/exp2/win_oof.pkl", "wb"))
