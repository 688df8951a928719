import json, numpy as np
from collections import defaultdict
M = json.load(open("/tmp/exp/meta.json"))
pool, chal, test, fold = M["pool"], M["chal"], M["test"], np.array(M["fold"])
SL = ("counter_speech","journalism","religious","history_research","fiction_games","everyday")
CLASSES = ["propaganda", *SL]
def thresholds(raw, exs, recall=0.95):
    out = {}
    for lang in ("en","fr","ar"):
        s = np.sort([r for r, e in zip(raw, exs) if e["lang"]==lang and e["label"]=="propaganda"])
        out[lang] = s[int(np.floor((1-recall)*len(s)))]
    return out
def counts(raw, exs, th):
    c = defaultdict(lambda: [0,0])
    for r, e in zip(raw, exs):
        key = (e["lang"], "PROP" if e["label"]=="propaganda" else e["slice"])
        c[key][0] += int(r >= th[e["lang"]]); c[key][1] += 1
    return c
def report(name, raw, exs, th):
    c = counts(raw, exs, th)
    print(name)
    for lang in ("en","fr","ar"):
        parts = [f"{s[:5]} {c[(lang,s)][0]}/{c[(lang,s)][1]}" for s in ("PROP",)+SL if c[(lang,s)][1]]
        bh = sum(c[(lang,s)][0] for s in SL); bn = sum(c[(lang,s)][1] for s in SL)
        print(f"  {lang}: " + ", ".join(parts) + f" | benignFP {bh}/{bn}")
def logit(p): p=np.clip(np.asarray(p,float),1e-6,1-1e-6); return np.log(p/(1-p))
def show(name, o, c):
    """One line: benign and counter-speech flags out of fold and on the challenge sets."""
    th=thresholds(o,pool); co=counts(o,pool,th); cc=counts(c,chal,th)
    line=[]
    for lang in ("en","fr","ar"):
        b=sum(co[(lang,s)][0] for s in SL); cs=co[(lang,"counter_speech")][0]
        cb=sum(cc[(lang,s)][0] for s in SL); ccs=cc[(lang,"counter_speech")][0]; cp=cc[(lang,"PROP")][0]
        line.append(f"{lang} oof b{b:3d} cs{cs:3d} | chal b{cb:3d} cs{ccs:3d} p{cp:3d}")
    print(f"{name:10s}", " || ".join(line))
