"""BERT-style encoder matching e5.c forward (post-LN, erf GELU, pos ids from 0, token type 0, mean pool)."""
import math, torch, torch.nn as nn, torch.nn.functional as F

class Layer(nn.Module):
    def __init__(s, H=384, NH=12, FF=1536, eps=1e-12):
        super().__init__()
        s.NH = NH; s.eps = eps
        s.q = nn.Linear(H, H); s.k = nn.Linear(H, H); s.v = nn.Linear(H, H); s.ao = nn.Linear(H, H)
        s.aln = nn.LayerNorm(H, eps=eps); s.fi = nn.Linear(H, FF); s.fo = nn.Linear(FF, H); s.oln = nn.LayerNorm(H, eps=eps)
    def forward(s, x, mask):  # mask [B,T] bool
        B, T, H = x.shape; hd = H // s.NH
        sp = lambda t: t.view(B, T, s.NH, hd).transpose(1, 2)
        am = torch.zeros(B, 1, 1, T, dtype=x.dtype, device=x.device).masked_fill(~mask[:, None, None, :], float("-inf"))
        c = F.scaled_dot_product_attention(sp(s.q(x)), sp(s.k(x)), sp(s.v(x)), attn_mask=am)
        c = c.transpose(1, 2).reshape(B, T, H)
        x = s.aln(x + s.ao(c))
        return s.oln(x + s.fo(F.gelu(s.fi(x))))

class E5Enc(nn.Module):
    def __init__(s, V, H=384, NL=12, NH=12, FF=1536, P=512, eps=1e-12, n_cls=0):
        super().__init__()
        s.word = nn.Embedding(V, H); s.pos = nn.Embedding(P, H); s.ttype = nn.Parameter(torch.zeros(H))
        s.eln = nn.LayerNorm(H, eps=eps)
        s.layers = nn.ModuleList([Layer(H, NH, FF, eps) for _ in range(NL)])
        s.head = nn.Linear(H, n_cls) if n_cls else None
        s.drop = nn.Dropout(0.1)
    def hidden(s, ids, mask):
        T = ids.shape[1]
        x = s.word(ids) + s.pos(torch.arange(T, device=ids.device))[None] + s.ttype
        x = s.eln(x)
        for l in s.layers: x = l(x, mask)
        return x
    def pooled(s, ids, mask):
        h = s.hidden(ids, mask); m = mask[..., None].to(h.dtype)
        return (h * m).sum(1) / m.sum(1)
    def forward(s, ids, mask):
        p = s.pooled(ids, mask)
        return s.head(s.drop(p))
    def load_np(s, st):
        t = lambda a: torch.from_numpy(a)
        with torch.no_grad():
            s.word.weight.copy_(t(st["emb.word"])); s.pos.weight.copy_(t(st["emb.pos"]))
            s.ttype.copy_(t(st["emb.type"][0])); s.eln.weight.copy_(t(st["emb.ln.w"])); s.eln.bias.copy_(t(st["emb.ln.b"]))
            for i, l in enumerate(s.layers):
                for k in ("q", "k", "v", "ao", "fi", "fo", "aln", "oln"):
                    getattr(l, k).weight.copy_(t(st[f"l{i}.{k}.w"])); getattr(l, k).bias.copy_(t(st[f"l{i}.{k}.b"]))
