"""OOF of both stages with extra class weight on chosen benign slices. usage: variant.py TAG slice=mult ..."""
import pickle, sys, time
import numpy as np, scipy.sparse as sp
import torch, torch.nn.functional as F
sys.path.insert(0, "/work/main/src")
from bastion.classify import training as T
from bastion.classify import _head_torch as H
from bastion.classify.context_head import head_logits, PARAMETERS
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold
torch.set_num_threads(2)
TAG = sys.argv[1]; mult = {k: float(v) for k, v in (a.split("=") for a in sys.argv[2:])}
c = pickle.load(open("/tmp/exp4/cache.pkl", "rb")); matrix = sp.load_npz("/tmp/exp4/matrix.npz").tocsr()
targets, groups, states = c["targets"], c["groups"], c["states"]
classes = sorted(set(targets.tolist()))
counts = {k: int((targets == k).sum()) for k in classes}
cw = {k: len(targets) / (len(classes) * counts[k]) * mult.get(k, 1.0) for k in classes}
t0 = time.time()
raw = np.zeros(len(targets)); P = classes.index("propaganda")
folds = list(GroupKFold(n_splits=5).split(targets, targets, groups))
for fit, held in folds:
    m = LogisticRegression(C=T.C, max_iter=5000, class_weight=cw).fit(matrix[fit], targets[fit])
    raw[held] = m.predict_proba(matrix[held])[:, list(m.classes_).index("propaganda")]
print("first", time.time() - t0, flush=True)
def train_one(st, tg, ncls, seed):
    torch.manual_seed(seed); rng = np.random.default_rng(seed)
    y = torch.tensor(tg); cnt = torch.bincount(y, minlength=ncls).float()
    weight = cnt.sum() / (ncls * cnt.clamp(min=1))
    weight = weight * torch.tensor([mult.get(k, 1.0) for k in classes])
    model = H._Head(ncls); opt = torch.optim.AdamW(model.parameters(), lr=H.LEARNING_RATE, weight_decay=0.01)
    order = sorted(range(len(st)), key=lambda i: len(st[i])); batches = [order[i:i + H.BATCH] for i in range(0, len(order), H.BATCH)]
    sch = torch.optim.lr_scheduler.OneCycleLR(opt, H.LEARNING_RATE, total_steps=H.EPOCHS * len(batches))
    model.train()
    for _ in range(H.EPOCHS):
        for j in rng.permutation(len(batches)):
            x, mask = H._padded([st[i] for i in batches[j]])
            loss = F.cross_entropy(model(x, mask), y[batches[j]], weight=weight, label_smoothing=0.05)
            opt.zero_grad(); loss.backward(); opt.step(); sch.step()
    return {"ln_w": model.norm.weight.detach().numpy(), "ln_b": model.norm.bias.detach().numpy(),
            "w1": model.project.weight.detach().numpy().T, "b1": model.project.bias.detach().numpy(),
            "wa": model.attend.weight.detach().numpy().T, "ba": model.attend.bias.detach().numpy(),
            "wo": model.out.weight.detach().numpy().T, "bo": model.out.bias.detach().numpy()}
labels = np.array([classes.index(t) for t in targets])
logits = np.zeros((len(targets), len(classes)), dtype=np.float32)
for fit, held in folds:
    fitted = [train_one([states[i] for i in fit], labels[fit].tolist(), len(classes), s) for s in range(2)]
    heads = {n: np.stack([f[n] for f in fitted]).astype(np.float32) for n in PARAMETERS}
    logits[held] = head_logits(heads, [states[i] for i in held])
print("heads", time.time() - t0, flush=True)
np.savez(f"/tmp/exp4/oof{TAG}.npz", raw=raw, logits=logits, labels=labels, classes=np.array(classes))
