"""Near-duplicate text: Bastion's MinHash + compact LSH against datasketch's MinHashLSH.

Synthetic corpus: documents of 25-60 words drawn from a Zipf vocabulary of 50,000 words (so
unrelated documents share common words, as real posts do). Planted copies of bank documents:
5% of words replaced, truncated to 70%, pasted into a post three times longer, and
reformatted (case, punctuation, zero-width characters). Unrelated queries are fresh documents.
Both sides use 128 permutations over word 3-shingles; datasketch at threshold 0.5 (its best
recall in ../shared/domain/perf-anchors.md), Bastion with its production thresholds.

    .venv-bench/bin/python benchmarks/bench_text_neardup.py --docs 100000 --solo 1000000
"""

from __future__ import annotations

import argparse
import random
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import numpy as np

from bastion.indexes.text_lsh import TextIndex
from bastion.matching.service import _TEXT_CANDIDATE, text_hit_containment
from bastion.text.minhash import chunk_signatures

VOCABULARY = 50_000
QUERIES = 2000


def corpus(count: int, seed: int) -> list[str]:
    """`count` documents of 25-60 Zipf-distributed words."""
    rng = np.random.default_rng(seed)
    ranks = np.minimum(rng.zipf(1.15, size=count * 60), VOCABULARY)
    lengths = rng.integers(25, 61, size=count)
    out, at = [], 0
    for length in lengths:
        out.append(" ".join(f"w{r}" for r in ranks[at : at + length]))
        at += length
    return out


def variants(original: str, rnd: random.Random, filler: list[str]) -> dict[str, str]:
    """The planted copies of one document."""
    tokens = original.split()
    edited = [t if rnd.random() >= 0.05 else f"e{rnd.randrange(10**6)}" for t in tokens]
    cut = tokens[: max(6, int(len(tokens) * 0.7))]
    noise = " ".join(rnd.sample(filler, 3)).split()
    half = len(noise) // 2
    reformatted = "  ".join(
        (t.upper() if i % 7 == 0 else t) + ("!" if i % 9 == 0 else "") for i, t in enumerate(tokens)
    ).replace(" w1 ", " w\u200b1 ")
    return {
        "edited 5%": " ".join(edited),
        "truncated to 70%": " ".join(cut),
        "pasted in a 3x longer post": " ".join(noise[:half] + tokens + noise[half:]),
        "reformatted": reformatted,
    }


def bastion_side(bank: list[str]) -> tuple[Callable[[str], set[int]], float, int]:
    """Build Bastion's index; returns its query function, build seconds and bytes."""
    started = time.perf_counter()
    index = TextIndex()
    ids, signatures, shingles = [], [], []
    for number, document in enumerate(bank):
        for chunk in chunk_signatures(document):
            ids.append(number)
            signatures.append(chunk.signature)
            shingles.append(chunk.shingles)
        if len(ids) >= 100_000:
            index.add(np.asarray(ids), np.stack(signatures), np.asarray(shingles, dtype=np.int32))
            ids, signatures, shingles = [], [], []
    if ids:
        index.add(np.asarray(ids), np.stack(signatures), np.asarray(shingles, dtype=np.int32))
    built = time.perf_counter() - started

    def query(text: str) -> set[int]:
        found: set[int] = set()
        chunks = chunk_signatures(text, query=True)
        if not chunks:
            return found
        hits_per_chunk = index.query_many(np.stack([c.signature for c in chunks]), _TEXT_CANDIDATE)
        for chunk, hits in zip(chunks, hits_per_chunk, strict=True):
            for hit in hits:
                if text_hit_containment(hit.similarity, hit.shingles, chunk.shingles) is not None:
                    found.add(hit.id)
        return found

    return query, built, index.nbytes()


def peer_side(bank: list[str]) -> tuple[Callable[[str], set[int]], float, int]:
    """datasketch MinHashLSH (threshold 0.5), MinHash.bulk for speed; memory by tracemalloc."""
    from datasketch import MinHash, MinHashLSH

    def shingles(text: str) -> list[bytes]:
        tokens = text.lower().split()
        return [" ".join(tokens[i : i + 3]).encode() for i in range(max(1, len(tokens) - 2))]

    tracemalloc.start()
    started = time.perf_counter()
    lsh = MinHashLSH(threshold=0.5, num_perm=128)
    for start in range(0, len(bank), 10_000):
        batch = bank[start : start + 10_000]
        hashes = MinHash.bulk([shingles(d) for d in batch], num_perm=128)
        with lsh.insertion_session() as session:
            for offset, minhash in enumerate(hashes):
                session.insert(start + offset, minhash, check_duplication=False)
    built = time.perf_counter() - started
    memory = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()

    def query(text: str) -> set[int]:
        minhash = MinHash(num_perm=128)
        minhash.update_batch(shingles(text))
        return set(lsh.query(minhash))

    return query, built, memory


def measure(
    name: str,
    side: Callable[..., tuple[Callable[[str], set[int]], float, int]],
    bank: list[str],
    rows: dict[str, dict[str, str]],
) -> None:
    query, built, memory = side(bank)
    rnd = random.Random(7)
    filler = corpus(3000, 99)
    planted = rnd.sample(range(len(bank)), QUERIES)
    unrelated = corpus(QUERIES, 1234)
    found: dict[str, int] = {}
    started = time.perf_counter()
    count = 0
    for number in planted:
        for kind, text in variants(bank[number], rnd, filler).items():
            found[kind] = found.get(kind, 0) + (number in query(text))
            count += 1
    false_matches = sum(len(query(text)) > 0 for text in unrelated)
    count += len(unrelated)
    elapsed = time.perf_counter() - started
    column = rows.setdefault(name, {})
    for kind, hits in found.items():
        column[f"recall, {kind}"] = f"{100 * hits / QUERIES:.1f}%"
    column["unrelated queries with a match"] = f"{100 * false_matches / len(unrelated):.2f}%"
    column["build (docs/s)"] = f"{len(bank) / built:,.0f}"
    column["queries/s"] = f"{count / elapsed:,.0f}"
    column["memory per doc"] = f"{memory / len(bank):,.0f} B"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--docs", type=int, default=100_000)
    parser.add_argument("--solo", type=int, default=1_000_000, help="Bastion alone at this size")
    parser.add_argument("--skip-peer", action="store_true")
    parser.add_argument("--out", type=Path, default=Path(".bench-data/text_neardup.md"))
    args = parser.parse_args()
    bank = corpus(args.docs, 1)
    rows: dict[str, dict[str, str]] = {}
    measure("Bastion", bastion_side, bank, rows)
    if not args.skip_peer:
        measure("datasketch MinHashLSH(0.5)", peer_side, bank, rows)
    names = list(rows)
    lines = [
        f"{args.docs:,} documents, {QUERIES:,} planted copies of each kind, "
        f"{QUERIES:,} unrelated queries, one thread.",
        "",
        "| | " + " | ".join(names) + " |",
        "|---|" + "---|" * len(names),
    ]
    for metric in rows["Bastion"]:
        lines.append(f"| {metric} | " + " | ".join(rows[n].get(metric, "") for n in names) + " |")
    if args.solo:
        big = corpus(args.solo, 2)
        _, built, memory = bastion_side(big)
        lines += [
            "",
            f"Bastion alone at {args.solo:,} documents: built in {built:.0f} s "
            f"({args.solo / built:,.0f} docs/s), index memory {memory / 2**30:.2f} GiB "
            f"({memory / args.solo:,.0f} B per document).",
        ]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
