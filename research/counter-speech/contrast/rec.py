import sys
sys.path.insert(0, "/tmp/exp2")
from analyze import report, first, second
for r in [0.97, 0.95, 0.94, 0.93, 0.92, 0.90]:
    report((first + second) / 2, recall=r, label=f"r{r}")
