"""All model-card figures for one model file: test split, challenge, short posts."""
import sys, collections, json
from pathlib import Path
sys.path.insert(0, "/work/main/src")
from bastion.classify.classifier import classify_texts
from bastion.classify.dataset import load_examples
from bastion.classify.model import read_model, MODEL_PATH
path = Path(sys.argv[1]) if len(sys.argv) > 1 else MODEL_PATH
model = read_model(path)
D = Path("/work/main/data/text")
out = {}
def run(name, files, split=None):
    ex = [e for e in load_examples(files) if split is None or e.split == split]
    res = classify_texts([e.text for e in ex], model=model, explain=False)
    c = collections.defaultdict(lambda: [0, 0, 0])  # n, review, high
    for e, r in zip(ex, res):
        k = "propaganda" if e.label == "propaganda" else e.slice
        c[k][0] += 1; c[k][1] += r.band != "none"; c[k][2] += r.band == "high"
    benign = [v for k, v in c.items() if k != "propaganda"]
    nb = sum(v[0] for v in benign); fb = sum(v[1] for v in benign); hb = sum(v[2] for v in benign)
    p = c["propaganda"]
    line = f"{name}: prop {p[1]}/{p[0]} high {p[2]} | benign {fb}/{nb} ({fb/max(nb,1):.3f}) high-FP {hb} | " + " ".join(f"{k[:5]} {v[1]}/{v[0]}" for k, v in sorted(c.items()) if k != "propaganda")
    print(line, flush=True)
    out[name] = {k: v for k, v in c.items()}
for l in ["en", "fr", "ar"]:
    run(f"{l} test", [D / f"{l}.jsonl", D / f"{l}-more.jsonl", D / f"{l}-third.jsonl"], "test")
    run(f"{l} test-old", [D / f"{l}.jsonl", D / f"{l}-more.jsonl"], "test")
    run(f"{l} challenge", [D / f"{l}-challenge.jsonl"])
    run(f"{l} short", [D / f"{l}-short-challenge.jsonl"])
json.dump(out, open(f"/tmp/exp2/evalall-{path.stem}.json", "w"))
