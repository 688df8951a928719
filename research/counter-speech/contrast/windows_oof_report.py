import pickle, numpy as np, collections
d = np.load("/tmp/exp2/win_oof.npz"); m = pickle.load(open("/tmp/exp2/win_oof.pkl", "rb"))
meta = m["meta"]; wowner = m["wowner"]; dil = m["dil_idx"]
whole, wscore, dscore = d["whole"], d["wscore"], d["dscore"]
langs = np.array([x[1] for x in meta]); pos = np.array([x[2] == "propaganda" for x in meta])
thr = {}
for l in ("en", "fr", "ar"):
    s = whole[langs == l]; p = pos[langs == l]
    r = np.sort(s[p]); review = r[int(np.floor(0.05 * len(r)))]
    high = None
    for c in np.unique(s[s >= review]):
        if p[s >= c].mean() >= 1.0: high = c; break
    thr[l] = (review, high, s[~p].max())
print({l: tuple(round(float(x), 2) for x in v) for l, v in thr.items()})
flag_whole = np.array([whole[i] >= thr[langs[i]][0] for i in range(len(meta))])
maxw = collections.defaultdict(lambda: -1e9)
for j, (kind, i) in enumerate(wowner): maxw[(kind, i)] = max(maxw[(kind, i)], wscore[j])
def report(delta):
    out = []
    for l in ("en", "fr", "ar"):
        ben = [i for i in range(len(meta)) if langs[i] == l and not pos[i] and ("benign", i) in maxw]
        new = [i for i in ben if not flag_whole[i] and maxw[("benign", i)] >= thr[l][1] + delta]
        sl = collections.Counter(meta[i][3][:4] for i in new)
        dl = [k for k, i in enumerate(dil) if langs[i] == l]
        found_whole = sum(dscore[k] >= thr[l][0] for k in dl)
        found = sum(dscore[k] >= thr[l][0] or maxw[("diluted", dil[k])] >= thr[l][1] + delta for k in dl)
        out.append(f"{l}: new benign {len(new)}/{len(ben)} {dict(sl)} diluted found {found}/{len(dl)} (whole alone {found_whole})")
    print(f"window >= high{delta:+.1f}: " + " | ".join(out))
for delta in (-1.0, 0.0, 0.5, 1.0, 1.5, 2.0):
    report(delta)
# review-threshold windows for reference
for l in ("en", "fr", "ar"):
    ben = [i for i in range(len(meta)) if langs[i] == l and not pos[i] and ("benign", i) in maxw]
    print(l, "windows >= review: new benign", sum(not flag_whole[i] and maxw[("benign", i)] >= thr[l][0] for i in ben))
