"""Sparse lexical features of a normalised text, hashed into a fixed space (no vocabulary to
ship): character 2-5-grams within word boundaries and word 1-2-grams, log-scaled counts,
L2-normalised per kind. The same code builds training matrices and scores texts."""

from __future__ import annotations

import zlib
from itertools import pairwise

import numpy as np
from numpy.typing import NDArray

BITS = 18
SIZE = 1 << BITS
_MASK = SIZE - 1
CHAR_RANGE = (2, 5)


def features(normal: str) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
    """Feature indices and values of a normalised text (indices unique, sorted)."""
    tokens = normal.split()
    char_keys = [
        f"c{gram}"
        for token in tokens
        for padded in (f" {token} ",)
        for n in range(CHAR_RANGE[0], CHAR_RANGE[1] + 1)
        for gram in (padded[i : i + n] for i in range(max(len(padded) - n + 1, 0)))
    ]
    word_keys = [f"w{t}" for t in tokens] + [f"b{a} {b}" for a, b in pairwise(tokens)]
    parts = [_hashed(char_keys), _hashed(word_keys)]
    indices = np.concatenate([p[0] for p in parts])
    values = np.concatenate([p[1] for p in parts])
    if len(indices) == 0:
        return indices, values
    order = np.argsort(indices, kind="stable")
    indices, values = indices[order], values[order]
    unique, starts = np.unique(indices, return_index=True)
    return unique, np.add.reduceat(values, starts).astype(np.float32)


def _hashed(keys: list[str]) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
    if not keys:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
    hashed = np.fromiter(
        (zlib.crc32(k.encode("utf-8")) & _MASK for k in keys), dtype=np.int64, count=len(keys)
    )
    unique, counts = np.unique(hashed, return_counts=True)
    values = (1.0 + np.log(counts)).astype(np.float32)
    values /= np.float32(np.linalg.norm(values) or 1.0)
    return unique, values
