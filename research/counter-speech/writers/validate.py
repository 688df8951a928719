"""Check one writer's file: python3 /tmp/writers/validate.py FILE LANG PREFIX"""
import collections, json, sys, re
path, lang, prefix = sys.argv[1], sys.argv[2], sys.argv[3]
FUNC = {"call_to_join": "c", "pledge": "c", "glorification": "a", "grievance_to_arms": "a",
        "spread_media": "a", "act_locally": "b", "threat": "e"}
BENIGN = {"journalism", "counter_speech", "religious", "history_research", "fiction_games", "everyday"}
VARIETIES = {"msa", "egyptian", "levantine", "gulf", "maghrebi", "arabizi"}
errors = []; ids = set(); texts = set()
tmpl = collections.defaultdict(list); counts = collections.Counter()
for n, line in enumerate(open(path, encoding="utf-8"), 1):
    if not line.strip():
        continue
    try:
        r = json.loads(line)
    except Exception as e:
        errors.append(f"line {n}: not JSON: {e}"); continue
    need = ["id", "lang", "label", "slice", "category", "template", "text"] + (["variety"] if lang == "ar" else [])
    for k in need:
        if k not in r: errors.append(f"line {n}: missing {k}")
    if errors and errors[-1].startswith(f"line {n}:"): continue
    if not re.fullmatch(rf"{lang}-{prefix}\d{{4}}", r["id"]): errors.append(f"line {n}: id {r['id']} should look like {lang}-{prefix}0001")
    if not re.fullmatch(rf"{lang}-{prefix}t\d{{3}}", r["template"]): errors.append(f"line {n}: template {r['template']} should look like {lang}-{prefix}t001")
    if r["id"] in ids: errors.append(f"line {n}: duplicate id {r['id']}")
    ids.add(r["id"])
    if r["lang"] != lang: errors.append(f"line {n}: lang should be {lang}")
    t = r["text"].strip()
    if t in texts: errors.append(f"line {n}: duplicate text")
    texts.add(t)
    if len(t.split()) < 5 and not (lang == "ar" and len(t) >= 20): errors.append(f"line {n}: at least 5 words")
    if r["label"] == "propaganda":
        if r["slice"] not in FUNC: errors.append(f"line {n}: propaganda slice {r['slice']} not in {sorted(FUNC)}")
        elif r["category"] != FUNC[r["slice"]]: errors.append(f"line {n}: category for {r['slice']} is {FUNC[r['slice']]}")
    elif r["label"] == "benign":
        if r["slice"] not in BENIGN: errors.append(f"line {n}: benign slice {r['slice']} not in {sorted(BENIGN)}")
        if r["category"] is not None: errors.append(f"line {n}: category must be null for benign")
    else:
        errors.append(f"line {n}: label must be propaganda or benign")
    if lang == "ar" and r.get("variety") not in VARIETIES: errors.append(f"line {n}: variety in {sorted(VARIETIES)}")
    if re.search(r"https?://|www\.|@\w|\+\d{6,}|t\.me", t): errors.append(f"line {n}: no links, handles or contacts")
    tmpl[r["template"]].append(r); counts[(r["label"], r["slice"])] += 1
for t, rows in tmpl.items():
    if len({(r["label"], r["slice"]) for r in rows}) != 1: errors.append(f"template {t}: variants must share label and slice")
    if not 2 <= len(rows) <= 4: errors.append(f"template {t}: {len(rows)} variants (2-4)")
print("\n".join(errors[:60]) or "OK")
print(f"{len(ids)} items, {len(tmpl)} templates")
for k, v in sorted(counts.items()): print(f"  {k[0]:10s} {k[1]:18s} {v}")
if lang == "ar":
    rows = [json.loads(l) for l in open(path, encoding="utf-8") if l.strip()]
    print(collections.Counter(r.get("variety") for r in rows))
