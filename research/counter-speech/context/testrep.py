from proto import *
import sys
from scipy.special import logsumexp
r=np.load(sys.argv[1])
lo=lambda z: z[:,0]-logsumexp(z[:,1:],axis=1)
bo,bt=logit(M["base_oof"]),logit(M["base_test"])
eo,et=(bo+lo(r["oof"]))/2,(bt+lo(r["test"]))/2
for name,(o,t) in {"base":(bo,bt),"ens":(eo,et)}.items():
    th=thresholds(o,pool); report(f"== {name} TEST",t,test,th)
