"""Tokenise pool+chal with the e5.c-exact tokenizer, compute folds (harness GroupKFold(5)), and pack
Q4 weights (int8 q + fp16 scales, vocab restricted to ids seen) for the GPU run."""
import sys, os, numpy as np
sys.path.insert(0, "/tmp/exp"); sys.path.insert(0, "/tmp/me5")
from harness import pool, chal, targets, thresholds, report, GroupKFold, PROPAGANDA
from e5bin import Bin
OUTDIR = sys.argv[1] if len(sys.argv) > 1 else "/tmp/me5/pack"
os.makedirs(OUTDIR, exist_ok=True)
b = Bin()
CLASSES = ["propaganda", "counter_speech", "journalism", "religious", "history_research", "fiction_games", "everyday"]
def tok(exs): return [b.encode(e.text) for e in exs]
tp, tc = tok(pool), tok(chal)
L = [len(x) for x in tp + tc]
print("tokens: max %d p95 %.0f p50 %.0f" % (max(L), np.percentile(L, 95), np.median(L)))
used = sorted(set(i for x in tp + tc for i in x) | {b.bos, b.eos, b.pad, b.unk})
remap = {o: n for n, o in enumerate(used)}
T = max(L)
def arr(seqs):
    I = np.full((len(seqs), T), remap[b.pad], np.int32); M = np.zeros((len(seqs), T), bool)
    for i, x in enumerate(seqs): I[i, :len(x)] = [remap[t] for t in x]; M[i, :len(x)] = True
    return I, M
Ip, Mp = arr(tp); Ic, Mc = arr(tc)
y = np.array([CLASSES.index(t) for t in targets(pool)])
g = np.array([e.template for e in pool])
fold = np.zeros(len(pool), int)
for k, (a, bb) in enumerate(GroupKFold(n_splits=5).split(np.zeros(len(pool)), y, g)): fold[bb] = k
np.savez_compressed(f"{OUTDIR}/data.npz", Ip=Ip, Mp=Mp, Ic=Ic, Mc=Mc, y=y, fold=fold,
                    base_oof=np.load("/tmp/exp/base_oof.npy"), base_chal=np.load("/tmp/exp/base_chal.npy"))
# weights
H, FF = b.H, b.FF
W = {}
q, d = b.q4("emb.word", b.VOC, H); W["emb.word.q"] = q[used]; W["emb.word.d"] = d[used].astype(np.float16)
for n in ("emb.pos", "emb.type", "emb.ln.w", "emb.ln.b"): W[n] = b.f32(n)
shapes = {"q": (H, H), "k": (H, H), "v": (H, H), "ao": (H, H), "fi": (FF, H), "fo": (H, FF)}
for l in range(b.NL):
    for k, (o, i) in shapes.items():
        q, d = b.q4(f"l{l}.{k}.w", o, i); W[f"l{l}.{k}.w.q"] = q; W[f"l{l}.{k}.w.d"] = d.astype(np.float16)
        W[f"l{l}.{k}.b"] = b.f32(f"l{l}.{k}.b")
    for k in ("aln", "oln"):
        W[f"l{l}.{k}.w"] = b.f32(f"l{l}.{k}.w"); W[f"l{l}.{k}.b"] = b.f32(f"l{l}.{k}.b")
W["meta"] = np.array([len(used), H, b.NL, b.NH, FF, b.pad, remap[b.pad]])
np.savez_compressed(f"{OUTDIR}/weights.npz", **W)
print("vocab used", len(used), "pool", len(pool), "chal", len(chal), "T", T)
os.system(f"ls -la {OUTDIR}")
# sanity: baseline report from saved scores
bo = np.load("/tmp/exp/base_oof.npy"); th = thresholds(bo, pool)
report("baseline OOF", bo, pool, th); report("baseline CHAL", np.load("/tmp/exp/base_chal.npy"), chal, th)
