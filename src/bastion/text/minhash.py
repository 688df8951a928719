"""Near-duplicate signatures of text: MinHash over word 3-shingles, in chunks.

A signature is 128 minimums of independent 64-bit hashes of the text's shingles; the share of
positions where two signatures agree estimates the Jaccard similarity of the two shingle sets.
Only the low 16 bits of each minimum are kept (b-bit MinHash): 256 bytes a signature, and a
chance agreement of 1 in 65,536 that `jaccard` corrects for.

Long texts are cut into overlapping chunks of `CHUNK_WORDS` words, so a copy of one page of a
long document, or a short post pasted inside a long one, still overlaps one chunk heavily.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np
from numba import njit
from numpy.typing import NDArray

from bastion.text.normalize import normalize_text, words

PERMUTATIONS = 128
SHINGLE = 3
CHUNK_WORDS = 120
CHUNK_STRIDE = 60
# Queries are also cut into smaller windows: a short known post pasted inside a long one
# shares few shingles with a 120-word chunk, but nearly all with a window of about its size.
QUERY_WINDOWS = ((40, 20), (12, 4))
# Small windows are made from this many words at most (a 1 MB text has ~150,000).
MAX_WINDOW_WORDS = 20_000
# A chunk with at most this many shingles is a small window: it may find a short known post
# inside it, but a known document is never said to contain it (common phrases would match).
SMALL_CHUNK = 12 - SHINGLE + 1
# Fewer words than this make too few shingles for a similarity estimate to mean anything;
# such texts match only exactly (by the digest of their normal form).
MIN_WORDS = 8
_CHANCE = 1.0 / 65536.0

U16 = NDArray[np.uint16]
U64 = NDArray[np.uint64]

_SEEDS = np.random.default_rng(20261124).integers(1, 2**63, size=PERMUTATIONS, dtype=np.uint64)


@dataclass(frozen=True)
class Chunk:
    """One window of a text: where it starts (in words), how many shingles, its signature."""

    start: int
    shingles: int
    signature: U16


def token_hashes(tokens: list[str]) -> U64:
    """A stable 64-bit hash per token (two CRC-32s: fast, and the same in every process)."""
    out = np.empty(len(tokens), dtype=np.uint64)
    for i, token in enumerate(tokens):
        raw = token.encode("utf-8")
        out[i] = (zlib.crc32(raw) << 32) | zlib.crc32(raw, 0x9747B28C)
    return out


@njit(cache=True, nogil=True)
def _mix(x: np.uint64) -> np.uint64:  # pragma: no cover - compiled
    # splitmix64's finaliser: a fast, well-spread 64-bit mixing function.
    x ^= x >> np.uint64(30)
    x *= np.uint64(0xBF58476D1CE4E5B9)
    x ^= x >> np.uint64(27)
    x *= np.uint64(0x94D049BB133111EB)
    x ^= x >> np.uint64(31)
    return x


@njit(cache=True, nogil=True)
def _signature(
    tokens: U64, start: int, stop: int, seeds: U64
) -> tuple[U16, int]:  # pragma: no cover
    count = max(stop - start - SHINGLE + 1, 1)
    shingles = np.empty(count, dtype=np.uint64)
    for i in range(count):
        h = np.uint64(0x84222325CBF29CE4)
        for j in range(min(SHINGLE, stop - start - i)):
            h = _mix(h ^ tokens[start + i + j])
        shingles[i] = h
    out = np.empty(seeds.shape[0], dtype=np.uint16)
    for p in range(seeds.shape[0]):
        best = np.uint64(0xFFFFFFFFFFFFFFFF)
        seed = seeds[p]
        for i in range(count):
            v = _mix(shingles[i] ^ seed)
            if v < best:
                best = v
        out[p] = np.uint16(best >> np.uint64(48))
    # Distinct shingles, not positions: repetitive texts must not inflate containment.
    return out, len(np.unique(shingles))


def chunk_signatures(text: str, *, normal: str | None = None, query: bool = False) -> list[Chunk]:
    """Signatures of the text's chunks (plus small windows for a long query); empty when the
    text is too short to compare."""
    tokens = words(normal if normal is not None else normalize_text(text, links=True))
    if len(tokens) < MIN_WORDS:
        return []
    hashed = token_hashes(tokens)
    chunks = _windows(hashed, CHUNK_WORDS, CHUNK_STRIDE)
    if query:
        for size, stride in QUERY_WINDOWS:
            if len(tokens) > size + stride:
                chunks += _windows(hashed[:MAX_WINDOW_WORDS], size, stride)
    return chunks


def _windows(hashed: U64, size: int, stride: int) -> list[Chunk]:
    count = len(hashed)
    starts = list(range(0, max(count - size, 0) + 1, stride))
    if starts[-1] + size < count:
        starts.append(count - size)
    chunks = []
    for start in starts:
        stop = min(start + size, count)
        signature, distinct = _signature(hashed, start, stop, _SEEDS)
        chunks.append(Chunk(start, distinct, signature))
    return chunks


def jaccard(a: U16, b: U16) -> float:
    """Estimated Jaccard similarity of two signatures' shingle sets."""
    agree = float(np.count_nonzero(a == b)) / a.shape[0]
    return float(max(0.0, (agree - _CHANCE) / (1.0 - _CHANCE)))


def containment(similarity: float, shingles_a: int, shingles_b: int) -> float:
    """Share of A's shingles found in B, from their Jaccard similarity and sizes."""
    if similarity <= 0.0:
        return 0.0
    shared = similarity * (shingles_a + shingles_b) / (1.0 + similarity)
    return min(1.0, shared / max(shingles_a, 1))


def to_hex(signature: U16) -> str:
    """Signature as stored: 512 hex digits, little-endian 16-bit words."""
    return signature.astype("<u2").tobytes().hex()


def from_hex(value: str) -> U16:
    """A stored signature back to an array."""
    return np.frombuffer(bytes.fromhex(value), dtype="<u2").astype(np.uint16)
