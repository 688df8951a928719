"""Sparse lexical features of a normalised text, hashed into a fixed space (no vocabulary to
ship): character 2-5-grams within word boundaries and word 1-2-grams, log-scaled counts,
L2-normalised per kind. The same code builds training matrices and scores texts, and
long_texts.py ranks the sentences of long texts with the same buckets (`char_buckets`,
`word_bucket`, `bigram_bucket`).

A key is the CRC-32 of a kind prefix ("c", "w", "b") and the gram, masked to BITS bits. The
shipped model's weights are indexed by these buckets: changing how a key is hashed retrains.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from itertools import pairwise

import numpy as np
from numpy.typing import NDArray

BITS = 18
SIZE = 1 << BITS
_MASK = SIZE - 1
CHAR_RANGE = (2, 5)
# CRC-32 continues over concatenated bytes, so crc32(gram, crc32(prefix)) is the CRC of
# prefix + gram without building the string.
_CHAR = zlib.crc32(b"c")
_WORD = zlib.crc32(b"w")
# Tokens whose n-gram buckets are remembered: words of up to _TOKEN_CHARS characters (at most
# 78 buckets, ~0.8 KB with the key), up to _TOKEN_LIMIT of them (~25 MB at worst, ~8 MB of
# ordinary words). The common words of the three languages fit; longer tokens and a flood of
# junk are hashed each time.
_TOKEN_CHARS = 20
_TOKEN_LIMIT = 30_000
_TOKEN_BUCKETS: dict[str, NDArray[np.int64]] = {}


def features(normal: str) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
    """Feature indices and values of a normalised text (indices unique, sorted)."""
    tokens = normal.split()
    # Each distinct token's n-grams are hashed once and counted as often as the token occurs.
    occurrences: dict[str, int] = {}
    for token in tokens:
        occurrences[token] = occurrences.get(token, 0) + 1
    buckets, counts = char_buckets(list(occurrences))
    repeats = np.array(list(occurrences.values()), dtype=np.int64)
    words = [word_bucket(t) for t in tokens] + [bigram_bucket(a, b) for a, b in pairwise(tokens)]
    parts = [
        _scaled(buckets, np.repeat(repeats, counts)),
        _scaled(np.array(words, dtype=np.int64), np.ones(len(words), dtype=np.int64)),
    ]
    indices = np.concatenate([p[0] for p in parts])
    values = np.concatenate([p[1] for p in parts])
    if len(indices) == 0:
        return indices, values
    order = np.argsort(indices, kind="stable")
    indices, values = indices[order], values[order]
    unique, starts = np.unique(indices, return_index=True)
    return unique, np.add.reduceat(values, starts).astype(np.float32)


def char_buckets(tokens: Sequence[str]) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """The buckets of every token's character n-grams (the token padded with a space on each
    side), token after token, and how many each token has."""
    # Words recur (Zipf): a token's n-grams are hashed once and remembered, up to a bound.
    known: dict[str, NDArray[np.int64]] = {}
    missing = []
    for token in tokens:
        found = _TOKEN_BUCKETS.get(token)
        if found is None:
            missing.append(token)
        else:
            known[token] = found
    missing = list(dict.fromkeys(missing))
    if missing:
        hashed, counts = _hash_char_grams(missing)
        for token, part in zip(missing, np.split(hashed, np.cumsum(counts)[:-1]), strict=True):
            known[token] = part
            if len(token) <= _TOKEN_CHARS and len(_TOKEN_BUCKETS) < _TOKEN_LIMIT:
                # A copy: a view would keep this call's whole array alive.
                _TOKEN_BUCKETS[token] = remembered = part.copy()
                remembered.flags.writeable = False
    parts = [known[token] for token in tokens]
    sizes = np.fromiter((len(part) for part in parts), np.int64, len(parts))
    if not parts:
        return np.empty(0, dtype=np.int64), sizes
    return np.concatenate(parts), sizes


def _hash_char_grams(tokens: list[str]) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    low, high = CHAR_RANGE
    padded = [f" {token} " for token in tokens]
    sizes = np.array([len(p) for p in padded], dtype=np.int64).reshape(-1, 1)
    counts = np.maximum(sizes - np.arange(low, high + 1) + 1, 0).sum(axis=1)
    # n-grams of characters, not of bytes: slice the text, then encode each gram.
    grams = (
        p[i : i + n].encode()
        for p in padded
        for n in range(low, high + 1)
        for i in range(len(p) - n + 1)
    )
    hashed = np.fromiter((zlib.crc32(g, _CHAR) & _MASK for g in grams), np.int64, int(counts.sum()))
    return hashed, counts.astype(np.int64)


def word_bucket(token: str) -> int:
    """The bucket of a word unigram."""
    return zlib.crc32(token.encode(), _WORD) & _MASK


def bigram_bucket(first: str, second: str) -> int:
    """The bucket of a word bigram."""
    return zlib.crc32(second.encode(), bigram_prefix(first)) & _MASK


def bigram_prefix(first: str) -> int:
    """The CRC of a bigram's key up to its second word (for hashing many bigrams that start
    with the same word: `zlib.crc32(second, prefix) & (SIZE - 1)`)."""
    return zlib.crc32(f"b{first} ".encode())


def _scaled(
    buckets: NDArray[np.int64], weights: NDArray[np.int64]
) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
    """Distinct buckets with 1 + log(count), L2-normalised; `weights` counts each entry."""
    if not len(buckets):
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
    unique, inverse = np.unique(buckets, return_inverse=True)
    counts = np.bincount(inverse, weights=weights)
    values = (1.0 + np.log(counts)).astype(np.float32)
    values /= np.float32(np.linalg.norm(values) or 1.0)
    return unique, values
