import sys, time, numpy as np, torch, torch.nn.functional as F
from harness import *
from usetorch import UseTop, token_ids, dequant, batchify

torch.manual_seed(0)
np.random.seed(0)
EPOCHS = int(os.environ.get("EPOCHS", 8))
LR = float(os.environ.get("LR", 3e-4))
L2 = float(os.environ.get("L2", 1e-3))
BS = 32
DQ = {}


def dq(exs):
    miss = [e.text for e in exs if e.text not in DQ]
    for t, ids in zip(miss, token_ids(miss)):
        DQ[t] = dequant(ids)
    return [DQ[e.text] for e in exs]


def train_net(exs, classes):
    y = np.array([classes.index(t) for t in targets(exs)])
    counts = np.bincount(y, minlength=len(classes))
    w = torch.tensor(len(y) / (len(classes) * np.maximum(counts, 1)), dtype=torch.float32)
    X = dq(exs)
    net = UseTop(len(classes))
    enc = [p for k, p in net.named_parameters() if not k.startswith("head")]
    opt = torch.optim.AdamW(
        [
            {"params": enc, "lr": LR, "weight_decay": 0},
            {"params": net.head.parameters(), "lr": 3e-3, "weight_decay": 1e-4},
        ]
    )
    order = np.argsort([len(x) for x in X])
    for ep in range(EPOCHS):
        net.train()
        batches = [order[i : i + BS] for i in range(0, len(order), BS)]
        np.random.shuffle(batches)
        for b in batches:
            xb, mb = batchify([X[i] for i in b])
            loss = F.cross_entropy(net(xb, mb), torch.tensor(y[b]), weight=w) + L2 * net.l2sp()
            opt.zero_grad()
            loss.backward()
            opt.step()
    return net.eval()


def predict(net, exs, classes):
    X = dq(exs)
    out = np.zeros(len(exs))
    with torch.no_grad():
        for i in range(0, len(X), 64):
            xb, mb = batchify(X[i : i + 64])
            out[i : i + 64] = torch.softmax(net(xb, mb), -1)[:, classes.index(PROPAGANDA)].numpy()
    return out


classes = sorted(set(targets(pool)))


def fp_net(idx_tr, idx_te, exs_tr_all, exs_te):
    pass


t = time.time()
y = targets(pool)
g = np.array([e.template for e in pool])
raw = np.zeros(len(pool))
for a, b in GroupKFold(n_splits=5).split(np.zeros(len(pool)), y, g):
    net = train_net([pool[i] for i in a], classes)
    raw[b] = predict(net, [pool[i] for i in b], classes)
    print("fold", f"{time.time() - t:.0f}s", flush=True)
th = thresholds(raw, pool)
report(f"== FT e{EPOCHS} lr{LR} l2{L2} OOF th {th}", raw, pool, th)
net = train_net(pool, classes)
rc = predict(net, chal, classes)
report("   FT CHALLENGE", rc, chal, th)
np.save(f"/tmp/exp/ft_oof_e{EPOCHS}_{LR}_{L2}.npy", raw)
np.save(f"/tmp/exp/ft_chal_e{EPOCHS}_{LR}_{L2}.npy", rc)
# ensemble with base
if os.path.exists("/tmp/exp/base_oof.npy"):
    b_oof = np.load("/tmp/exp/base_oof.npy")
    b_ch = np.load("/tmp/exp/base_chal.npy")
    lg = lambda p: np.log(np.clip(p, 1e-6, 1 - 1e-6) / (1 - np.clip(p, 1e-6, 1 - 1e-6)))
    for wgt in (0.5,):
        e_oof = wgt * lg(raw) + (1 - wgt) * lg(b_oof)
        e_ch = wgt * lg(rc) + (1 - wgt) * lg(b_ch)
        th2 = thresholds(e_oof, pool)
        report(f"== ENS w{wgt} OOF", e_oof, pool, th2)
        report("   ENS CHALLENGE", e_ch, chal, th2)
print(f"{time.time() - t:.0f}s")
