"""Near-duplicate pairs across templates in the training files (word 4-gram containment)."""
import json, re, sys, glob, hashlib, collections, unicodedata
sys.path.insert(0, "/work/main/src")
from bastion.text.normalize import normalize_text
from bastion.classify.dataset import split_of
rows = []
for f in sorted(glob.glob("/work/main/data/text/*.jsonl")):
    if "challenge" in f: continue
    for l in open(f): rows.append(json.loads(l))
def sh(t):
    w = re.findall(r"\w+", normalize_text(t)); return {" ".join(w[i:i+4]) for i in range(len(w)-3)}
S = [sh(r["text"]) for r in rows]
inv = collections.defaultdict(list)
for i, s in enumerate(S):
    for g in s: inv[g].append(i)
cnt = collections.Counter()
for g, ids in inv.items():
    if len(ids) > 30: continue
    for a in range(len(ids)):
        for b in range(a+1, len(ids)): cnt[(ids[a], ids[b])] += 1
thr = float(sys.argv[1]) if len(sys.argv) > 1 else 0.4
pairs = []
for (a, b), c in cnt.items():
    ra, rb = rows[a], rows[b]
    if ra["template"] == rb["template"] or ra["lang"] != rb["lang"]: continue
    cont = c / max(1, min(len(S[a]), len(S[b])))
    if cont >= thr and c >= 3: pairs.append((cont, c, a, b))
pairs.sort(reverse=True)
cross = 0
for cont, c, a, b in pairs:
    ra, rb = rows[a], rows[b]; x = split_of(ra["template"]) != split_of(rb["template"]) and "test" in (split_of(ra["template"]), split_of(rb["template"]))
    cross += x
    if "--show" in sys.argv: print(f"{cont:.2f} {c:3d} {'X' if x else ' '} {ra['id']}({split_of(ra['template'])},{ra['label'][:4]}) {rb['id']}({split_of(rb['template'])},{rb['label'][:4]}) | {ra['text'][:80]!r} | {rb['text'][:80]!r}")
print(len(pairs), "pairs,", cross, "crossing the test split")
json.dump([(rows[a]["id"], rows[b]["id"], cont) for cont, c, a, b in pairs], open("/tmp/exp3/neardup.json", "w"))
