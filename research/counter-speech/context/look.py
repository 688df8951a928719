from proto import *
import sys
from scipy.special import logsumexp
r=np.load(sys.argv[1]); lang=sys.argv[2]
lo=lambda z: z[:,0]-logsumexp(z[:,1:],axis=1)
o=(logit(M["base_oof"])+lo(r["oof"]))/2
th=thresholds(o,pool)
for s,e in sorted(zip(o,pool),key=lambda x:-x[0]):
    if e["lang"]==lang and e["label"]=="benign" and s>=th[lang]:
        print(f"{s:.2f} {e['slice']} {e['template']} | {e['text'][:260]}")
