"""mE5 token states after layers 6, 8 and 12 for every text in data/text (numpy, dequantised q4)."""
import sys, json, time, glob, pickle, numpy as np
sys.path.insert(0, "/tmp/me5"); sys.path.insert(0, "/work/main/src")
import bench_np as B
from bastion.text.normalize import clean_text
texts = []
for f in sorted(glob.glob("/work/main/data/text/*.jsonl")):
    for line in open(f):
        texts.append(json.loads(line)["text"])
texts = sorted(set(texts))
enc = {t: B.b.encode(clean_text(t))[:256] for t in texts}
order = sorted(texts, key=lambda t: len(enc[t]))
out = {}
t0 = time.time()
def forward_states(ids, mask):
    S = B.S; b = B.b; H, NH, NL, hd = B.H, B.NH, B.NL, B.hd
    Bn, T = ids.shape
    keep = {}
    x = S["emb.word"][ids] + S["emb.pos"][:T][None] + S["emb.type"][0]
    x = B.ln(x, S["emb.ln.w"], S["emb.ln.b"]).reshape(Bn * T, H)
    neg = np.where(mask, 0, -1e9).astype(np.float32)[:, None, None, :]
    for l in range(NL):
        p = f"l{l}."
        qkv = (x @ S[p + "qkv.w"] + S[p + "qkv.b"]).reshape(Bn, T, 3, NH, hd).transpose(2, 0, 3, 1, 4)
        a = qkv[0] @ qkv[1].transpose(0, 1, 3, 2) / np.sqrt(hd) + neg
        a = np.exp(a - a.max(-1, keepdims=True)); a /= a.sum(-1, keepdims=True)
        c = (a @ qkv[2]).transpose(0, 2, 1, 3).reshape(Bn * T, H)
        x = B.ln(x + c @ S[p + "ao.w"] + S[p + "ao.b"], S[p + "aln.w"], S[p + "aln.b"])
        h = x @ S[p + "fi.w"] + S[p + "fi.b"]; h = 0.5 * h * (1 + B.erf(h * np.float32(0.7071067811865476)))
        x = B.ln(x + h @ S[p + "fo.w"] + S[p + "fo.b"], S[p + "oln.w"], S[p + "oln.b"])
        if l+1 in (6, 8, 12): keep[l+1] = x.reshape(Bn, T, H).copy()
    return keep
bs = 16
for s in range(0, len(order), bs):
    chunk = order[s:s + bs]; L = max(len(enc[t]) for t in chunk)
    ids = np.full((len(chunk), L), B.b.pad, np.int64); m = np.zeros((len(chunk), L), bool)
    for i, t in enumerate(chunk): ids[i, :len(enc[t])] = enc[t]; m[i, :len(enc[t])] = True
    h = forward_states(ids, m)
    for L_ in (6, 8, 12):
        for i, t in enumerate(chunk): out.setdefault(L_, {})[t] = h[L_][i, :len(enc[t])].astype(np.float16)
    if s % 640 == 0: print(s, len(order), f"{time.time()-t0:.0f}s", flush=True)
[pickle.dump(out[L_], open(f"/tmp/me5/states{L_}.pkl", "wb")) for L_ in (6, 8, 12)]
print("done", len(out), f"{time.time()-t0:.0f}s")
