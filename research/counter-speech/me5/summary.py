"""Per-seed counts for counter-speech / benign FP / prop recall, mean and range per setting."""
import sys, glob, re, numpy as np
sys.path.insert(0, "/tmp/exp")
from harness import pool, chal, thresholds, PROPAGANDA
from scipy.special import logsumexp, logit
lo = lambda z: z[:, 0] - logsumexp(z[:, 1:], axis=1)
bo, bc = np.load("/tmp/exp/base_oof.npy"), np.load("/tmp/exp/base_chal.npy")
blo, blc = logit(np.clip(bo, 1e-6, 1-1e-6)), logit(np.clip(bc, 1e-6, 1-1e-6))
def counts(o, c):
    th = thresholds(o, pool); r = {}
    for name, raw, exs in (("oof", o, pool), ("chal", c, chal)):
        for L in ("en", "fr", "ar"):
            sel = lambda f: [s >= th[L] for s, e in zip(raw, exs) if e.lang == L and f(e)]
            r[(name, L, "cs")] = sum(sel(lambda e: e.slice == "counter_speech" and e.label != PROPAGANDA))
            r[(name, L, "ben")] = sum(sel(lambda e: e.label != PROPAGANDA))
            r[(name, L, "prop")] = sum(sel(lambda e: e.label == PROPAGANDA))
    return r
R = {f.split("ft_")[1][:-4]: np.load(f) for f in sorted(glob.glob("/tmp/me5/res/ft_*.npz"))}
cols = [(n, L, k) for n in ("oof", "chal") for k in ("cs", "ben", "prop") for L in ("en", "fr", "ar")]
hdr = "setting".ljust(30) + " | " + " ".join(f"{n[0]}{k[:2]}-{L}".rjust(7) for n, L, k in cols)
print(hdr)
def row(name, r): print(name.ljust(30) + " | " + " ".join(str(r[c]).rjust(7) for c in cols))
row("baseline", counts(bo, bc))
groups = {}
for k, z in R.items():
    r = counts(lo(z["oof"]), lo(z["chal"])); row("mE5 " + k, r); groups.setdefault(re.sub("_s\\d", "", k), []).append(r)
    re_ = counts((blo + lo(z["oof"])) / 2, (blc + lo(z["chal"])) / 2); groups.setdefault("ENS " + re.sub("_s\\d", "", k), []).append(re_)
for g, rs in groups.items():
    print(f"{('mean ' + g + f' (n={len(rs)})').ljust(30)} | " + " ".join(f"{np.mean([r[c] for r in rs]):7.1f}" for c in cols))
    print(f"{('  range').ljust(30)} | " + " ".join(f"{min(r[c] for r in rs):>3d}-{max(r[c] for r in rs):<3d}" for c in cols))
for k, z in R.items():
    row("ENS base+mE5 " + k, counts((blo + lo(z["oof"])) / 2, (blc + lo(z["chal"])) / 2))
ks = [k for k in R if k.startswith("lr5e-05")]
ao = np.mean([lo(R[k]["oof"]) for k in ks], 0); ac = np.mean([lo(R[k]["chal"]) for k in ks], 0)
row(f"mE5 lr5e-5 {len(ks)}-seed avg", counts(ao, ac)); row(f"ENS base+lr5e-5 {len(ks)}-seed avg", counts((blo + ao) / 2, (blc + ac) / 2))
