"""Numba kernels behind `PDQIndex`: bucket tables, bucket probing and brute-force scans.

Hashes are (n, 4) uint64 arrays; a query is a (1, 4) uint64 array, so one key routine serves both.
Every kernel is single-threaded and releases the GIL, so queries from several threads run at once.

A segment keeps, for each of its chunks, a bucket table over the low `key_bits` bits of the chunk:
- `table[word]` = (occupancy bits of 64 consecutive keys, number of occupied keys before them),
  so "is this key empty?" costs one read of a table small enough to stay in cache (2 MB per
  chunk at 23 bits) and the rank of an occupied key is one popcount away;
- `first[rank]` = where the rows of the rank-th occupied key start in `rows` (rows sorted by key).
Most probed keys are empty, so most probes end at the table without touching main memory.
"""

from __future__ import annotations

from typing import Any

import llvmlite.ir as llvm_ir  # type: ignore[import-untyped]
import numpy as np
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic
from numpy.typing import NDArray

U64 = NDArray[np.uint64]
U32 = NDArray[np.uint32]
I64 = NDArray[np.int64]
U8 = NDArray[np.uint8]

_SCAN_CAPACITY = 256
_ONE = np.uint64(1)


def _popcount_typer(typingctx: Any, value: Any) -> Any:
    """LLVM ctpop on a uint64: one POPCNT instruction on x86-64 (numba has no popcount)."""
    if value != types.uint64:
        return None

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        return builder.ctpop(args[0])

    return types.uint64(types.uint64), codegen


def _prefetch_typer(typingctx: Any, array: Any, index: Any) -> Any:
    """Ask the CPU to start loading `array.flat[index]`; it never faults and returns nothing."""
    if not isinstance(array, types.Array) or not isinstance(index, types.Integer):
        return None

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        data = context.make_array(signature.args[0])(context, builder, args[0]).data
        byte_ptr = llvm_ir.IntType(8).as_pointer()
        i32 = llvm_ir.IntType(32)
        fn_type = llvm_ir.FunctionType(llvm_ir.VoidType(), [byte_ptr, i32, i32, i32])
        fn = cgutils.get_or_insert_function(  # type: ignore[no-untyped-call]
            builder.module, fn_type, "llvm.prefetch.p0i8"
        )
        address = builder.bitcast(builder.gep(data, [args[1]]), byte_ptr)
        # read (0), keep in all cache levels (3), data cache (1)
        builder.call(fn, [address, i32(0), i32(3), i32(1)])
        return context.get_dummy_value()

    return types.void(array, index), codegen


# Typed as Any: called only from numba code, where they take one fewer argument than defined.
_popcount: Any = intrinsic(_popcount_typer)
_prefetch: Any = intrinsic(_prefetch_typer)


@njit(cache=True, nogil=True, inline="always")
def _distance(hashes: U64, row: int, query: U64) -> int:
    return int(
        _popcount(hashes[row, 0] ^ query[0, 0])
        + _popcount(hashes[row, 1] ^ query[0, 1])
        + _popcount(hashes[row, 2] ^ query[0, 2])
        + _popcount(hashes[row, 3] ^ query[0, 3])
    )


@njit(cache=True, nogil=True, inline="always")
def _key(hashes: U64, row: int, start: int, key_bits: int) -> int:
    """Bits [start, start + key_bits) of the 256-bit little-endian number in `hashes[row]`."""
    # Everything stays uint64: numba turns uint64-with-int64 arithmetic into float64.
    word = start >> 6
    offset = np.uint64(start & 63)
    value = hashes[row, word] >> offset
    if (start & 63) + key_bits > 64:
        value |= hashes[row, word + 1] << (np.uint64(64) - offset)
    return int(value & ((_ONE << np.uint64(key_bits)) - _ONE))


@njit(cache=True, nogil=True)
def chunk_table(hashes: U64, start: int, key_bits: int, rows: U32) -> tuple[U64, U32]:
    """Bucket one chunk: fill `rows` with row numbers sorted by key; return (table, first)."""
    n = hashes.shape[0]
    keys = np.empty(n, np.int64)
    # counts[key + 1] holds the key's row count, then (after the prefix sum) where it ends.
    counts = np.zeros((1 << key_bits) + 1, np.int64)
    for row in range(n):
        keys[row] = _key(hashes, row, start, key_bits)
        counts[keys[row] + 1] += 1
    table, distinct = _occupancy(counts[1:])
    for key in range(1 << key_bits):
        counts[key + 1] += counts[key]
    first = np.empty(distinct + 1, np.uint32)
    rank = 0
    for key in range(1 << key_bits):
        if counts[key + 1] > counts[key]:
            first[rank] = counts[key]
            rank += 1
    first[distinct] = n
    # Counting sort: rows stay ascending within a key, so reads of a bucket's hashes move forward.
    for row in range(n):
        rows[counts[keys[row]]] = row
        counts[keys[row]] += 1
    return table, first


@njit(cache=True, nogil=True)
def _occupancy(counts: I64) -> tuple[U64, int]:
    """The (occupancy bits, rank before) table of per-key row counts, and how many keys are used."""
    table = np.zeros((counts.shape[0] >> 6, 2), np.uint64)
    rank = 0
    for word in range(table.shape[0]):
        table[word, 1] = rank
        bits = np.uint64(0)
        for bit in range(64):
            if counts[(word << 6) + bit] > 0:
                bits |= _ONE << np.uint64(bit)
                rank += 1
        table[word, 0] = bits
    return table, rank


@njit(cache=True, nogil=True)
def probe(
    query: U64,
    hashes: U64,
    deleted: U8,
    tables: U64,
    first: U32,
    first_base: I64,
    rows: U32,
    starts: I64,
    key_bits: int,
    masks: I64,
    mask_counts: I64,
    threshold: int,
) -> tuple[I64, I64]:
    """(rows, distances) of the live rows within `threshold` of `query`, each row once.

    Chunk c is probed with the first `mask_counts[c]` of `masks`: every flip of at most r_c key
    bits, sorted by bit count. The caller picks the r_c so that the pigeonhole makes this exact.
    """
    chunks = starts.shape[0]
    query_keys = np.empty(chunks, np.int64)
    radii = np.full(chunks, -1, np.int64)
    for chunk in range(chunks):
        query_keys[chunk] = _key(query, 0, starts[chunk], key_bits)
        if mask_counts[chunk] > 0:
            radii[chunk] = _popcount(np.uint64(masks[mask_counts[chunk] - 1]))
    # Three passes over independent loads instead of one loop of dependent ones: the CPU then
    # keeps many cache misses in flight (measured 2x faster at 1M hashes), helped by prefetches.
    ranks, rank_chunks = _occupied_keys(tables, first, first_base, query_keys, masks, mask_counts)
    found_rows, found_chunks = _candidates(first, rows, hashes, ranks, rank_chunks)
    return _verify(
        query,
        hashes,
        deleted,
        starts,
        key_bits,
        query_keys,
        radii,
        found_rows,
        found_chunks,
        threshold,
    )


@njit(cache=True, nogil=True, inline="always")
def _occupied_keys(
    tables: U64, first: U32, first_base: I64, query_keys: I64, masks: I64, mask_counts: I64
) -> tuple[I64, I64]:
    """Positions in `first` of every probed key that has rows, with the chunk it belongs to."""
    ranks = np.empty(mask_counts.sum(), np.int64)
    rank_chunks = np.empty(ranks.shape[0], np.int64)
    count = 0
    for chunk in range(query_keys.shape[0]):
        for index in range(mask_counts[chunk]):
            key = query_keys[chunk] ^ masks[index]
            bit = np.uint64(key & 63)
            bits = tables[chunk, key >> 6, 0]
            if (bits >> bit) & _ONE:
                before = tables[chunk, key >> 6, 1] + _popcount(bits & ((_ONE << bit) - _ONE))
                rank = first_base[chunk] + np.int64(before)
                _prefetch(first, rank)
                ranks[count] = rank
                rank_chunks[count] = chunk
                count += 1
    return ranks[:count], rank_chunks[:count]


@njit(cache=True, nogil=True, inline="always")
def _candidates(
    first: U32, rows: U32, hashes: U64, ranks: I64, rank_chunks: I64
) -> tuple[I64, I64]:
    """Every row in the given buckets, with the chunk whose probe found it."""
    n = rows.shape[1]
    total = 0
    for index in range(ranks.shape[0]):
        begin = int(first[ranks[index]])
        total += int(first[ranks[index] + 1]) - begin
        _prefetch(rows, rank_chunks[index] * n + begin)
    found_rows = np.empty(total, np.int64)
    found_chunks = np.empty(total, np.int64)
    count = 0
    for index in range(ranks.shape[0]):
        chunk = rank_chunks[index]
        for slot in range(first[ranks[index]], first[ranks[index] + 1]):
            row = np.int64(rows[chunk, slot])
            _prefetch(hashes, row * 4)
            found_rows[count] = row
            found_chunks[count] = chunk
            count += 1
    return found_rows, found_chunks


@njit(cache=True, nogil=True, inline="always")
def _verify(
    query: U64,
    hashes: U64,
    deleted: U8,
    starts: I64,
    key_bits: int,
    query_keys: I64,
    radii: I64,
    candidates: I64,
    candidate_chunks: I64,
    threshold: int,
) -> tuple[I64, I64]:
    """The candidates within `threshold`, live, and not already reported by an earlier chunk."""
    found_rows = np.empty(candidates.shape[0], np.int64)
    found_dists = np.empty(candidates.shape[0], np.int64)
    count = 0
    for index in range(candidates.shape[0]):
        row = candidates[index]
        dist = _distance(hashes, row, query)
        if dist > threshold or deleted[row]:
            continue
        if _reached_earlier(
            hashes, row, starts, key_bits, query_keys, radii, candidate_chunks[index]
        ):
            continue
        found_rows[count] = row
        found_dists[count] = dist
        count += 1
    return found_rows[:count], found_dists[:count]


@njit(cache=True, nogil=True, inline="always")
def _reached_earlier(
    hashes: U64, row: int, starts: I64, key_bits: int, query_keys: I64, radii: I64, chunk: int
) -> bool:
    """Whether an earlier chunk's probe reached this row too: that chunk reports it instead."""
    for earlier in range(chunk):
        key = _key(hashes, row, starts[earlier], key_bits)
        if np.int64(_popcount(np.uint64(key ^ query_keys[earlier]))) <= radii[earlier]:
            return True
    return False


@njit(cache=True, nogil=True)
def scan(query: U64, hashes: U64, deleted: U8, count: int, threshold: int) -> tuple[I64, I64]:
    """Brute force over the first `count` rows: every live row within `threshold` of `query`."""
    found_rows = np.empty(_SCAN_CAPACITY, np.int64)
    found_dists = np.empty(_SCAN_CAPACITY, np.int64)
    found = _scan_into(query, hashes, deleted, count, threshold, found_rows, found_dists)
    if found > _SCAN_CAPACITY:
        found_rows = np.empty(found, np.int64)
        found_dists = np.empty(found, np.int64)
        _scan_into(query, hashes, deleted, count, threshold, found_rows, found_dists)
    return found_rows[:found], found_dists[:found]


@njit(cache=True, nogil=True)
def _scan_into(
    query: U64,
    hashes: U64,
    deleted: U8,
    count: int,
    threshold: int,
    found_rows: I64,
    found_dists: I64,
) -> int:
    """Write matches into the buffers while they have room; return how many there are in all."""
    # Fixed buffers rather than arrays regrown in the loop: rebinding an array variable inside
    # the loop cost ~17 ns a row (10x the scan itself) in numba 0.68.
    capacity = found_rows.shape[0]
    found = 0
    for row in range(count):
        dist = _distance(hashes, row, query)
        if dist <= threshold and not deleted[row]:
            if found < capacity:
                found_rows[found] = row
                found_dists[found] = dist
            found += 1
    return found
