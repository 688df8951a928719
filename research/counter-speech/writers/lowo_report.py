import json, sys, numpy as np
W = sys.argv[1]; thr = json.load(open(f"/tmp/exp3/lowo-{W}-thr.json"))
gold = [json.loads(l) for l in open(f"/tmp/exp3/w{W}-all.jsonl")]
out = [json.loads(l) for l in open(f"/tmp/exp3/w{W}-scored.jsonl")]
for lang in ["en", "fr", "ar"]:
    rows = [(g, o) for g, o in zip(gold, out) if g["lang"] == lang]
    pos = np.array([g["label"] == "propaganda" for g, _ in rows]); s = np.array([o["score"] for _, o in rows])
    sl = np.array([g["slice"] for g, _ in rows]); band = np.array([o["band"] for _, o in rows])
    fl = band != "none"
    line = [f"{lang} shipped-thr: rec {fl[pos].mean():.3f} cs {fl[sl=='counter_speech'].sum()}/{(sl=='counter_speech').sum()} ben {fl[~pos].sum()}/{(~pos).sum()} worst " + " ".join(f"{k[:4]}{fl[sl==k].sum()}" for k in sorted(set(sl[~pos])))]
    for r in ["0.90", "0.92", "0.93", "0.95"]:
        f2 = s >= thr[lang][r]
        line.append(f"  oof{r}: rec {f2[pos].mean():.3f} cs {f2[sl=='counter_speech'].sum()} ben {f2[~pos].sum()}")
    print(" |".join(line))
