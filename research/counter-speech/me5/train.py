"""Fine-tune dequantised mE5-small as 7-class classifier: 5-fold GroupKFold OOF on pool + full-pool fit
for challenge. Writes per-setting scores (7-class logits) to $OUT."""
import os, sys, time, math, json, numpy as np, torch, torch.nn.functional as F
HERE = os.path.dirname(os.path.abspath(__file__)); sys.path.insert(0, HERE)
from model import E5Enc
OUT = os.environ.get("OUT", "/tmp/me5/out"); os.makedirs(OUT, exist_ok=True)
PACK = os.environ.get("PACK", os.path.join(HERE, "pack"))
dev = "cuda" if torch.cuda.is_available() else "cpu"
SMOKE = int(os.environ.get("SMOKE", "0"))
D = np.load(f"{PACK}/data.npz"); Wn = np.load(f"{PACK}/weights.npz")
V, H, NL, NH, FF, _, PAD = [int(x) for x in Wn["meta"]]
def deq(n):
    q = Wn[n + ".q"].astype(np.float32); d = Wn[n + ".d"].astype(np.float32)
    return (q.reshape(q.shape[0], -1, 32) * d[:, :, None]).reshape(q.shape)
ST = {"emb.word": deq("emb.word"), "emb.pos": Wn["emb.pos"].reshape(-1, H), "emb.type": Wn["emb.type"].reshape(-1, H),
      "emb.ln.w": Wn["emb.ln.w"], "emb.ln.b": Wn["emb.ln.b"]}
for l in range(NL):
    for k in ("q", "k", "v", "ao", "fi", "fo"): ST[f"l{l}.{k}.w"] = deq(f"l{l}.{k}.w"); ST[f"l{l}.{k}.b"] = Wn[f"l{l}.{k}.b"]
    for k in ("aln", "oln"): ST[f"l{l}.{k}.w"] = Wn[f"l{l}.{k}.w"]; ST[f"l{l}.{k}.b"] = Wn[f"l{l}.{k}.b"]
Ip, Mp, Ic, Mc, y, fold = (torch.from_numpy(D[k]) for k in ("Ip", "Mp", "Ic", "Mc", "y", "fold"))
Ip, Ic = Ip.long(), Ic.long(); y = y.long()
K = 7

def make():
    m = E5Enc(V, H, NL, NH, FF, n_cls=K); m.load_np(ST)
    torch.nn.init.normal_(m.head.weight, std=0.02); torch.nn.init.zeros_(m.head.bias)
    return m.to(dev)

def predict(m, I, M, bs=128):
    m.eval(); out = []
    with torch.no_grad(), torch.autocast(dev, torch.bfloat16, enabled=dev == "cuda"):
        for s in range(0, len(I), bs):
            mm = M[s:s + bs]; T = int(mm.sum(1).max())
            out.append(m(I[s:s + bs, :T].to(dev), mm[:, :T].to(dev)).float().cpu())
    return torch.cat(out).numpy()

def fit(tr, lr, epochs, seed, bs=16, wd=0.01, warm=0.1):
    torch.manual_seed(seed); np.random.seed(seed)
    m = make(); I, M, Y = Ip[tr], Mp[tr], y[tr]
    cnt = torch.bincount(Y, minlength=K).float(); w = (cnt.sum() / (K * cnt.clamp(min=1))).to(dev)
    nd = ["bias", "ln", "eln", "aln", "oln"]
    params = [{"params": [p for n, p in m.named_parameters() if not any(x in n for x in nd)], "weight_decay": wd},
              {"params": [p for n, p in m.named_parameters() if any(x in n for x in nd)], "weight_decay": 0.0}]
    opt = torch.optim.AdamW(params, lr=lr)
    steps = epochs * math.ceil(len(I) / bs); nw = int(warm * steps)
    if SMOKE: steps = min(steps, SMOKE)
    sch = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: (s + 1) / max(1, nw) if s < nw else max(0.0, (steps - s) / max(1, steps - nw)))
    g = torch.Generator().manual_seed(seed); step = 0
    for ep in range(epochs):
        m.train(); perm = torch.randperm(len(I), generator=g)
        for s in range(0, len(I), bs):
            if step >= steps: break
            b = perm[s:s + bs]; mm = M[b]; T = int(mm.sum(1).max())
            with torch.autocast(dev, torch.bfloat16, enabled=dev == "cuda"):
                logit = m(I[b, :T].to(dev), mm[:, :T].to(dev))
            loss = F.cross_entropy(logit.float(), Y[b].to(dev), weight=w)
            opt.zero_grad(set_to_none=True); loss.backward()
            torch.nn.utils.clip_grad_norm_(m.parameters(), 1.0); opt.step(); sch.step(); step += 1
    return m, float(loss)

SETTINGS = json.loads(os.environ.get("SETTINGS", '[[3e-5,4,0],[5e-5,4,0],[3e-5,4,1],[2e-5,5,0]]'))
FOLDS = int(os.environ.get("FOLDS", "5"))
print("device", dev, torch.__version__, torch.cuda.get_device_name() if dev == "cuda" else "", flush=True)
for lr, ep, seed in SETTINGS:
    tag = f"lr{lr:g}_e{ep}_s{seed}"; t0 = time.time()
    oof = np.zeros((len(y), K), np.float32)
    for k in range(FOLDS):
        tr = torch.nonzero(fold != k).squeeze(1); te = torch.nonzero(fold == k).squeeze(1)
        m, ls = fit(tr, lr, ep, seed)
        oof[te.numpy()] = predict(m, Ip[te], Mp[te])
        acc = float((oof[te.numpy()].argmax(1) == y[te].numpy()).mean())
        print(f"{tag} fold {k} loss {ls:.3f} acc {acc:.3f} t {time.time()-t0:.0f}s", flush=True)
    m, ls = fit(torch.arange(len(y)), lr, ep, seed)
    ch = predict(m, Ic, Mc)
    np.savez(f"{OUT}/ft_{tag}.npz", oof=oof, chal=ch)
    print(f"{tag} done {time.time()-t0:.0f}s", flush=True)
    del m; torch.cuda.empty_cache() if dev == "cuda" else None
