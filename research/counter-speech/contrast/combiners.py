"""Other ways to combine the two stages' out-of-fold scores (oof.py's cache): min, mean - |diff|, soft-min."""
import sys; sys.path.insert(0, "/tmp/exp2")
import numpy as np
from analyze import report, first, second, d, meta, P
from scipy.stats import rankdata
report(first, label="first"); report(second, label="second")
report((first + second) / 2, label="mean")
# z-normalise per language by propaganda distribution so min is fair
def z(s):
    out = s.copy()
    for lang in ["en","fr","ar"]:
        idx = np.array([m["lang"] == lang for m in meta]); pos = idx & np.array([m["label"]=="propaganda" for m in meta])
        out[idx] = (s[idx] - np.median(s[pos])) / (s[pos].std() + 1e-9)
    return out
zf, zs = z(first), z(second)
report(np.minimum(zf, zs), label="min z")
report((zf + zs) / 2, label="mean z")
for a in [0.5, 1, 2]:
    report((zf + zs) / 2 - a * np.abs(zf - zs), label=f"mean z - {a}|diff|")
# soft-min
for t in [0.5, 1.0]:
    report(-t*np.logaddexp(-zf/t, -zs/t), label=f"softmin t{t}")
