"""Residual second stage: the head learns on top of the first stage's propaganda log-odds."""
import pickle, sys, time, os
import numpy as np
sys.path.insert(0, "/work/main/src"); sys.path.insert(0, "/tmp/exp2")
import torch; torch.set_num_threads(int(os.environ.get("THREADS", "1")))
import torch.nn.functional as F
import bastion.classify._head_torch as H
from bastion.classify.context_head import head_logits, as_arrays, EPOCHS, LEARNING_RATE, BATCH
from bastion.classify.model import log_odds
from sklearn.model_selection import GroupKFold
from analyze import report, first, second, d, meta, P

SCALE = float(os.environ.get("SCALE", "1.0"))
classes = list(d["classes"]); labels = d["labels"]
states = pickle.load(open("/tmp/exp2/states.pkl", "rb"))
offset_all = log_odds(d["raw"]).astype(np.float32) * SCALE

def train_offset(st, targets, offs, seed):
    torch.manual_seed(seed); rng = np.random.default_rng(seed)
    y = torch.tensor(targets); off = torch.tensor(offs)
    counts = torch.bincount(y, minlength=len(classes)).float(); weight = counts.sum() / (len(classes) * counts.clamp(min=1))
    model = H._Head(len(classes))
    opt = torch.optim.AdamW(model.parameters(), lr=LEARNING_RATE, weight_decay=0.01)
    order = sorted(range(len(st)), key=lambda i: len(st[i])); batches = [order[i:i+BATCH] for i in range(0, len(order), BATCH)]
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, LEARNING_RATE, total_steps=EPOCHS * len(batches))
    model.train()
    for _ in range(EPOCHS):
        for j in rng.permutation(len(batches)):
            b = batches[j]; x, mask = H._padded([st[i] for i in b])
            logits = model(x, mask)
            add = torch.zeros_like(logits); add[:, P] = off[b]
            loss = F.cross_entropy(logits + add, y[b], weight=weight, label_smoothing=0.05)
            opt.zero_grad(); loss.backward(); opt.step(); sched.step()
    m = model
    return {"ln_w": m.norm.weight.detach().numpy(), "ln_b": m.norm.bias.detach().numpy(), "w1": m.project.weight.detach().numpy().T, "b1": m.project.bias.detach().numpy(), "wa": m.attend.weight.detach().numpy().T, "ba": m.attend.bias.detach().numpy(), "wo": m.out.weight.detach().numpy().T, "bo": m.out.bias.detach().numpy()}

groups = np.array([m["template"] for m in meta])
logits = np.zeros((len(meta), len(classes)), dtype=np.float32)
t0 = time.time()
for fit, held in GroupKFold(n_splits=5).split(labels, labels, groups):
    hs = [train_offset([states[i] for i in fit], labels[fit].tolist(), offset_all[fit], s) for s in range(2)]
    heads = as_arrays({k: np.stack([h[k] for h in hs]) for k in hs[0]})
    logits[held] = head_logits(heads, [states[i] for i in held])
    print(f"fold {time.time()-t0:.0f}s", flush=True)
np.save(f"/tmp/exp2/resid-{SCALE}.npy", logits)
z = logits.astype(np.float64).copy(); z[:, P] += offset_all
others = np.log(np.exp(np.delete(z, P, 1) - z.max(1, keepdims=True)).sum(1)) + z.max(1)
final = z[:, P] - others
report(first, label="first"); report((first + second) / 2, label="mean (shipped)")
report(final, label=f"residual s{SCALE}")
from bastion.classify.context_head import propaganda_log_odds
head_only = propaganda_log_odds(logits, P)
report(head_only, label="residual head alone")
report((first + head_only) / 2, label="mean(first, residual head)")
