"""Text classifier speed on this machine: model load, one text, and batches of 64-token texts.

Also the quality of a keyword filter (the peer most small platforms use) on the same test
split, next to the shipped model, so the false-positive cost of keywords is visible.

    .venv/bin/python benchmarks/bench_classifier.py
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

from bastion.classify.classifier import classify_texts
from bastion.classify.dataset import PROPAGANDA, load_examples, training_files
from bastion.classify.evaluation import evaluate

KEYWORDS = (
    "join", "martyr", "jihad", "pledge", "allegiance", "caliph", "brothers", "ranks", "rise",
    "rejoins", "martyr", "allégeance", "frères", "rangs", "انضم", "شهيد", "جهاد", "بيعة",
    "الإخوة", "الصفوف",
)  # fmt: skip
SIXTY_FOUR_TOKENS = (
    "The regional council met on Tuesday to discuss the new bus routes, the repairs to the old "
    "bridge and the budget for next year's summer festival; residents asked questions about "
    "parking, school crossings and the library's opening hours, and the mayor promised answers "
    "before the next meeting in two weeks."
)


def load_seconds() -> float:
    """Fresh process: import, load the weights, classify one text."""
    code = (
        "import time; t=time.perf_counter();"
        "from bastion.classify.classifier import classify_texts;"
        "classify_texts(['warm up text for the model']);"
        "print(time.perf_counter()-t)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(done.stdout.strip())


def main() -> None:
    print(f"model load + first text, fresh process: {load_seconds():.2f} s")
    classify_texts([SIXTY_FOUR_TOKENS])
    singles = []
    for _ in range(30):
        started = time.perf_counter()
        classify_texts([SIXTY_FOUR_TOKENS], explain=False)
        singles.append(time.perf_counter() - started)
    print(f"one 64-token text: median {1000 * statistics.median(singles):.1f} ms")
    batch = [f"{SIXTY_FOUR_TOKENS} ({i})" for i in range(512)]
    started = time.perf_counter()
    classify_texts(batch, explain=False)
    elapsed = time.perf_counter() - started
    print(f"batch of 512 64-token texts: {len(batch) / elapsed:.0f} texts/s")

    # The test split of the dataset proper; the challenge sets are reported on their own.
    examples = [e for e in load_examples(training_files(Path("data/text"))) if e.split == "test"]
    results = classify_texts([e.text for e in examples], explain=False)
    for name, bands in (
        ("Bastion (review band)", [r.band for r in results]),
        (
            "keyword filter",
            ["review" if any(k in e.text.lower() for k in KEYWORDS) else "none" for e in examples],
        ),
    ):
        rows = [
            {
                "label": e.label,
                "lang": e.lang,
                "slice": "propaganda" if e.label == PROPAGANDA else e.slice,
                "band": band,
            }
            for e, band in zip(examples, bands, strict=True)
        ]
        metrics = evaluate(rows, "review")
        parts = []
        for lang in ("en", "fr", "ar"):
            group = metrics[f"lang={lang}"]
            parts.append(
                f"{lang}: recall {group['recall']['value']:.2f}, "
                f"FPR {group['false_positive_rate']['value']:.3f}"
            )
        print(f"{name}: " + "; ".join(parts))


if __name__ == "__main__":
    main()
