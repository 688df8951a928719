from proto import *
from scipy.special import logsumexp
lo=lambda z: z[:,0]-logsumexp(z[:,1:],axis=1)
r6=np.load("head_attn_e30L6.npz"); r8=np.load("head_attn_e30L8.npz"); r12=np.load("head_attn_e30.npz")
bo,bc=logit(M["base_oof"]),logit(M["base_chal"])
show("L6",(bo+lo(r6["oof"]))/2,(bc+lo(r6["chal"]))/2)
show("L8",(bo+lo(r8["oof"]))/2,(bc+lo(r8["chal"]))/2)
show("L6+L8",(bo+(lo(r6["oof"])+lo(r8["oof"]))/2)/2,(bc+(lo(r6["chal"])+lo(r8["chal"]))/2)/2)
show("L6+L8+12",(bo+(lo(r6["oof"])+lo(r8["oof"])+lo(r12["oof"]))/3)/2,(bc+(lo(r6["chal"])+lo(r8["chal"])+lo(r12["chal"]))/3)/2)
show("3way",(bo+lo(r6["oof"])+lo(r8["oof"]))/3,(bc+lo(r6["chal"])+lo(r8["chal"]))/3)
