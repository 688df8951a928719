"""Write the stricter review operating points into the shipped tvec-v3 file, from a rerun of
its out-of-fold predictions (cache.py, then `variant.py base`: the same recipe and folds).
Prints the rerun's default thresholds beside the shipped ones, so the rerun can be checked.
usage: points.py [--write]"""
import json, pickle, sys, zipfile
import numpy as np
sys.path.insert(0, "/work/main/src")
from bastion.classify import training as T
from bastion.classify.model import MODEL_PATH, log_odds, platt_scaled, read_model
from bastion.classify.context_head import propaganda_log_odds
from bastion.classify.dataset import Example

c = pickle.load(open("/tmp/exp4/cache.pkl", "rb")); meta = c["meta"]
d = np.load("/tmp/exp4/oofbase.npz"); classes = list(d["classes"]); P = classes.index("propaganda")
pos = d["labels"] == P
pool = [Example(id=m["id"], lang=m["lang"], label=m["label"], slice=m["slice"], template=m["template"], text=m["text"]) for m in meta]
model = read_model(MODEL_PATH)
# The rerun's scores under the shipped calibrations, so that the points are on the scale the
# shipped thresholds are on.
first = platt_scaled(log_odds(d["raw"]), model.calibration)
comb = (log_odds(d["raw"]) + propaganda_log_odds(d["logits"], P)) / 2
both = platt_scaled(comb, model.context.calibration)
for name, scores, shipped, hp in (("first", first, model.thresholds, T.HIGH_PRECISION), ("both", both, model.context.thresholds, 1.0)):
    rerun = T._thresholds_by_language(pool, scores, pos, high_precision=hp)
    for lang in ("en", "fr", "ar", "*"):
        print(f"{name} {lang}: rerun review {rerun[lang].review:.4f} shipped {shipped[lang].review:.4f}")
points = {"first": T.review_points(pool, first, pos), "context": T.review_points(pool, both, pos)}
print(json.dumps(points, indent=1))
if "--write" in sys.argv:
    # Never below the shipped default (the rerun's 95% line may sit a rank lower).
    for stage, shipped in (("first", model.thresholds), ("context", model.context.thresholds)):
        for table in points[stage].values():
            for lang in table:
                table[lang] = max(table[lang], shipped[lang].review)
    with zipfile.ZipFile(MODEL_PATH) as z:
        arrays = {n[:-4]: np.load(z.open(n)) for n in z.namelist()}
    stored = json.loads(bytes(arrays["meta"]).decode("utf-8"))
    stored["review_points"] = points["first"]
    stored["context"]["review_points"] = points["context"]
    stored["metrics"]["review_points_from"] = "a rerun of the out-of-fold predictions (research/counter-speech/operating)"
    arrays["meta"] = np.frombuffer(json.dumps(stored, ensure_ascii=False).encode("utf-8"), np.uint8)
    np.savez_compressed(MODEL_PATH, **arrays)
    print("wrote", MODEL_PATH)
