from proto import *
import sys
from scipy.special import logsumexp
r=np.load(sys.argv[1])
lo=lambda z: z[:,0]-logsumexp(z[:,1:],axis=1)
bo,bc=logit(M["base_oof"]),logit(M["base_chal"])
for w in (0.3,0.4,0.5,0.6,0.7,0.8):
    o=(1-w)*bo+w*lo(r["oof"]); c=(1-w)*bc+w*lo(r["chal"])
    th=thresholds(o,pool); co=counts(o,pool,th); cc=counts(c,chal,th)
    line=[]
    for lang in ("en","fr","ar"):
        b=sum(co[(lang,s)][0] for s in SL); cs=co[(lang,"counter_speech")][0]
        cb=sum(cc[(lang,s)][0] for s in SL); ccs=cc[(lang,"counter_speech")][0]; cp=cc[(lang,"PROP")][0]
        line.append(f"{lang} oof b{b:3d} cs{cs:3d} | chal b{cb:3d} cs{ccs:3d} p{cp:3d}")
    print(w, " || ".join(line))
