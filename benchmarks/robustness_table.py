"""Print docs/robustness.md's tables: PDQ distances under re-upload edits, plain vs views.

    .venv/bin/python benchmarks/robustness_table.py > /tmp/robustness.md

"Plain PDQ" is what a PDQ matcher with rotation support does: the query's 8 dihedral hashes
against the bank entry's one hash. "Views" is Bastion: `query_views` (8 dihedral hashes each)
against `bank_views`. Images and edits are the ones tests/test_robustness.py asserts on,
plus edits it does not assert on (random crops, other caption bars) and the bundled drawings.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from bastion.signals.image_decode import decode_image
from bastion.signals.pdq import PdqHash, hash_dihedral, hash_pixels
from bastion.signals.pdq_views import Region, bank_views, normalise, query_views
from builders.images import (
    EDITS,
    EXTRA_EDITS,
    NO_MATCH,
    OTHER_BUNDLED_NAMES,
    Hashes,
    Measured,
    encode,
    generated_image,
    measure,
    min_distance,
    min_distance_matrix,
    real_images,
)

THRESHOLD = 31
ALL_EDITS = {**EDITS, **EXTRA_EDITS}
Pick = Callable[[Hashes], Hashes]
Hasher = Callable[[np.ndarray, Region], PdqHash]


def _plain(hashes: Hashes) -> Hashes:
    return hashes.only("full")


def _views(hashes: Hashes) -> Hashes:
    return hashes


def _cell(distances: Sequence[int]) -> str:
    """`mean / max, recall` over the distances (an unmatchable query counts as a miss)."""
    found = [d for d in distances if d < NO_MATCH]
    recall = np.mean([d <= THRESHOLD for d in distances])
    spread = f"{np.mean(found):.1f} / {max(found)}" if found else "–"
    return f"{spread}, **{recall:.0%}**" if recall < 0.99 else f"{spread}, {recall:.0%}"


def _distances(measured: Sequence[Measured], edit: str, pick: Pick) -> list[int]:
    return [min_distance(pick(m.edited[edit]), pick(m.bank)) for m in measured]


def recall_table(groups: dict[str, list[Measured]]) -> str:
    """One row per edit: mean / max distance and recall at 31, plain and with views."""
    head = ["Edit"]
    for group in groups:
        head += [f"{group}: plain PDQ", f"{group}: views"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for edit in ALL_EDITS:
        row = [edit + ("" if edit in EDITS else " (not asserted)")]
        for measured in groups.values():
            row += [
                _cell(_distances(measured, edit, _plain)),
                _cell(_distances(measured, edit, _views)),
            ]
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def hash_only_table(groups: dict[str, list[Measured]]) -> str:
    """Banks imported as bare hashes store only the plain hash; the query still has views."""
    head = ["Edit", *groups]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for edit in ALL_EDITS:
        row = [edit]
        for measured in groups.values():
            row.append(_cell([min_distance(m.edited[edit], _plain(m.bank)) for m in measured]))
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def misses(measured: Sequence[Measured]) -> str:
    """Which image missed which edit with views, and by how much."""
    found = [
        f"{m.name} / {edit}: {min_distance(hashes, m.bank)}"
        for m in measured
        for edit, hashes in m.edited.items()
        if min_distance(hashes, m.bank) > THRESHOLD
    ]
    return "; ".join(found) or "none"


def unrelated_table(measured: Sequence[Measured]) -> str:
    """Nearest distances between different images, each looked up among the others' hashes."""
    lines = [
        "| Hashes compared | Pairs | min | p0.1 | p1 | mean | ≤31 |",
        "|---|---|---|---|---|---|---|",
    ]
    for label, pick in (("plain PDQ (8 dihedral vs 1)", _plain), ("views", _views)):
        matrix = min_distance_matrix(
            [pick(m.query) for m in measured], [pick(m.bank) for m in measured]
        )
        values = matrix[~np.eye(len(measured), dtype=bool)]
        values = values[values < NO_MATCH]
        lines.append(
            f"| {label} | {len(values):,} (both ways) | {values.min()} | "
            f"{np.percentile(values, 0.1):.0f} | {np.percentile(values, 1):.0f} | "
            f"{values.mean():.1f} | {(values <= THRESHOLD).sum()} |"
        )
    return "\n".join(lines)


def tolerance_table(groups: dict[str, Sequence[tuple[str, Image.Image]]]) -> str:
    """How far a crop drifts from the uncropped hash: why stored crops are 2.5% apart."""
    shares = (0.005, 0.01, 0.015, 0.02, 0.025)
    head = ["Crop", "Hash"] + [f"{group}: {s:.1%}" for group in groups for s in shares]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for crop in ("each side", "one side (top)"):
        for label, hasher in (("plain PDQ", _plain_hash), ("normalised view", _normalised_hash)):
            row = [crop, label]
            for images in groups.values():
                distances = np.array([_drifts(image, crop, shares, hasher) for _, image in images])
                row += [
                    f"{m:.1f} / {x}"
                    for m, x in zip(distances.mean(0), distances.max(0), strict=True)
                ]
            lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def _drifts(image: Image.Image, crop: str, shares: Sequence[float], hasher: Hasher) -> list[int]:
    pixels = decode_image(encode(image, "PNG")).pixels
    whole = Region.whole(pixels)
    base = hasher(pixels, whole)
    out = []
    for share in shares:
        sides = (share,) * 4 if crop == "each side" else (share, 0.0, 0.0, 0.0)
        out.append(base.distance(hasher(pixels, whole.inset(*sides))))
    return out


def _plain_hash(pixels: np.ndarray, region: Region) -> PdqHash:
    return hash_pixels(np.ascontiguousarray(region.of(pixels)))


def _normalised_hash(pixels: np.ndarray, region: Region) -> PdqHash:
    return hash_pixels(normalise(Image.fromarray(pixels).convert("F"), region))


def timing_table(images: Sequence[tuple[str, Image.Image]]) -> str:
    """Milliseconds to build and hash the views of decoded images (decode not included)."""
    bank_ms, query_ms, bank_count, query_count = [], [], [], []
    for name, image in images:
        rnd = random.Random(zlib.crc32(name.encode()))
        for data in (encode(image, "PNG"), EXTRA_EDITS["caption-bar-and-border"](image, rnd)):
            pixels = decode_image(data).pixels
            start = time.perf_counter()
            stored = [hash_pixels(v.pixels) for v in bank_views(pixels)]
            middle = time.perf_counter()
            looked_up = [hash_dihedral(v.pixels) for v in query_views(pixels)]
            end = time.perf_counter()
            bank_ms.append((middle - start) * 1000)
            query_ms.append((end - middle) * 1000)
            bank_count.append(len(stored))
            query_count.append(len(looked_up))
    lines = ["| Step | views (mean, max) | ms mean | ms p95 | ms max |", "|---|---|---|---|---|"]
    for label, ms, count in (
        ("bank_views + hash_pixels each", bank_ms, bank_count),
        ("query_views + hash_dihedral each", query_ms, query_count),
    ):
        lines.append(
            f"| {label} | {np.mean(count):.1f}, {max(count)} | {np.mean(ms):.1f} | "
            f"{np.percentile(ms, 95):.1f} | {max(ms):.1f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--generated", type=int, default=50, help="generated images with edits")
    parser.add_argument("--unrelated", type=int, default=92, help="extra images for pairs only")
    args = parser.parse_args()

    started = time.perf_counter()
    generated_images = [(f"generated-{s}", generated_image(s)) for s in range(args.generated)]
    photos = real_images()
    drawings = real_images(OTHER_BUNDLED_NAMES)
    generated = [measure(name, image, ALL_EDITS) for name, image in generated_images]
    photographs = [measure(name, image, ALL_EDITS) for name, image in photos]
    others = [measure(name, image, ALL_EDITS) for name, image in drawings]
    extra = [
        measure(f"generated-{s}", generated_image(s), {})
        for s in range(1000, 1000 + args.unrelated)
    ]
    unmatchable = [m.name for m in photographs if "full" not in m.bank.views]
    photographs = [m for m in photographs if "full" in m.bank.views]

    print(f"## Recall at {THRESHOLD}: mean / max distance, share matched\n")
    print(
        f"{len(generated)} generated images, {len(photographs)} scikit-image photographs "
        f"(left out, PDQ quality under 50: {', '.join(unmatchable) or 'none'}). "
        "Bold: under 99%.\n"
    )
    print(recall_table({"Generated": generated, "Photographs": photographs}))
    print("\nMisses with views, generated:", misses(generated))
    print("\nMisses with views, photographs:", misses(photographs))
    print("\n## Hash-only banks: query views against the plain hash alone\n")
    print(hash_only_table({"Generated": generated, "Photographs": photographs}))
    print("\n## Bundled drawings (colour chart, silhouette, logo), not asserted\n")
    print(recall_table({"Drawings": others}))
    print("\nMisses with views:", misses(others))
    print("\n## Unrelated images\n")
    everything = [*generated, *photographs, *others, *extra]
    print(f"{len(everything)} different images, each looked up among all the others.\n")
    print(unrelated_table(everything))
    print("\n## Crop tolerance: distance to the uncropped hash, mean / max\n")
    print(tolerance_table({"Generated": generated_images, "Photographs": photos}))
    print("\n## Time per image, one core\n")
    print(timing_table([*generated_images, *photos]))
    print(f"\n(Whole run: {time.perf_counter() - started:.0f} s.)")


if __name__ == "__main__":
    main()
