"""PDQIndex against a numpy brute-force reference on seeded random banks."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from numpy.typing import NDArray

from bastion.indexes import pdq_index
from bastion.indexes.pdq_index import DELTA_CAPACITY, PDQIndex

Hashes = NDArray[np.uint8]
THRESHOLDS = (0, 1, 15, 31, 32, 40, 64, 128)
_POPCOUNT8 = np.array([bin(i).count("1") for i in range(256)], np.int64)


def random_hashes(rng: np.random.Generator, n: int) -> Hashes:
    return rng.integers(0, 256, size=(n, 32), dtype=np.uint8)


def flip(rng: np.random.Generator, digest: NDArray[np.uint8], bits: int) -> NDArray[np.uint8]:
    """A copy of `digest` with exactly `bits` distinct bits flipped."""
    unpacked = np.unpackbits(digest)
    unpacked[rng.choice(256, size=bits, replace=False)] ^= 1
    return np.packbits(unpacked)


def distances(hashes: Hashes, digest: bytes) -> NDArray[np.int64]:
    """Hamming distance from `digest` to every row, by byte lookup (no numpy 2 popcount needed)."""
    return _POPCOUNT8[hashes ^ np.frombuffer(digest, np.uint8)].sum(axis=1)


def reference(
    ids: NDArray[np.int64], dists: NDArray[np.int64], threshold: int
) -> list[tuple[int, int]]:
    """Brute force: every (id, distance) within threshold, sorted by distance then id."""
    hit = np.flatnonzero(dists <= threshold)
    return sorted(
        zip(ids[hit].tolist(), dists[hit].tolist(), strict=True), key=lambda m: (m[1], m[0])
    )


class Model:
    """The expected contents of an index: id -> hash."""

    def __init__(self) -> None:
        self.entries: dict[int, bytes] = {}

    def add(self, ids: NDArray[np.int64], hashes: Hashes) -> None:
        self.entries.update(zip(ids.tolist(), (bytes(h) for h in hashes), strict=True))

    def remove(self, ids: list[int]) -> None:
        for i in ids:
            self.entries.pop(i, None)

    def arrays(self) -> tuple[NDArray[np.int64], Hashes]:
        ids = np.array(list(self.entries), np.int64)
        hashes = np.frombuffer(b"".join(self.entries.values()), np.uint8).reshape(-1, 32)
        return ids, hashes


def assert_matches(
    index: PDQIndex, model: Model, digests: list[bytes], thresholds: tuple[int, ...] = THRESHOLDS
) -> None:
    ids, hashes = model.arrays()
    assert len(index) == len(model.entries)
    for digest in digests:
        dists = distances(hashes, digest)
        for threshold in thresholds:
            want = reference(ids, dists, threshold)
            assert index.query(digest, threshold) == want, f"threshold {threshold}"


def planted_bank(rng: np.random.Generator, background: int) -> tuple[Model, list[bytes]]:
    """Random hashes plus, around each of a few centres, neighbours at every distance 0..40."""
    model = Model()
    model.add(np.arange(background, dtype=np.int64), random_hashes(rng, background))
    centres = random_hashes(rng, 3)
    next_id = background
    for centre in centres:
        for distance in range(41):
            for _ in range(2):
                model.add(np.array([next_id]), flip(rng, centre, distance)[None, :])
                next_id += 1
    return model, [bytes(c) for c in centres]


@pytest.fixture(params=["cost model", "always probe"])
def probe_choice(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run a test with the usual probe-or-scan choice, and with probing wherever it is possible."""
    if request.param == "always probe":
        monkeypatch.setattr(pdq_index, "_SCAN_ROW_NS", float("inf"))


@pytest.mark.usefixtures("probe_choice")
@pytest.mark.parametrize("batch", [None, 700], ids=["one bulk segment", "small batches"])
def test_planted_neighbours_at_every_distance(batch: int | None) -> None:
    rng = np.random.default_rng(1)
    model, centres = planted_bank(rng, 20_000)
    ids, hashes = model.arrays()
    index = PDQIndex()
    step = batch or ids.size
    for start in range(0, ids.size, step):
        index.add(ids[start : start + step], hashes[start : start + step])
    near = [bytes(flip(rng, hashes[i], d)) for d, i in enumerate(rng.integers(0, 20_000, 41))]
    assert_matches(index, model, centres + near)
    # Every distance 0..40 was planted twice around each centre.
    found = index.query(centres[0], 40)
    assert {d for _, d in found} >= set(range(41))
    assert all(d > 40 for _, d in index.query(centres[0], 128)[len(found) :])


@pytest.mark.usefixtures("probe_choice")
def test_large_segment_uses_wide_keys() -> None:
    rng = np.random.default_rng(2)
    n = 200_000
    hashes = random_hashes(rng, n)
    ids = rng.permutation(10 * n)[:n].astype(np.int64)  # unsorted, sparse database ids
    index = PDQIndex()
    index.add(ids, hashes)
    model = Model()
    model.add(ids, hashes)
    rows = rng.integers(0, n, 12)
    queries = [
        bytes(flip(rng, hashes[r], int(d)))
        for r, d in zip(rows, rng.integers(0, 55, 12), strict=True)
    ]
    assert_matches(index, model, queries, thresholds=(31, 32, 40, 54))
    assert index._segments[0].key_bits == 21


@pytest.mark.usefixtures("probe_choice")
def test_results_sorted_by_distance_then_id_with_duplicate_hashes() -> None:
    rng = np.random.default_rng(3)
    base = random_hashes(rng, 1)[0]
    # Thousands of copies of one hash (degenerate banks exist), more than any result buffer
    # starts with, and copies of one near hash.
    near = flip(rng, base, 3)
    hashes = np.vstack([np.repeat(base[None, :], 3000, axis=0), np.repeat(near[None, :], 2000, 0)])
    ids = rng.permutation(5000).astype(np.int64) * 7
    for size in (5000, 50):  # one bulk segment, then the delta only
        index = PDQIndex()
        index.add(ids[:size], hashes[:size])
        model = Model()
        model.add(ids[:size], hashes[:size])
        assert_matches(index, model, [bytes(base), bytes(flip(rng, base, 30))], (0, 3, 31, 64))


def test_add_remove_and_re_add() -> None:
    rng = np.random.default_rng(4)
    hashes = random_hashes(rng, 10)
    index = PDQIndex()
    index.add(np.arange(10, dtype=np.int64), hashes)
    assert index.remove([3, 4, 99]) == 2
    assert index.remove(np.array([3], np.int64)) == 0
    assert len(index) == 8
    assert index.query(bytes(hashes[3]), 0) == []
    with pytest.raises(ValueError, match="already in the index"):
        index.add(np.array([5], np.int64), hashes[5:6])
    replacement = random_hashes(rng, 1)
    index.add(np.array([3], np.int64), replacement)
    assert index.query(bytes(replacement[0]), 0) == [(3, 0)]
    assert index.query(bytes(hashes[3]), 0) == []
    assert index.remove(iter([3])) == 1
    assert index.query(bytes(replacement[0]), 0) == []


def test_updates_across_freezes_merges_and_compaction(monkeypatch: pytest.MonkeyPatch) -> None:
    merged: list[int] = []
    merge = pdq_index._Segment.merge.__func__  # type: ignore[attr-defined]

    def counting_merge(cls: type, segments: list[object]) -> object:
        merged.append(len(segments))
        return merge(cls, segments)

    monkeypatch.setattr(pdq_index._Segment, "merge", classmethod(counting_merge))
    rng = np.random.default_rng(5)
    index, model = PDQIndex(), Model()
    bulk = random_hashes(rng, 30_000)
    index.add(np.arange(30_000, dtype=np.int64), bulk)
    model.add(np.arange(30_000, dtype=np.int64), bulk)
    next_id = 30_000
    for step in range(12):
        batch = random_hashes(rng, 1500)
        batch_ids = np.arange(next_id, next_id + 1500, dtype=np.int64)
        next_id += 1500
        index.add(batch_ids, batch)
        model.add(batch_ids, batch)
        live = np.array(list(model.entries))
        gone = rng.choice(live, size=600 if step != 6 else 16_000, replace=False).tolist()
        assert index.remove(gone) == len(gone)
        model.remove(gone)
        if step % 4 == 3:  # re-add some removed ids with new hashes
            back = np.array(gone[:100], np.int64)
            fresh = random_hashes(rng, 100)
            index.add(back, fresh)
            model.add(back, fresh)
    ids, hashes = model.arrays()
    picks = rng.integers(0, ids.size, 12)
    queries = [
        bytes(flip(rng, hashes[p], int(d)))
        for p, d in zip(picks, rng.integers(0, 33, 12), strict=True)
    ]
    assert_matches(index, model, queries, thresholds=(0, 31, 32, 64))
    # Deltas were frozen and merged by tier, and the mass removal compacted a segment.
    assert 1 in merged and max(merged) >= pdq_index.MERGE_FANOUT
    assert all(2 * s.live >= s.size for s in index._segments)


def test_merge_tiers_keep_segment_count_logarithmic() -> None:
    rng = np.random.default_rng(6)
    index = PDQIndex()
    batches = 4 * 4 + 3
    for b in range(batches):
        ids = np.arange(b * DELTA_CAPACITY, (b + 1) * DELTA_CAPACITY, dtype=np.int64)
        index.add(ids, random_hashes(rng, DELTA_CAPACITY))
    sizes = sorted(s.size for s in index._segments)
    # Four tier-0 segments merge into one of tier 1, four of those into one of tier 2.
    assert sizes == [DELTA_CAPACITY] * 3 + [16 * DELTA_CAPACITY]


def test_queries_stay_exact_while_another_thread_writes() -> None:
    rng = np.random.default_rng(7)
    base = random_hashes(rng, 20_000)
    index = PDQIndex()
    index.add(np.arange(20_000, dtype=np.int64), base)
    probes = [bytes(flip(rng, base[i], 20)) for i in range(0, 40)]
    expected = [index.query(p, 31) for p in probes]
    extra = random_hashes(rng, 12_000)
    done = threading.Event()
    errors: list[str] = []

    def read() -> None:
        rounds = 0
        while not done.is_set() or rounds < 3:
            rounds += 1
            for probe, want in zip(probes, expected, strict=True):
                got = index.query(probe, 31)
                if got != want:  # the writer never touches these ids or their neighbours
                    errors.append(f"{got} != {want}")

    readers = [threading.Thread(target=read) for _ in range(3)]
    for reader in readers:
        reader.start()
    for start in range(0, 12_000, 300):
        ids = np.arange(100_000 + start, 100_000 + start + 300, dtype=np.int64)
        index.add(ids, extra[start : start + 300])
        index.remove(ids[:100].tolist())
    done.set()
    for reader in readers:
        reader.join()
    assert errors == []
    assert len(index) == 20_000 + 8_000


def test_query_many_matches_query() -> None:
    rng = np.random.default_rng(8)
    hashes = random_hashes(rng, 5000)
    index = PDQIndex()
    index.add(np.arange(5000, dtype=np.int64), hashes)
    digests = np.stack([flip(rng, hashes[i], 10 + i) for i in range(25)])
    digests.setflags(write=False)
    many = index.query_many(digests, 31)
    assert many == [index.query(bytes(d), 31) for d in digests]
    assert sum(1 for m in many if m) == 22  # flips 10..31 match, 32..34 do not


def test_empty_index() -> None:
    index = PDQIndex()
    digest = bytes(32)
    assert len(index) == 0
    assert index.query(digest, 255) == []
    assert index.query_many(np.zeros((3, 32), np.uint8), 31) == [[], [], []]
    assert index.remove([1, 2]) == 0
    index.add(np.zeros(0, np.int64), np.zeros((0, 32), np.uint8))
    assert len(index) == 0
    assert index.nbytes() > 0


@pytest.mark.parametrize("digest", [b"", bytes(31), bytes(33), "00" * 32, None])
def test_query_rejects_a_digest_that_is_not_32_bytes(digest: object) -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        PDQIndex().query(digest, 31)  # type: ignore[arg-type]


@pytest.mark.parametrize("threshold", [-1, 256, 3.5])
def test_query_rejects_thresholds_outside_0_to_255(threshold: object) -> None:
    with pytest.raises(ValueError, match="threshold"):
        PDQIndex().query(bytes(32), threshold)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("ids", "hashes", "message"),
    [
        (np.arange(2), np.zeros((2, 31), np.uint8), "uint8 array"),
        (np.arange(2), np.zeros((2, 32), np.int64), "uint8 array"),
        (np.arange(3), np.zeros((2, 32), np.uint8), "3 ids for 2 hashes"),
        (np.array([-1, 2]), np.zeros((2, 32), np.uint8), "non-negative"),
        (np.array([4, 4]), np.zeros((2, 32), np.uint8), "repeats an id"),
    ],
)
def test_add_rejects_malformed_batches(ids: object, hashes: object, message: str) -> None:
    index = PDQIndex()
    with pytest.raises(ValueError, match=message):
        index.add(ids, hashes)  # type: ignore[arg-type]
    assert len(index) == 0


def test_radii_make_the_pigeonhole_exact() -> None:
    for threshold in range(256):
        radii = pdq_index._radii(threshold)
        assert sum(r + 1 for r in radii) == threshold + 1
        assert max(radii) - min(radii) <= 1
    assert pdq_index._radii(31) == [2] * 10 + [1]
