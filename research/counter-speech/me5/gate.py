"""Second-stage simulation: stage 2 (base+mE5 ensemble, lr5e-5 4-seed avg) re-scores only texts the
baseline flags; final flag = base>=th_base AND ens>=th_ens (each its own 95%-recall OOF threshold)."""
import sys, glob, numpy as np
sys.path.insert(0, "/tmp/exp")
from harness import pool, chal, thresholds, PROPAGANDA
from scipy.special import logsumexp, logit
lo = lambda z: z[:, 0] - logsumexp(z[:, 1:], axis=1)
bo, bc = np.load("/tmp/exp/base_oof.npy"), np.load("/tmp/exp/base_chal.npy")
blo, blc = logit(np.clip(bo, 1e-6, 1-1e-6)), logit(np.clip(bc, 1e-6, 1-1e-6))
R = [np.load(f) for f in sorted(glob.glob("/tmp/me5/res/ft_lr5e-05_e4_s*.npz"))]
eo = (blo + np.mean([lo(r["oof"]) for r in R], 0)) / 2; ec = (blc + np.mean([lo(r["chal"]) for r in R], 0)) / 2
tb, te = thresholds(bo, pool), thresholds(eo, pool)
for name, b, e, exs in (("OOF", bo, eo, pool), ("CHAL", bc, ec, chal)):
    for L in ("en", "fr", "ar"):
        idx = [i for i, x in enumerate(exs) if x.lang == L]
        f1 = np.array([b[i] >= tb[L] for i in idx]); f2 = np.array([f1[j] and e[i] >= te[L] for j, i in enumerate(idx)])
        P = np.array([exs[i].label == PROPAGANDA for i in idx]); CS = np.array([exs[i].slice == "counter_speech" and not P[j] for j, i in enumerate(idx)])
        print(f"{name} {L}: stage2 load {f1.mean():.0%} of texts | prop {f2[P].sum()}/{P.sum()} (base {f1[P].sum()}) | cs {f2[CS].sum()}/{CS.sum()} (base {f1[CS].sum()}) | benignFP {f2[~P].sum()}/{(~P).sum()} (base {f1[~P].sum()})")
