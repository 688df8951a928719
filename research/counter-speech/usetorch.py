import numpy as np, torch, torch.nn as nn, torch.nn.functional as F
from bastion.classify.embeddings import _model
from bastion.text.normalize import clean_text

ORDERS = ((2, 0), (3, 1), (5, 2))


def backend():
    return _model(2)._model


def token_ids(texts):
    m = backend()
    return [
        m.sp.encode(clean_text(t)[:1200], out_type=int, add_bos=True, add_eos=True) for t in texts
    ]


def dequant(ids):
    m = backend()
    flat = np.asarray(ids)
    chunk = flat % 17
    e = m.table[flat].astype(np.float32)
    e *= m.scale[chunk, None]
    e += m.lo[chunk, None]
    return e


class UseTop(nn.Module):
    def __init__(self, n_classes=7):
        super().__init__()
        m = backend()
        P = lambda a: nn.Parameter(torch.tensor(np.asarray(a, dtype=np.float32)))
        self.proj_W, self.proj_b = P(m.proj_W), P(m.proj_b)
        self.ln_g_all, self.ln_b_all = P(m.ln_g_all), P(m.ln_b_all)
        self.w1 = nn.ParameterList([P(w) for w in m.w1])
        self.b1 = nn.ParameterList([P(w) for w in m.b1])
        self.w2 = nn.ParameterList([P(w) for w in m.w2])
        self.b2 = nn.ParameterList([P(w) for w in m.b2])
        self.ln_g, self.ln_b = P(m.ln_g), P(m.ln_b)
        self.cnn_W, self.cnn_b = P(m.cnn_W), P(m.cnn_b)
        for k in ("d0", "d1", "d2", "d3", "p1", "p3"):
            setattr(self, k, P(getattr(m, k)))
        self.eps = float(m.eps)
        self.head = nn.Linear(512, n_classes)
        self.drop = nn.Dropout(0.1)
        self.init = {
            k: v.detach().clone() for k, v in self.named_parameters() if not k.startswith("head")
        }

    def _ln(self, x, g, b):
        mu = x.mean(-1, keepdim=True)
        var = ((x - mu) ** 2).mean(-1, keepdim=True)
        return (x - mu) / torch.sqrt(var + self.eps) * g + b

    def embed(self, emb, mask):
        # emb (B,T,512), mask (B,T,1)
        x = self._ln(emb @ self.proj_W + self.proj_b, self.ln_g_all, self.ln_b_all) * mask
        outs = [emb]
        for i, (n, left) in enumerate(ORDERS):
            xs = x[..., i * 256 : (i + 1) * 256]

            def conv(inp, w, b):
                p = F.pad(inp, (0, 0, left, n - 1 - left))
                win = p.unfold(1, n, 1)  # (B,T,256,n)
                win = win.permute(0, 1, 3, 2).reshape(inp.shape[0], inp.shape[1], n * 256)
                return F.relu(win @ w + b)

            h = (conv(xs, self.w1[i], self.b1[i]) + xs) * mask
            c2 = (conv(h, self.w2[i], self.b2[i]) + h) * mask
            outs.append(c2)
        feats = self._ln(torch.cat(outs, -1), self.ln_g, self.ln_b) * mask
        lens = mask.sum(1)  # (B,1)
        mean = (self.drop(feats).sum(1) @ self.cnn_W + lens * self.cnn_b) / torch.sqrt(lens)
        y0 = F.relu(mean @ self.d0)
        y1 = F.relu(mean @ self.p1 + y0 @ self.d1)
        y2 = F.relu(y1 @ self.d2)
        z = torch.tanh(y1 @ self.p3 + y2 @ self.d3)
        return z / z.norm(dim=-1, keepdim=True).clamp_min(1e-6)

    def forward(self, emb, mask):
        return self.head(self.drop(self.embed(emb, mask)) * 10.0)

    def l2sp(self):
        return sum(
            ((p - self.init[k]) ** 2).sum() for k, p in self.named_parameters() if k in self.init
        )


def batchify(embs):
    T = max(len(e) for e in embs)
    B = len(embs)
    x = np.zeros((B, T, 512), np.float32)
    m = np.zeros((B, T, 1), np.float32)
    for i, e in enumerate(embs):
        x[i, : len(e)] = e
        m[i, : len(e)] = 1
    return torch.tensor(x), torch.tensor(m)


if __name__ == "__main__":
    from bastion.classify.embeddings import embed

    texts = [
        "Join the brothers of the valley today.",
        "Le match de foot était génial hier soir !",
        "بسم الله الرحمن الرحيم",
    ]
    ref = embed([clean_text(t) for t in texts])
    net = UseTop().eval()
    x, m = batchify([dequant(i) for i in token_ids(texts)])
    with torch.no_grad():
        z = net.embed(x, m).numpy()
    print((z * ref).sum(1))
