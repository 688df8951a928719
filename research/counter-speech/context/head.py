import os, sys, time, pickle, math, numpy as np, torch, torch.nn as nn, torch.nn.functional as F
from proto import *
torch.set_num_threads(2)
ST = pickle.load(open(os.environ.get("STATES","/tmp/me5/states12.pkl"),"rb"))
ARCH = sys.argv[1] if len(sys.argv)>1 else "attn"
EPOCHS = int(sys.argv[2]) if len(sys.argv)>2 else 20
SEEDS = int(sys.argv[3]) if len(sys.argv)>3 else 2
def pad(exs):
    xs = [torch.from_numpy(ST[e["text"]].astype(np.float32)) for e in exs]
    T = max(len(x) for x in xs); X = torch.zeros(len(xs), T, 384); Mk = torch.zeros(len(xs), T, dtype=torch.bool)
    for i, x in enumerate(xs): X[i,:len(x)] = x; Mk[i,:len(x)] = True
    return X, Mk
class Attn(nn.Module):
    def __init__(s, d=128, K=7, heads=4):
        super().__init__()
        s.inp = nn.Sequential(nn.LayerNorm(384), nn.Dropout(0.1), nn.Linear(384, d), nn.GELU())
        s.att = nn.Linear(d, heads); s.out = nn.Linear(d*heads + 384, K); s.drop = nn.Dropout(0.2)
    def forward(s, X, Mk):
        h = s.inp(X); a = s.att(h).masked_fill(~Mk[...,None], -1e9).softmax(1)  # B,T,H
        pooled = torch.einsum("bth,btd->bhd", a, h).flatten(1)
        mean = (X*Mk[...,None]).sum(1)/Mk.sum(1,keepdim=True)
        return s.out(s.drop(torch.cat([pooled, mean],1)))
class Tr(nn.Module):
    def __init__(s, d=128, K=7):
        super().__init__()
        s.inp = nn.Sequential(nn.LayerNorm(384), nn.Dropout(0.1), nn.Linear(384, d))
        s.pos = nn.Embedding(256, d)
        s.enc = nn.TransformerEncoderLayer(d, 4, 2*d, dropout=0.1, batch_first=True, norm_first=True)
        s.att = nn.Linear(d, 1); s.out = nn.Linear(2*d, K); s.drop = nn.Dropout(0.2)
    def forward(s, X, Mk):
        T = X.shape[1]; h = s.inp(X) + s.pos(torch.arange(T))[None]
        h = s.enc(h, src_key_padding_mask=~Mk)
        a = s.att(h).masked_fill(~Mk[...,None], -1e9).softmax(1)
        mx = h.masked_fill(~Mk[...,None], -1e9).max(1).values
        return s.out(s.drop(torch.cat([(a*h).sum(1), mx],1)))
class Mean(nn.Module):
    def __init__(s, K=7):
        super().__init__(); s.out = nn.Sequential(nn.Dropout(0.1), nn.Linear(384, K))
    def forward(s, X, Mk): return s.out((X*Mk[...,None]).sum(1)/Mk.sum(1,keepdim=True))
ARCHS = dict(attn=Attn, tr=Tr, mean=Mean)
def fit(exs, seed, lr=2e-3, bs=32, wd=0.01):
    torch.manual_seed(seed); np.random.seed(seed)
    y = torch.tensor([CLASSES.index(e["target"]) for e in exs])
    cnt = torch.bincount(y, minlength=7).float(); w = cnt.sum()/(7*cnt.clamp(min=1))
    m = ARCHS[ARCH](); opt = torch.optim.AdamW(m.parameters(), lr=lr, weight_decay=wd)
    order = sorted(range(len(exs)), key=lambda i: len(ST[exs[i]["text"]]))
    batches = [order[i:i+bs] for i in range(0, len(order), bs)]
    cache = [(pad([exs[i] for i in b]), y[b]) for b in batches]
    steps = EPOCHS*len(cache); sch = torch.optim.lr_scheduler.OneCycleLR(opt, lr, total_steps=steps)
    for ep in range(EPOCHS):
        m.train()
        for j in np.random.permutation(len(cache)):
            (X, Mk), Y = cache[j]
            loss = F.cross_entropy(m(X, Mk), Y, weight=w, label_smoothing=0.05)
            opt.zero_grad(); loss.backward(); opt.step(); sch.step()
    return m
def predict(m, exs, bs=64):
    m.eval(); out = np.zeros((len(exs),7), np.float32)
    order = sorted(range(len(exs)), key=lambda i: len(ST[exs[i]["text"]]))
    with torch.no_grad():
        for i in range(0, len(order), bs):
            b = order[i:i+bs]; X, Mk = pad([exs[k] for k in b]); out[b] = m(X, Mk).numpy()
    return out
def lo(z): from scipy.special import logsumexp; return z[:,0]-logsumexp(z[:,1:],axis=1)
import os
EXTRA=[e for e in chal if os.environ.get("EXTRA")]
t0=time.time()
oof = np.zeros((len(pool),7)); ch = np.zeros((len(chal),7)); te = np.zeros((len(test),7))
for seed in range(SEEDS):
    for k in range(5):
        tr=[e for e,f in zip(pool,fold) if f!=k]+EXTRA; idx=np.where(fold==k)[0]
        m=fit(tr, seed); oof[idx]+=predict(m,[pool[i] for i in idx])/SEEDS
    m=fit(pool, seed); ch+=predict(m,chal)/SEEDS; te+=predict(m,test)/SEEDS
    print("seed",seed,f"{time.time()-t0:.0f}s",flush=True)
np.savez(f"/tmp/exp/head_{ARCH}_e{EPOCHS}{os.environ.get('TAG','')}.npz", oof=oof, chal=ch, test=te)
bo, bc = logit(M["base_oof"]), logit(M["base_chal"])
for name,(o,c) in {"base":(bo,bc), ARCH:(lo(oof),lo(ch)), "ens":((bo+lo(oof))/2,(bc+lo(ch))/2)}.items():
    th=thresholds(o,pool); report(f"== {name} OOF",o,pool,th); report(f"   {name} CHAL",c,chal,th)
