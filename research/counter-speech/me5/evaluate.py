"""Report fine-tuned mE5 scores with the harness protocol, and ensembles with the baseline."""
import sys, glob, numpy as np, io, contextlib
sys.path.insert(0, "/tmp/exp")
from harness import pool, chal, thresholds, report
from scipy.special import logsumexp, logit
def lo(z):  # 7-class logits -> propaganda log-odds (class 0 = propaganda)
    return z[:, 0] - logsumexp(z[:, 1:], axis=1)
bo, bc = np.load("/tmp/exp/base_oof.npy"), np.load("/tmp/exp/base_chal.npy")
eps = 1e-6; blo, blc = logit(np.clip(bo, eps, 1-eps)), logit(np.clip(bc, eps, 1-eps))
def show(name, o, c):
    th = thresholds(o, pool); report(f"== {name} OOF", o, pool, th); report(f"   {name} CHAL", c, chal, th)
show("baseline", bo, bc)
R = {f.split("ft_")[1][:-4]: np.load(f) for f in sorted(glob.glob("/tmp/me5/res/ft_*.npz"))}
for k, r in R.items(): show(f"mE5 {k}", lo(r["oof"]), lo(r["chal"]))
for k, r in R.items(): show(f"ENS(base+mE5 {k}) mean log-odds", (blo + lo(r["oof"])) / 2, (blc + lo(r["chal"])) / 2)
# seed/setting average of all runs
ao = np.mean([lo(r["oof"]) for r in R.values()], 0); ac = np.mean([lo(r["chal"]) for r in R.values()], 0)
show("mE5 avg of all 5 runs", ao, ac)
show("ENS(base + mE5 avg5)", (blo + ao) / 2, (blc + ac) / 2)
