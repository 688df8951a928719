"""Test and left-out-writer figures with and without texts that have a same-label near-duplicate
(word 4-gram containment >= 0.2, neardup.py) on the other side."""
import json, re, sys, glob, collections
sys.path.insert(0, "/work/main/src")
from bastion.classify.dataset import split_of
pairs = json.load(open("/tmp/exp3/neardup.json"))
rows = {}
for f in glob.glob("/work/main/data/text/*.jsonl"):
    if "challenge" in f: continue
    for l in open(f): r = json.loads(l); rows[r["id"]] = r
def writer(i): m = re.match(r"^..-([pq])\d", i); return m.group(1) if m else "old"
leak = set(); xw = collections.defaultdict(set)
for a, b, c in pairs:
    ra, rb = rows[a], rows[b]
    if c < 0.2 or ra["label"] != rb["label"]: continue
    for x, y in ((ra, rb), (rb, ra)):
        if split_of(x["template"]) == "test" and split_of(y["template"]) != "test": leak.add(x["id"])
        if writer(x["id"]) != "old" and writer(y["id"]) != writer(x["id"]): xw[writer(x["id"])].add(x["id"])
print("test items with a same-label near-duplicate in train/dev:", len(leak), sorted(leak))
print("new-writer items with a same-label near-duplicate by another writer:", {k: len(v) for k, v in xw.items()})
def show(label, items, sc):
    pos = [r for r in items if r["label"] == "propaganda"]; ben = [r for r in items if r["label"] == "benign"]
    fl = lambda r: sc[r["id"]]["band"] != "none"; cs = [r for r in ben if r["slice"] == "counter_speech"]
    print(label, f"rec {sum(map(fl,pos))}/{len(pos)} ben {sum(map(fl,ben))}/{len(ben)} cs {sum(map(fl,cs))}/{len(cs)}")
out = {json.loads(l)["id"]: json.loads(l) for l in open("/tmp/exp3/test-v3.jsonl")}
for lang in ("en", "fr", "ar"):
    for excl in (False, True):
        show(f"test {lang} {'excl' if excl else 'all '}", [r for i, r in rows.items() if r["lang"] == lang and split_of(r["template"]) == "test" and not (excl and i in leak)], out)
for W in "pq":
    sc = {json.loads(l)["id"]: json.loads(l) for l in open(f"/tmp/exp3/w{W}-scored.jsonl")}
    for lang in ("en", "fr", "ar"):
        for excl in (False, True):
            show(f"lowo {W} {lang} {'excl' if excl else 'all '}", [r for i, r in rows.items() if writer(i) == W and r["lang"] == lang and not (excl and i in xw[W])], sc)
