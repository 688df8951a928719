"""A compact LSH index of MinHash signatures: 42 bands of 3 values, exact verification.

Each signature is cut into 42 bands of three 16-bit values; two signatures become candidates
when any band is equal (probability 1 - (1 - J^3)^42: 99.6% at Jaccard 0.5, 0.03% at 0.02),
and every candidate is verified on its full signature. Band keys live in one sorted uint64
array (plus a small unsorted tail merged when it grows), so memory is about 760 bytes a
signature: 1M chunks in well under 1 GB, where datasketch's MinHashLSH needs 3.7-8.9 KB each.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

ROWS = 3
BANDS = 42
_MERGE_MIN = 65_536

U16 = NDArray[np.uint16]
U64 = NDArray[np.uint64]
I64 = NDArray[np.int64]
I32 = NDArray[np.int32]


@dataclass(frozen=True)
class TextHit:
    """A stored signature similar to the query."""

    id: int
    similarity: float
    shingles: int


def band_keys(signatures: U16) -> U64:
    """(n, BANDS) keys: three 16-bit values and the band number, mixed into 64 bits."""
    values = signatures[:, : BANDS * ROWS].astype(np.uint64).reshape(-1, BANDS, ROWS)
    key = values[:, :, 0] | (values[:, :, 1] << np.uint64(16)) | (values[:, :, 2] << np.uint64(32))
    key |= np.arange(BANDS, dtype=np.uint64)[None, :] << np.uint64(48)
    return _mix(key)


def _mix(x: U64) -> U64:
    x = x ^ (x >> np.uint64(30))
    x = x * np.uint64(0xBF58476D1CE4E5B9)
    x = x ^ (x >> np.uint64(27))
    x = x * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


class TextIndex:
    """Signatures by id; `query` returns the verified similar ones."""

    def __init__(self) -> None:
        self._ids: I64 = np.empty(0, dtype=np.int64)
        self._signatures: U16 = np.empty((0, 128), dtype=np.uint16)
        self._shingles: I32 = np.empty(0, dtype=np.int32)
        self._alive = np.empty(0, dtype=bool)
        self._count = 0
        self._keys: U64 = np.empty(0, dtype=np.uint64)
        self._rows: I32 = np.empty(0, dtype=np.int32)
        self._tail_keys: U64 = np.empty(0, dtype=np.uint64)
        self._tail_rows: I32 = np.empty(0, dtype=np.int32)
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return int(self._alive[: self._count].sum())

    def nbytes(self) -> int:
        """Memory held by the index's arrays."""
        arrays = (self._ids, self._signatures, self._shingles, self._alive, self._keys, self._rows)
        return sum(a.nbytes for a in arrays) + self._tail_keys.nbytes + self._tail_rows.nbytes

    def add(self, ids: I64, signatures: U16, shingles: I32) -> None:
        """Add signatures under their ids (ids must be new)."""
        if len(ids) == 0:
            return
        with self._lock:
            first = self._count
            self._grow(first + len(ids))
            stop = first + len(ids)
            self._ids[first:stop] = ids
            self._signatures[first:stop] = signatures
            self._shingles[first:stop] = shingles
            self._alive[first:stop] = True
            self._count = stop
            keys = band_keys(signatures).ravel()
            rows = np.repeat(np.arange(first, stop, dtype=np.int32), BANDS)
            # One tail array (not one per add): entries often arrive one at a time, and a
            # query must not loop over thousands of small arrays.
            self._tail_keys = np.concatenate([self._tail_keys, keys])
            self._tail_rows = np.concatenate([self._tail_rows, rows])
            if len(self._tail_keys) >= max(_MERGE_MIN, len(self._keys) // 8):
                self._merge()

    def remove(self, ids: I64) -> int:
        """Forget signatures by id; returns how many were present."""
        with self._lock:
            rows = np.flatnonzero(
                np.isin(self._ids[: self._count], ids) & self._alive[: self._count]
            )
            self._alive[rows] = False
            return len(rows)

    def query(self, signature: U16, min_similarity: float) -> list[TextHit]:
        """Stored signatures whose estimated Jaccard similarity is at least `min_similarity`."""
        return self.query_many(signature[None, :], min_similarity)[0]

    def query_many(self, signatures: U16, min_similarity: float) -> list[list[TextHit]]:
        """`query` for many signatures at once (the windows of one text), vectorised."""
        count = len(signatures)
        keys = band_keys(signatures).ravel()
        owners = np.repeat(np.arange(count, dtype=np.int64), BANDS)
        with self._lock:
            queries, rows = self._candidates(keys, owners)
            pairs = np.unique(queries * (1 << 32) + rows) if len(rows) else np.empty(0, np.int64)
            queries, rows = pairs >> 32, (pairs & 0xFFFFFFFF).astype(np.int64)
            live = self._alive[rows]
            queries, rows = queries[live], rows[live]
            agree = np.count_nonzero(self._signatures[rows] == signatures[queries], axis=1)
            similarity = np.maximum(0.0, (agree / 128.0 - 1 / 65536) / (1 - 1 / 65536))
            keep = similarity >= min_similarity
            out: list[list[TextHit]] = [[] for _ in range(count)]
            for q, i, sim, n in zip(
                queries[keep].tolist(),
                self._ids[rows[keep]].tolist(),
                similarity[keep].tolist(),
                self._shingles[rows[keep]].tolist(),
                strict=True,
            ):
                out[q].append(TextHit(i, sim, n))
            return out

    def _candidates(self, keys: U64, owners: I64) -> tuple[I64, I64]:
        """(query, row) pairs whose band keys are equal, from the sorted part and the tail."""
        found_queries, found_rows = [], []
        if len(self._keys):
            lows = np.searchsorted(self._keys, keys, side="left")
            counts = np.searchsorted(self._keys, keys, side="right") - lows
            hit = counts > 0
            if hit.any():
                counts, lows, who = counts[hit], lows[hit], owners[hit]
                total = int(counts.sum())
                offsets = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
                found_rows.append(self._rows[np.repeat(lows, counts) + offsets].astype(np.int64))
                found_queries.append(np.repeat(who, counts))
        if len(self._tail_keys):
            order = np.argsort(keys)
            sorted_keys = keys[order]
            position = np.searchsorted(sorted_keys, self._tail_keys)
            position = np.minimum(position, len(sorted_keys) - 1)
            match = sorted_keys[position] == self._tail_keys
            # Each tail key matched here belongs to every query with that key; duplicates of
            # one key across queries are rare (they are windows of one text), so take the run.
            for tail_index in np.flatnonzero(match).tolist():
                key = self._tail_keys[tail_index]
                lo = int(position[tail_index])
                hi = int(np.searchsorted(sorted_keys, key, side="right"))
                found_queries.append(owners[order[lo:hi]])
                found_rows.append(np.full(hi - lo, self._tail_rows[tail_index], dtype=np.int64))
        if not found_rows:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
        return np.concatenate(found_queries), np.concatenate(found_rows)

    def _grow(self, needed: int) -> None:
        capacity = len(self._ids)
        if needed <= capacity:
            return
        size = max(needed, capacity * 2, 1024)
        self._ids = np.resize(self._ids, size)
        self._signatures = np.resize(self._signatures, (size, 128))
        self._shingles = np.resize(self._shingles, size)
        alive = np.zeros(size, dtype=bool)
        alive[:capacity] = self._alive[:capacity]
        self._alive = alive

    def _merge(self) -> None:
        live = self._alive[self._rows] if len(self._rows) else np.empty(0, dtype=bool)
        keys = np.concatenate([self._keys[live], self._tail_keys])
        rows = np.concatenate([self._rows[live], self._tail_rows])
        order = np.argsort(keys, kind="stable")
        self._keys, self._rows = keys[order], rows[order]
        self._tail_keys = np.empty(0, dtype=np.uint64)
        self._tail_rows = np.empty(0, dtype=np.int32)
