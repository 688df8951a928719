"""Bastion's PDQIndex against python-threatexchange's PDQIndex (what Meta's HMA uses).

Both tools get the same seeded data in the same run: uniform random 256-bit banks, and queries
that are near-duplicates of bank hashes 0-31 bits away (must match), 32-40 bits away (must not
match at threshold 31) and random hashes. Each tool runs in its own child process, so its memory
figure is its own; queries are single calls on one thread, as an API request makes them.

Run it with the benchmark venv (benchmarks/run.sh builds it):
    .venv-bench/bin/python benchmarks/bench_pdq_index.py --sizes 1000000 10000000
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# One thread for FAISS (OpenMP) and numba: more threads make single queries slower (perf-anchors).
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
from numpy.typing import NDArray

from bastion.indexes.pdq_index import PDQIndex

THRESHOLD = 31
NEAR, FAR = 0.5, 0.1  # shares of queries 0-31 and 32-40 bits from a bank hash; the rest random
LIVE_ADDS = 20_000  # hashes added in batches of 100 after the bulk load (Bastion only)
_POPCOUNT8 = np.array([bin(i).count("1") for i in range(256)], np.int64)

Report = dict[str, Any]  # figure name -> value, plus "tool" and "size"


@dataclass
class Workload:
    """A bank and its queries; `targets[i]` is the bank row query i was made from, or -1."""

    bank: NDArray[np.uint8]
    queries: NDArray[np.uint8]
    targets: NDArray[np.int64]
    distances: NDArray[np.int64]


def make_workload(size: int, queries: int, seed: int) -> Workload:
    """Seeded bank and queries; every child process rebuilds exactly the same ones."""
    rng = np.random.default_rng(seed)
    bank = rng.integers(0, 256, size=(size, 32), dtype=np.uint8)
    near, far = int(queries * NEAR), int(queries * FAR)
    distances = np.concatenate(
        [rng.integers(0, 32, near), rng.integers(32, 41, far), np.full(queries - near - far, -1)]
    )
    targets = np.where(distances >= 0, rng.integers(0, size, queries), -1)
    out = rng.integers(0, 256, size=(queries, 32), dtype=np.uint8)
    for i in np.flatnonzero(targets >= 0):
        bits = np.unpackbits(bank[targets[i]])
        bits[rng.choice(256, size=int(distances[i]), replace=False)] ^= 1
        out[i] = np.packbits(bits)
    order = rng.permutation(queries)  # interleave the kinds, as real traffic would
    return Workload(bank, out[order], targets[order], distances[order])


def rss_bytes() -> int:
    """Resident memory of this process now."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def time_queries(
    search: Callable[[int], list[tuple[int, int]]], count: int
) -> tuple[list[list[tuple[int, int]]], NDArray[np.float64]]:
    """Run query 0..count-1 one call at a time; return the results and each call's seconds."""
    search(0)  # first-call costs (imports, JIT caches) are not what a serving process sees
    results, seconds = [], np.empty(count)
    for i in range(count):
        start = time.perf_counter()
        results.append(search(i))
        seconds[i] = time.perf_counter() - start
    return results, seconds


def accuracy(work: Workload, results: list[list[tuple[int, int]]]) -> Report:
    """Recall of the planted matches <= 31 bits, false matches (> 31), wrong distances."""
    must = np.flatnonzero((work.targets >= 0) & (work.distances <= THRESHOLD))
    found = sum(int(work.targets[i]) in {m for m, _ in results[i]} for i in must)
    false, wrong = 0, 0
    for query, matches in zip(work.queries, results, strict=True):
        for match, distance in matches:
            true = int(_POPCOUNT8[work.bank[match] ^ query].sum())
            false += true > THRESHOLD
            wrong += true != distance
    return {"recall": found / max(len(must), 1), "false_matches": false, "wrong_distances": wrong}


def run_bastion(work: Workload) -> Report:
    """Build, measure and query Bastion's index; then query again after live adds/removes."""
    index = PDQIndex()  # JIT warm-up happens here, outside the build time
    gc.collect()
    rss = rss_bytes()
    start = time.perf_counter()
    index.add(np.arange(len(work.bank), dtype=np.int64), work.bank)
    build = time.perf_counter() - start
    report = {"build_s": build, "nbytes": index.nbytes(), "rss_delta": rss_bytes() - rss}
    digests = [bytes(q) for q in work.queries]
    results, seconds = time_queries(lambda i: index.query(digests[i], THRESHOLD), len(digests))
    report |= summarise(seconds) | accuracy(work, results)
    report |= live_updates(index, work, digests)
    return report


def live_updates(index: PDQIndex, work: Workload, digests: list[bytes]) -> Report:
    """Add LIVE_ADDS hashes 100 at a time, remove 1,000 of them, and query again."""
    rng = np.random.default_rng(1)
    extra = rng.integers(0, 256, size=(LIVE_ADDS, 32), dtype=np.uint8)
    first_id = len(work.bank)
    start = time.perf_counter()
    for offset in range(0, LIVE_ADDS, 100):
        ids = np.arange(first_id + offset, first_id + offset + 100, dtype=np.int64)
        index.add(ids, extra[offset : offset + 100])
    adds = time.perf_counter() - start
    index.remove(range(first_id, first_id + 1000))
    results, seconds = time_queries(lambda i: index.query(digests[i], THRESHOLD), len(digests))
    after = summarise(seconds) | accuracy(work, results)
    return {"live_adds_per_s": LIVE_ADDS / adds} | {f"live_{k}": v for k, v in after.items()}


def run_peer(work: Workload) -> Report:
    """Build and query threatexchange's PDQIndex the way HMA does (hex strings, query(hex))."""
    import faiss
    from threatexchange.signal_type.pdq.pdq_index import PDQIndex as PeerIndex

    faiss.omp_set_num_threads(1)
    hexes = [bytes(h).hex() for h in work.bank]  # HMA keeps hashes as hex; not timed
    gc.collect()
    rss = rss_bytes()
    start = time.perf_counter()
    index = PeerIndex(zip(hexes, range(len(hexes)), strict=True))
    build = time.perf_counter() - start
    report = {"build_s": build, "rss_delta": rss_bytes() - rss}
    del hexes
    queries = [bytes(q).hex() for q in work.queries]

    def search(i: int) -> list[tuple[int, int]]:
        matches = index.query(queries[i])
        return [(m.metadata, int(m.similarity_info.distance)) for m in matches]

    results, seconds = time_queries(search, len(queries))
    return report | summarise(seconds) | accuracy(work, results)


def summarise(seconds: NDArray[np.float64]) -> Report:
    """Queries per second and latency percentiles, in milliseconds."""
    return {
        "qps": len(seconds) / float(seconds.sum()),
        "p50_ms": float(np.percentile(seconds, 50)) * 1e3,
        "p99_ms": float(np.percentile(seconds, 99)) * 1e3,
    }


def child(tool: str, size: int, queries: int, seed: int) -> None:
    """Entry point of a child process: print one JSON report."""
    work = make_workload(size, queries, seed)
    report = run_bastion(work) if tool == "bastion" else run_peer(work)
    print(json.dumps({"tool": tool, "size": size, **report}))


def spawn(tool: str, size: int, args: argparse.Namespace) -> Report:
    """Run one tool at one size in a fresh process and return its report."""
    command = [sys.executable, __file__, "--child", tool, "--sizes", str(size)]
    command += ["--queries", str(args.queries), "--seed", str(args.seed)]
    print(f"  {tool} at {size:,} ...", file=sys.stderr, flush=True)
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    report: Report = json.loads(done.stdout.strip().splitlines()[-1])
    return report


def table(reports: list[Report]) -> str:
    """A markdown table of the reports, with the Bastion/peer ratio per size."""
    lines = [
        "| bank | tool | build s | nbytes MB | RSS delta MB | queries/s | p50 ms | p99 ms "
        "| recall <=31 | false >31 |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for report in reports:
        nbytes = f"{report['nbytes'] / 1e6:,.0f}" if "nbytes" in report else "-"
        lines.append(
            f"| {report['size']:,} | {report['tool']} | {report['build_s']:.1f} | {nbytes} "
            f"| {report['rss_delta'] / 1e6:,.0f} | {report['qps']:,.0f} | {report['p50_ms']:.3f} "
            f"| {report['p99_ms']:.3f} | {report['recall']:.2%} | {report['false_matches']} |"
        )
        if "live_qps" in report:
            lines.append(
                f"| {report['size']:,} | bastion after {LIVE_ADDS:,} live adds "
                f"({report['live_adds_per_s']:,.0f}/s) | | | | {report['live_qps']:,.0f} "
                f"| {report['live_p50_ms']:.3f} | {report['live_p99_ms']:.3f} "
                f"| {report['live_recall']:.2%} | {report['live_false_matches']} |"
            )
    lines += [
        "",
        "| bank | queries/s Bastion / peer | build time peer / Bastion |",
        "|---|---|---|",
    ]
    for size in sorted({r["size"] for r in reports}):
        ours = next(r for r in reports if r["size"] == size and r["tool"] == "bastion")
        peer = next((r for r in reports if r["size"] == size and r["tool"] == "peer"), None)
        if peer:
            qps, build = ours["qps"] / peer["qps"], peer["build_s"] / ours["build_s"]
            lines.append(f"| {size:,} | {qps:,.1f}x | {build:,.1f}x |")
    return "\n".join(lines)


def main() -> None:
    """Parse arguments, run both tools at every size, print and save the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--queries", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--skip-peer-above", type=int, default=None, metavar="N")
    parser.add_argument("--out", default=".bench-data/pdq_index", help="path prefix for .json/.md")
    parser.add_argument("--child", choices=["bastion", "peer"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.sizes[0], args.queries, args.seed)
        return
    reports = []
    for size in args.sizes:
        reports.append(spawn("bastion", size, args))
        if args.skip_peer_above is None or size <= args.skip_peer_above:
            reports.append(spawn("peer", size, args))
    text = table(reports)
    print(text)
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    with open(f"{args.out}.json", "w") as out:
        json.dump(reports, out, indent=2)
    with open(f"{args.out}.md", "w") as out:
        out.write(text + "\n")


if __name__ == "__main__":
    main()
