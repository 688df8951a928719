import sys
import numpy as np
sys.path.insert(0, "/tmp/exp2")
from analyze import report, first, d, P
from bastion.classify.context_head import propaganda_log_odds
for tag in sys.argv[1:]:
    lg = np.load(f"/tmp/exp2/logits-{tag}.npy")
    s = propaganda_log_odds(lg, P)
    report(s, label=f"{tag} second"); report((first + s) / 2, label=f"{tag} mean")
