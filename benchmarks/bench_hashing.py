"""PDQ hashing throughput, JPEG decode included: Bastion against python-threatexchange.

Bastion: `decode_image` (reduced-size JPEG decode, shrink to 512 px) then `hash_pixels`.
Peer: `PdqSignal.hash_from_bytes`, which decodes and hashes at full resolution.
Images are generated: smooth noise plus shapes, JPEG quality 90, seeded.

    .venv-bench/bin/python benchmarks/bench_hashing.py
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np
from PIL import Image, ImageDraw

SIZES = ((1024, 1024), (4000, 3000))


def make_jpeg(width: int, height: int, seed: int) -> bytes:
    """A photo-like test image: smooth colour noise with a few shapes, JPEG quality 90."""
    rng = np.random.default_rng(seed)
    coarse = rng.integers(0, 256, size=(9, 12, 3), dtype=np.uint8)
    image = Image.fromarray(coarse).resize((width, height), Image.Resampling.BICUBIC)
    draw = ImageDraw.Draw(image)
    for _ in range(12):
        x0, x1 = sorted(rng.integers(0, width, 2).tolist())
        y0, y1 = sorted(rng.integers(0, height, 2).tolist())
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        shape = draw.ellipse if rng.random() < 0.5 else draw.rectangle
        shape((x0, y0, x1, y1), fill=colour)
    grain = rng.normal(0, 6, size=(height, width, 3))
    pixels = np.clip(np.asarray(image, dtype=np.float64) + grain, 0, 255).astype(np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format="JPEG", quality=90)
    return out.getvalue()


def bastion_hash(data: bytes) -> str:
    """Bastion's path from upload bytes to a PDQ hex digest."""
    from bastion.signals.image_decode import decode_image
    from bastion.signals.pdq import hash_pixels

    return hash_pixels(decode_image(data).pixels).hex


def peer_hash(data: bytes) -> str:
    """threatexchange's path (empty string when it judges the quality too low)."""
    from threatexchange.signal_type.pdq.signal import PdqSignal

    result: str = PdqSignal.hash_from_bytes(data)
    return result


def time_each(hasher: Callable[[bytes], str], images: list[bytes]) -> tuple[list[float], list[str]]:
    """Seconds per image and the hashes, after one untimed call."""
    hasher(images[0])
    seconds, hashes = [], []
    for data in images:
        start = time.perf_counter()
        hashes.append(hasher(data))
        seconds.append(time.perf_counter() - start)
    return seconds, hashes


def bit_difference(a: str, b: str) -> int | None:
    """Hamming distance between two hex hashes; None if either is missing."""
    if not a or not b:
        return None
    return (int(a, 16) ^ int(b, 16)).bit_count()


@dataclass
class Row:
    """One image size: median milliseconds per image for each tool, and how far hashes differ."""

    size: str
    images: int
    jpeg_kb: float
    bastion_ms: float
    peer_ms: float
    max_bits: int | None
    peer_low_quality: int


def measure(width: int, height: int, count: int) -> Row:
    """Hash `count` generated images of one size with both tools."""
    images = [make_jpeg(width, height, seed) for seed in range(count)]
    ours, our_hashes = time_each(bastion_hash, images)
    theirs, their_hashes = time_each(peer_hash, images)
    diffs = [bit_difference(a, b) for a, b in zip(our_hashes, their_hashes, strict=True)]
    known = [d for d in diffs if d is not None]
    return Row(
        size=f"{width}x{height}",
        images=count,
        jpeg_kb=sum(map(len, images)) / count / 1024,
        bastion_ms=statistics.median(ours) * 1e3,
        peer_ms=statistics.median(theirs) * 1e3,
        max_bits=max(known) if known else None,
        peer_low_quality=len(diffs) - len(known),
    )


def table(rows: list[Row]) -> str:
    """A markdown table with images/s for both tools and their ratio."""
    lines = [
        "| image | JPEG KB | Bastion ms/image (images/s) | peer ms/image (images/s) "
        "| Bastion / peer | max bits apart |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        ours, theirs = row.bastion_ms, row.peer_ms
        lines.append(
            f"| {row.size} | {row.jpeg_kb:.0f} | {ours:.1f} ({1e3 / ours:.1f}) "
            f"| {theirs:.1f} ({1e3 / theirs:.1f}) | {theirs / ours:.1f}x | {row.max_bits} |"
        )
    return "\n".join(lines)


def main() -> None:
    """Measure both sizes, print and save the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=12, help="images per size (4000x3000: /3)")
    parser.add_argument("--out", default=".bench-data/hashing", help="path prefix for .json/.md")
    args = parser.parse_args()
    rows = []
    for width, height in SIZES:
        count = args.count if width * height <= 2**21 else max(2, args.count // 3)
        rows.append(measure(width, height, count))
    text = table(rows)
    print(text)
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    with open(f"{args.out}.json", "w") as out:
        json.dump([asdict(row) for row in rows], out, indent=2)
    with open(f"{args.out}.md", "w") as out:
        out.write(text + "\n")


if __name__ == "__main__":
    main()
