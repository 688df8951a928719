"""The classifier's three batch rates (cleared 64-token texts, texts both stages read, the
test split), best of two, for comparing commits in alternating fresh processes on a noisy
machine:

    git worktree add /tmp/old <commit>
    for i in 1 2 3 4; do
      PYTHONPATH=/tmp/old/src .venv/bin/python benchmarks/classifier_batches.py old
      .venv/bin/python benchmarks/classifier_batches.py new
    done
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bastion.classify.classifier import classify_texts, warm
from bastion.classify.dataset import load_examples, training_files
from bench_classifier import CALL_SIXTY_FOUR_TOKENS, SIXTY_FOUR_TOKENS


def main(label: str) -> None:
    """Print the label and the three rates, texts per second."""
    warm()
    data = Path(__file__).parents[1] / "data" / "text"
    test = [e.text for e in load_examples(training_files(data)) if e.split == "test"]
    rates = []
    for name, batch in [
        ("cleared512", [f"{SIXTY_FOUR_TOKENS} ({i})" for i in range(512)]),
        ("both128", [f"{CALL_SIXTY_FOUR_TOKENS} ({i})" for i in range(128)]),
        ("test", test),
    ]:
        classify_texts(batch[:4], explain=False)
        best = float("inf")
        for _ in range(2):
            started = time.perf_counter()
            classify_texts(batch, explain=False)
            best = min(best, time.perf_counter() - started)
        rates.append(f"{name} {len(batch) / best:.0f}/s")
    print(label, " ".join(rates), flush=True)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "")
