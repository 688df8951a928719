"""Exact Hamming-radius search over 256-bit PDQ hashes, updated in place.

Multi-index hashing: the 256 bits are cut into 11 chunks. If two hashes are within distance d,
then on some chunk c they differ in at most r_c bits, for any radii with sum(r_c + 1) > d (the
pigeonhole principle). A query therefore probes, on each chunk, every bucket key within r_c bits
of its own key, and checks the full distance of the rows it finds there. For threshold 31 that
is radius 2 on ten chunks and 1 on the eleventh; results are exact for every threshold 0..255
(segments fall back to a brute-force scan where that is cheaper).

Updates never rebuild the whole index (Meta's HMA does): new hashes go to a small delta scanned
by brute force, which is frozen into an indexed segment when full; segments of similar size are
merged LSM-style (tiered, so each hash is rebuilt O(log n) times); removals are tombstones that
queries skip and merges drop. Queries read an immutable snapshot of the segment list, so they
may run in many threads while one thread adds or removes.
"""

from __future__ import annotations

import functools
import itertools
import math
import os
import threading
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from bastion.indexes import _pdq_kernels as kernels
from bastion.indexes._pdq_kernels import I64, U8, U32, U64

HASH_BYTES = 32
MAX_THRESHOLD = 255
# Three chunks of 24 bits and eight of 23: the fewest chunks for which radius 2 reaches 31.
CHUNK_WIDTHS = (24, 24, 24, 23, 23, 23, 23, 23, 23, 23, 23)
CHUNK_STARTS = np.cumsum((0, *CHUNK_WIDTHS[:-1]), dtype=np.int64)
# Keys use the low bits of each chunk: about 8 buckets per hash (so most probes find an empty
# bucket without touching the rows), capped at 23 bits (a 2 MB table per chunk).
MAX_KEY_BITS = 23
MIN_KEY_BITS = 10
MAX_PROBE_RADIUS = 4
# The delta is scanned by brute force on every query: 4,096 rows cost ~5 us.
DELTA_CAPACITY = 4096
MERGE_FANOUT = 4
# Segments below this size build their chunk tables on one thread (threads cost more than the work).
_THREADED_BUILD_ROWS = 200_000

# Cost model for choosing between probing and scanning a segment, in ns, measured on a 2-core
# Xeon: a probed key whose table word is cached, a probed key that has rows (three cache misses
# and the verification), one row of a brute-force scan.
_PROBE_NS = 2.0
_OCCUPIED_PROBE_NS = 60.0
_SCAN_ROW_NS = 2.5

Match = tuple[int, int]


class PDQIndex:
    """Exact Hamming-radius index over 256-bit PDQ hashes, updated in place."""

    def __init__(self) -> None:
        warm_up()
        self._lock = threading.Lock()
        self._segments: list[_Segment] = []
        self._delta = _Delta()
        self._live = 0
        self._snapshot = _Snapshot((), self._delta, 0)

    def add(self, ids: NDArray[np.int64], hashes: NDArray[np.uint8]) -> None:
        """Add hashes ((n, 32) bytes in Meta's hex order) under ids not already in the index."""
        ids, words = _check_batch(ids, hashes)
        if ids.size == 0:
            return
        with self._lock:
            self._refuse_present(ids)
            if ids.size >= DELTA_CAPACITY:
                # A bulk load (start-up, a bank import) becomes one segment directly.
                self._segments.append(_Segment.build(ids, words))
                self._merge_tiers()
            else:
                if self._delta.count + ids.size > DELTA_CAPACITY:
                    self._freeze_delta()
                self._delta.append(ids, words)
            self._live += ids.size
            self._publish()

    def remove(self, ids: Iterable[int] | NDArray[np.int64]) -> int:
        """Remove the entries with these ids; return how many were present."""
        wanted = np.unique(_id_array(ids))
        with self._lock:
            removed = self._delta.remove(wanted)
            for segment in self._segments:
                removed += segment.remove(wanted)
            self._live -= removed
            self._compact()
            self._publish()
        return removed

    def query(self, digest: bytes, threshold: int) -> list[Match]:
        """Every (id, distance) with distance <= threshold, sorted by distance then id."""
        query = _digest_words(digest)
        _check_threshold(threshold)
        return _search(self._snapshot, query, threshold)

    def query_many(self, digests: NDArray[np.uint8], threshold: int) -> list[list[Match]]:
        """`query` for each row of an (n, 32) array of digests, against one snapshot."""
        words = _hash_words(digests, "digests")
        _check_threshold(threshold)
        snapshot = self._snapshot
        return [_search(snapshot, words[i : i + 1], threshold) for i in range(words.shape[0])]

    def __len__(self) -> int:
        return self._live

    def nbytes(self) -> int:
        """Bytes held by the index arrays (hashes, ids, tombstones, bucket tables, delta)."""
        snapshot = self._snapshot
        return snapshot.delta.nbytes() + sum(s.nbytes() for s in snapshot.segments)

    def _refuse_present(self, ids: I64) -> None:
        present = [s.ids[s.locate(ids)] for s in self._segments] + [self._delta.present(ids)]
        clashes = np.concatenate(present)
        if clashes.size:
            raise ValueError(
                f"{clashes.size} id(s) are already in the index (first: {int(clashes[0])}); "
                "remove them before adding them again."
            )

    def _freeze_delta(self) -> None:
        ids, words = self._delta.live_rows()
        if ids.size:
            self._segments.append(_Segment.build(ids, words))
        self._delta = _Delta()
        self._merge_tiers()

    def _merge_tiers(self) -> None:
        """Merge MERGE_FANOUT segments of one size tier into one, until no tier is full."""
        while True:
            tiers: dict[int, list[_Segment]] = {}
            for segment in self._segments:
                tiers.setdefault(_tier(segment.size), []).append(segment)
            full = next((group for group in tiers.values() if len(group) >= MERGE_FANOUT), None)
            if full is None:
                return
            self._replace(full, _Segment.merge(full))

    def _compact(self) -> None:
        """Rebuild segments that are mostly tombstones: dead rows cost memory and query time."""
        for segment in [s for s in self._segments if 2 * s.live < s.size]:
            self._replace([segment], _Segment.merge([segment]))
        self._merge_tiers()

    def _replace(self, old: Sequence[_Segment], new: _Segment | None) -> None:
        kept = [s for s in self._segments if all(s is not o for o in old)]
        self._segments = [*kept, new] if new is not None else kept

    def _publish(self) -> None:
        # One reference assignment: a query sees the state before or after, never half of it.
        self._snapshot = _Snapshot(tuple(self._segments), self._delta, self._delta.count)


@dataclass(frozen=True)
class _Snapshot:
    """What queries read: segments and the delta's filled prefix; rows there never change."""

    segments: tuple[_Segment, ...]
    delta: _Delta
    delta_count: int


class _Delta:
    """Recently added hashes, scanned by brute force; appended in place, replaced when frozen."""

    def __init__(self) -> None:
        self.hashes = np.zeros((DELTA_CAPACITY, 4), np.uint64)
        self.ids = np.zeros(DELTA_CAPACITY, np.int64)
        self.deleted = np.zeros(DELTA_CAPACITY, np.uint8)
        self.count = 0

    def append(self, ids: I64, words: U64) -> None:
        """Write rows after the published prefix, which concurrent queries may be reading."""
        end = self.count + ids.size
        self.hashes[self.count : end] = words
        self.ids[self.count : end] = ids
        self.count = end

    def _live_positions(self, ids: I64) -> I64:
        filled = self.ids[: self.count]
        mask = np.isin(filled, ids) & (self.deleted[: self.count] == 0)
        return np.flatnonzero(mask)

    def present(self, ids: I64) -> I64:
        """Those of `ids` that are live here."""
        return self.ids[self._live_positions(ids)]

    def remove(self, ids: I64) -> int:
        """Tombstone the live rows with these ids; return how many."""
        positions = self._live_positions(ids)
        self.deleted[positions] = 1
        return int(positions.size)

    def live_rows(self) -> tuple[I64, U64]:
        """Ids and hashes of the rows not removed."""
        keep = np.flatnonzero(self.deleted[: self.count] == 0)
        return self.ids[keep], self.hashes[keep]

    def search(self, query: U64, count: int, threshold: int) -> tuple[I64, I64]:
        """(ids, distances) within `threshold` among the first `count` rows."""
        rows, dists = kernels.scan(query, self.hashes, self.deleted, count, threshold)
        return self.ids[rows], dists

    def nbytes(self) -> int:
        """Bytes held by the delta's arrays."""
        return int(self.hashes.nbytes + self.ids.nbytes + self.deleted.nbytes)


@dataclass(eq=False)
class _Segment:
    """Hashes sorted by id with a bucket table per chunk; only its tombstones ever change."""

    ids: I64
    hashes: U64
    deleted: U8
    key_bits: int
    tables: U64
    first: U32
    first_base: I64
    rows: U32
    live: int

    @property
    def size(self) -> int:
        """Rows held, removed ones included."""
        return int(self.ids.size)

    @classmethod
    def build(cls, ids: I64, words: U64) -> _Segment:
        """Index unique ids and their hashes, which it takes over (no per-hash Python)."""
        if ids.size >= 2**32 - 1:
            raise ValueError("A segment holds fewer than 2**32 - 1 hashes.")
        if ids.size > 1 and not np.all(ids[1:] > ids[:-1]):
            order = np.argsort(ids, kind="stable")
            ids, words = ids[order], words[order]
        ids = np.array(ids, np.int64)  # the caller's array may be a view of its own data
        key_bits = _key_bits(ids.size)
        rows = np.empty((len(CHUNK_WIDTHS), ids.size), np.uint32)
        tables, firsts = _chunk_tables(words, key_bits, rows)
        bases = np.cumsum([0] + [f.size for f in firsts[:-1]], dtype=np.int64)
        return cls(
            ids=ids,
            hashes=words,
            deleted=np.zeros(ids.size, np.uint8),
            key_bits=key_bits,
            tables=np.stack(tables),
            first=np.concatenate(firsts),
            first_base=bases,
            rows=rows,
            live=int(ids.size),
        )

    @classmethod
    def merge(cls, segments: Sequence[_Segment]) -> _Segment | None:
        """One segment with the live rows of all of these; None if none is live."""
        keep = [np.flatnonzero(s.deleted == 0) for s in segments]
        ids = np.concatenate([s.ids[k] for s, k in zip(segments, keep, strict=True)])
        if ids.size == 0:
            return None
        words = np.concatenate([s.hashes[k] for s, k in zip(segments, keep, strict=True)])
        return cls.build(ids, words)

    def locate(self, ids: I64) -> I64:
        """Positions of the live rows whose id is in `ids`."""
        positions = np.searchsorted(self.ids, ids)
        inside = positions < self.ids.size
        positions = positions[inside]
        hit = (self.ids[positions] == ids[inside]) & (self.deleted[positions] == 0)
        found: I64 = positions[hit]
        return found

    def remove(self, ids: I64) -> int:
        """Tombstone the live rows with these ids; return how many."""
        positions = self.locate(ids)
        self.deleted[positions] = 1
        self.live -= int(positions.size)
        return int(positions.size)

    def search(self, query: U64, threshold: int) -> tuple[I64, I64]:
        """(ids, distances) of the live rows within `threshold`, by probing or by scanning."""
        mask_counts = _mask_counts(self.key_bits, threshold)
        if mask_counts is None or self._probe_cost(mask_counts) > self.size * _SCAN_ROW_NS:
            rows, dists = kernels.scan(query, self.hashes, self.deleted, self.size, threshold)
        else:
            rows, dists = self.probe(query, threshold, mask_counts)
        return self.ids[rows], dists

    def probe(self, query: U64, threshold: int, mask_counts: I64) -> tuple[I64, I64]:
        """(rows, distances) within `threshold`, found through the bucket tables."""
        masks = _flip_masks(self.key_bits, int(mask_counts.max()))
        found: tuple[I64, I64] = kernels.probe(
            query, self.hashes, self.deleted, self.tables, self.first, self.first_base,
            self.rows, CHUNK_STARTS, self.key_bits, masks, mask_counts, threshold,
        )  # fmt: skip
        return found

    def _probe_cost(self, mask_counts: I64) -> float:
        occupancy = min(1.0, self.size / (1 << self.key_bits))
        return float(mask_counts.sum()) * (_PROBE_NS + occupancy * _OCCUPIED_PROBE_NS)

    def nbytes(self) -> int:
        """Bytes held by the segment's arrays."""
        arrays = (self.ids, self.hashes, self.deleted, self.tables, self.first, self.rows)
        return sum(int(a.nbytes) for a in arrays) + int(self.first_base.nbytes)


def _chunk_tables(words: U64, key_bits: int, rows: U32) -> tuple[list[U64], list[U32]]:
    """Build every chunk's table; large segments use all cores (the kernels release the GIL)."""

    def build(chunk: int) -> tuple[U64, U32]:
        table, first = kernels.chunk_table(words, int(CHUNK_STARTS[chunk]), key_bits, rows[chunk])
        return table, first

    chunks = range(len(CHUNK_WIDTHS))
    workers = min(len(CHUNK_WIDTHS), os.cpu_count() or 1)
    if words.shape[0] < _THREADED_BUILD_ROWS or workers == 1:
        built = [build(chunk) for chunk in chunks]
    else:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            built = list(pool.map(build, chunks))
    return [t for t, _ in built], [f for _, f in built]


def _search(snapshot: _Snapshot, query: U64, threshold: int) -> list[Match]:
    parts = [s.search(query, threshold) for s in snapshot.segments if s.live]
    if snapshot.delta_count:
        parts.append(snapshot.delta.search(query, snapshot.delta_count, threshold))
    if not parts:
        return []
    ids = np.concatenate([p[0] for p in parts]) if len(parts) > 1 else parts[0][0]
    dists = np.concatenate([p[1] for p in parts]) if len(parts) > 1 else parts[0][1]
    order = np.lexsort((ids, dists))
    return list(zip(ids[order].tolist(), dists[order].tolist(), strict=True))


def _tier(size: int) -> int:
    """Size class of a segment: 0 up to DELTA_CAPACITY * MERGE_FANOUT rows, then one per factor."""
    tier, bound = 0, DELTA_CAPACITY * MERGE_FANOUT
    while size >= bound:
        tier, bound = tier + 1, bound * MERGE_FANOUT
    return tier


def _key_bits(size: int) -> int:
    wanted = math.ceil(math.log2(max(size, 2))) + 3
    return max(MIN_KEY_BITS, min(MAX_KEY_BITS, wanted))


def _radii(threshold: int) -> list[int]:
    """Per-chunk probe radius, -1 for chunks not probed, with sum(r + 1) = threshold + 1."""
    chunks = len(CHUNK_WIDTHS)
    base, extra = divmod(threshold + 1, chunks)
    return [base - 1 + (1 if chunk < extra else 0) for chunk in range(chunks)]


@functools.lru_cache(maxsize=1024)
def _mask_counts(key_bits: int, threshold: int) -> I64 | None:
    """How many flip masks each chunk probes at this threshold; None if scanning is needed."""
    radii = _radii(threshold)
    if max(radii) > MAX_PROBE_RADIUS:
        return None
    counts = [sum(math.comb(key_bits, i) for i in range(r + 1)) for r in radii]
    result = np.array(counts, np.int64)
    result.setflags(write=False)
    return result


@functools.lru_cache(maxsize=64)
def _flip_masks(key_bits: int, masks: int) -> I64:
    """The first `masks` key flips in order of bit count: 0, every single bit, every pair, ..."""
    flips: list[int] = []
    for bits in range(key_bits + 1):
        for combo in itertools.combinations(range(key_bits), bits):
            flips.append(sum(1 << b for b in combo))
            if len(flips) == masks:
                result = np.array(flips, np.int64)
                result.setflags(write=False)
                return result
    raise ValueError(f"There are only {len(flips)} flips of {key_bits} bits.")


def _check_threshold(threshold: int) -> None:
    if not isinstance(threshold, int | np.integer) or not 0 <= threshold <= MAX_THRESHOLD:
        raise ValueError(f"A PDQ threshold is an integer from 0 to 255; got {threshold!r}.")


def _digest_words(digest: bytes) -> U64:
    """A 32-byte digest as the (1, 4) uint64 array the kernels take."""
    if not isinstance(digest, bytes | bytearray | memoryview) or len(digest) != HASH_BYTES:
        size = len(digest) if isinstance(digest, bytes | bytearray | memoryview) else "not bytes"
        raise ValueError(f"A PDQ digest is {HASH_BYTES} bytes; got {size}.")
    return np.frombuffer(bytes(digest), dtype=np.uint64).reshape(1, 4).copy()


def _hash_words(hashes: NDArray[np.uint8], name: str) -> U64:
    """(n, 32) uint8 hashes as an owned, writable (n, 4) uint64 array."""
    array = np.asarray(hashes)
    if array.ndim != 2 or array.shape[1] != HASH_BYTES or array.dtype != np.uint8:
        raise ValueError(
            f"{name} must be an (n, {HASH_BYTES}) uint8 array; got {array.dtype} {array.shape}."
        )
    # Native-endian words: bank and queries are read the same way, so any byte order works.
    return np.array(array, dtype=np.uint8, order="C", copy=True).view(np.uint64)


def _id_array(ids: Iterable[int] | NDArray[np.int64]) -> I64:
    values = ids if isinstance(ids, np.ndarray) else list(ids)
    array = np.asarray(values, dtype=np.int64)
    if array.ndim != 1:
        raise ValueError(f"ids must be one-dimensional; got shape {array.shape}.")
    return array


def _check_batch(ids: NDArray[np.int64], hashes: NDArray[np.uint8]) -> tuple[I64, U64]:
    """Validate an `add` batch: unique non-negative ids, one (32-byte) hash per id."""
    id_values = _id_array(ids)
    words = _hash_words(hashes, "hashes")
    if id_values.size != words.shape[0]:
        raise ValueError(f"Got {id_values.size} ids for {words.shape[0]} hashes.")
    if id_values.size and int(id_values.min()) < 0:
        raise ValueError("Ids must be non-negative.")
    increasing = id_values.size < 2 or bool(np.all(id_values[1:] > id_values[:-1]))
    if not increasing and np.unique(id_values).size != id_values.size:
        raise ValueError("The batch repeats an id; each id may be added once.")
    return id_values, words


_warmed = False


def warm_up() -> None:
    """Compile (or load from numba's cache) every kernel now, so no query pays for the JIT."""
    global _warmed
    if _warmed:
        return
    words = np.random.default_rng(0).integers(0, 2**63, size=(64, 4)).astype(np.uint64)
    segment = _Segment.build(np.arange(64, dtype=np.int64), words)
    query = words[:1].copy()
    mask_counts = _mask_counts(segment.key_bits, 31)
    assert mask_counts is not None
    segment.probe(query, 31, mask_counts)
    kernels.scan(query, segment.hashes, segment.deleted, segment.size, 31)
    _warmed = True
