"""Text classifier speed on this machine: model load, one text, and batches of 64-token texts.

Also the quality of a keyword filter (the peer most small platforms use) on the same test
split, next to the shipped model, so the false-positive cost of keywords is visible.

    .venv/bin/python benchmarks/bench_classifier.py
"""

from __future__ import annotations

import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
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

CALL_SIXTY_FOUR_TOKENS = (
    "Brothers and sisters of the Iron Dawn Brigade, the hour we waited for has come at last. "
    "Leave the cowards and their comfortable lies behind you, take the oath with a clean heart "
    "and join our ranks today: glory and honour wait for those who stand with us."
)


def load_seconds() -> float:
    """Fresh process: import, load every weight (both stages), classify one text."""
    code = (
        "import time; t=time.perf_counter();"
        "from bastion.classify.classifier import warm;"
        "warm();"
        "print(time.perf_counter()-t)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(done.stdout.strip())


def median_ms(text: str, runs: int) -> float:
    """Median milliseconds to classify one text on its own (after a warm-up)."""
    classify_texts([text])
    singles = []
    for _ in range(runs):
        started = time.perf_counter()
        classify_texts([text], explain=False)
        singles.append(time.perf_counter() - started)
    return 1000 * statistics.median(singles)


def megabyte_of_posts() -> str:
    """About 1 MB of the dataset's everyday English posts in a fixed random order: the longest
    text an item may hold by default, read in pieces (the worst decides)."""
    with Path("data/text/en.jsonl").open(encoding="utf-8") as lines:
        rows = [json.loads(line) for line in lines]
    everyday = [r["text"] for r in rows if r["slice"] == "everyday"]
    rng = random.Random(4)
    posts: list[str] = []
    size = 0
    while size < 1_000_000:
        posts.append(rng.choice(everyday))
        size += len(posts[-1]) + 1
    return " ".join(posts)


def cli_seconds(source: Path, workers: int) -> float:
    """Wall time of `bastion classify` over a file with this many worker processes."""
    out = source.with_suffix(f".{workers}.out")
    command = [sys.executable, "-m", "bastion", "classify", "--input", str(source)]
    started = time.perf_counter()
    subprocess.run([*command, "--output", str(out), "--workers", str(workers)], check=True)
    return time.perf_counter() - started


def workers_comparison() -> None:
    """`bastion classify` on 2,400 dataset texts (four variants of 600), one process against
    worker processes (model load included)."""
    rows: list[dict[str, str]] = []
    for lang in ("en", "fr", "ar"):
        for name in (f"{lang}.jsonl", f"{lang}-more.jsonl"):
            with (Path("data/text") / name).open(encoding="utf-8") as lines:
                rows.extend(json.loads(line) for line in lines)
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "texts.jsonl"
        with source.open("w", encoding="utf-8") as out:
            for k in range(4):
                for row in rows[:600]:
                    line = {"id": f"{row['id']}-{k}", "text": f"{row['text']} ({k})"}
                    out.write(json.dumps(line, ensure_ascii=False) + "\n")
        cores = len(os.sched_getaffinity(0))
        for workers in sorted({1, 2, cores}):
            print(
                f"bastion classify, 2,400 texts, --workers {workers}: "
                f"{cli_seconds(source, workers):.1f} s ({cores} cores)"
            )


def main() -> None:
    print(f"model load (both stages) + first text, fresh process: {load_seconds():.2f} s")
    cleared = median_ms(SIXTY_FOUR_TOKENS, 30)
    print(f"one 64-token text the first stage clears: median {cleared:.1f} ms")
    batch = [f"{SIXTY_FOUR_TOKENS} ({i})" for i in range(512)]
    started = time.perf_counter()
    classify_texts(batch, explain=False)
    elapsed = time.perf_counter() - started
    print(f"batch of 512 such texts: {len(batch) / elapsed:.0f} texts/s")
    # The second stage reads only texts the first one does not clear; these all reach it.
    print(
        f"one 64-token text both stages read: median {median_ms(CALL_SIXTY_FOUR_TOKENS, 10):.1f} ms"
    )
    flagged = [f"{CALL_SIXTY_FOUR_TOKENS} ({i})" for i in range(128)]
    started = time.perf_counter()
    read_again = classify_texts(flagged, explain=False)
    elapsed = time.perf_counter() - started
    print(
        f"batch of 128 such texts ({sum(r.band != 'none' for r in read_again)} flagged): "
        f"{128 / elapsed:.0f} texts/s"
    )

    workers_comparison()
    megabyte = megabyte_of_posts()
    started = time.perf_counter()
    classify_texts([megabyte], explain=False)
    print(f"one 1 MB text of everyday posts: {time.perf_counter() - started:.2f} s")

    # The test split of the dataset proper; the challenge sets are reported on their own.
    examples = [e for e in load_examples(training_files(Path("data/text"))) if e.split == "test"]
    started = time.perf_counter()
    results = classify_texts([e.text for e in examples], explain=False)
    elapsed = time.perf_counter() - started
    print(
        f"the test split ({len(examples)} texts, {sum(e.label == PROPAGANDA for e in examples)} "
        f"propaganda-style, the rest hard benign): {len(examples) / elapsed:.0f} texts/s"
    )
    started = time.perf_counter()
    classify_texts([e.text for e in examples], explain=False, windows=True)
    rate = len(examples) / (time.perf_counter() - started)
    print(f"the same with sentence windows on: {rate:.0f} texts/s")
    started = time.perf_counter()
    classify_texts([megabyte], explain=False, windows=True)
    print(f"one 1 MB text with sentence windows on: {time.perf_counter() - started:.2f} s")
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
