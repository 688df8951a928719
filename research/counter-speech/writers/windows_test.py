"""Sentence windows on the test split (every writer): calls under 250 characters pasted
between three neutral posts on each side (contrast/filler-<lang>.txt), found with windows off
and on; then the benign test texts flagged with windows off and on. Run from the repo root."""
import json, random, sys
from pathlib import Path
from bastion.classify.classifier import classify_texts
from bastion.classify.dataset import load_examples, training_files

DATA = Path("data/text"); FILLER = Path("research/counter-speech/contrast")
test = [e for e in load_examples(training_files(DATA)) if e.split == "test"]
rng = random.Random(1)
for lang in ("en", "fr", "ar"):
    filler = [l.strip() for l in (FILLER / f"filler-{lang}.txt").read_text().splitlines() if l.strip()]
    calls = [e.text for e in test if e.lang == lang and e.label == "propaganda" and len(e.text) < 250]
    posts = [" ".join(rng.sample(filler, 3) + [c] + rng.sample(filler, 3)) for c in calls]
    benign = [e for e in test if e.lang == lang and e.label == "benign"]
    row = [lang]
    for windows in (False, True):
        found = sum(r.band != "none" for r in classify_texts(posts, explain=False, windows=windows))
        flags = classify_texts([e.text for e in benign], explain=False, windows=windows)
        by = {}
        for e, r in zip(benign, flags):
            n, f = by.get(e.slice, (0, 0)); by[e.slice] = (n + 1, f + (r.band != "none"))
        row.append(f"windows={windows}: diluted calls {found}/{len(posts)}, benign "
                   f"{sum(f for _, f in by.values())}/{len(benign)} "
                   + " ".join(f"{k}:{f}/{n}" for k, (n, f) in sorted(by.items())))
    print(" | ".join(row), flush=True)
