from proto import *
import sys
from scipy.special import logsumexp
r=np.load(sys.argv[1])
lo=lambda z: z[:,0]-logsumexp(z[:,1:],axis=1)
bo,bc=logit(M["base_oof"]),logit(M["base_chal"])
for w in (0.3,0.4,0.5,0.6,0.7,0.8):
    o=(1-w)*bo+w*lo(r["oof"]); c=(1-w)*bc+w*lo(r["chal"])
    show(str(w), o, c)
