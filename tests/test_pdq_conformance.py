"""Meta's PDQ conformance images (ThreatExchange `pdq/data`), as their README asks.

They live outside the repository, in `shared/conformance/pdq` beside it, and are never copied
in; without them these tests are skipped.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

import pytest

from bastion.signals.image_decode import RGBArray, decode_image
from bastion.signals.pdq import hash_pixels
from builders.images import NO_MATCH, bank_hashes, min_distance, query_hashes

ROOT = Path(__file__).resolve().parents[1]
CONFORMANCE = ROOT.parent / "shared" / "conformance" / "pdq"
THRESHOLD = 31
REFERENCE_TOLERANCE = 16

pytestmark = pytest.mark.skipif(
    not CONFORMANCE.is_dir(),
    reason=f"Meta's PDQ conformance images are not at {CONFORMANCE} (shared/ beside the repo)",
)


def _files(folder: str, suffixes: tuple[str, ...] = (".jpg", ".png", ".webp")) -> list[str]:
    """Paths relative to the conformance folder, for parametrising (empty when it is absent)."""
    base = CONFORMANCE / folder
    if not base.is_dir():
        return []
    return sorted(str(p.relative_to(CONFORMANCE)) for p in base.iterdir() if p.suffix in suffixes)


def _pixels(relative: str) -> RGBArray:
    return decode_image((CONFORMANCE / relative).read_bytes()).pixels


def test_hashes_are_within_16_bits_of_metas_reference(
    record_property: Callable[[str, object], None],
) -> None:
    with (CONFORMANCE / "expected-reference-hashes.csv").open(newline="") as listing:
        rows = list(csv.DictReader(listing))
    assert rows
    found = {}
    for row in rows:
        hashed = hash_pixels(_pixels(row["path"]))
        distance = (int(hashed.hex, 16) ^ int(row["pdq_hex"], 16)).bit_count()
        found[row["path"]] = (distance, hashed.quality)
    worst = max(distance for distance, _ in found.values())
    print(f"{len(found)} files: max distance to Meta's reference hashes {worst} bits")
    record_property("max_reference_distance", worst)
    assert all(d <= REFERENCE_TOLERANCE for d, _ in found.values()), found
    assert all(quality == 100 for _, quality in found.values()), found


@pytest.mark.parametrize("path", _files("bridge-mods"))
def test_modified_bridges_match_the_original(path: str) -> None:
    original = bank_hashes(_pixels("bridge-mods/aaa-orig.jpg"))
    assert min_distance(query_hashes(_pixels(path)), original) <= THRESHOLD


DIHEDRAL_ORIGINAL = "reg-test-input/dih/bridge-1-original.jpg"


@pytest.mark.parametrize("path", _files("reg-test-input/dih"))
def test_rotations_and_mirrors_match_with_dihedral_hashes(path: str) -> None:
    original = bank_hashes(_pixels(DIHEDRAL_ORIGINAL))
    assert min_distance(query_hashes(_pixels(path)), original) <= THRESHOLD


@pytest.mark.parametrize(
    "path", [p for p in _files("reg-test-input/dih") if p != DIHEDRAL_ORIGINAL]
)
def test_without_dihedral_hashes_rotations_and_mirrors_do_not_match(path: str) -> None:
    # The README asks this of the rotated images; mirrored ones are as far (100+ bits), and
    # no view (crop, band, stripped) may bring either back under the threshold.
    original = bank_hashes(_pixels(DIHEDRAL_ORIGINAL))
    distance = min_distance(query_hashes(_pixels(path), dihedral=False), original)
    assert THRESHOLD < distance < NO_MATCH


@pytest.mark.parametrize("path", _files("misc-images/modes"))
def test_every_pillow_mode_hashes_and_matches_the_original(path: str) -> None:
    original = bank_hashes(_pixels("misc-images/modes/original.jpg"))
    pixels = _pixels(path)
    assert hash_pixels(pixels).quality == 100
    assert min_distance(query_hashes(pixels), original) <= THRESHOLD


def test_a_flat_image_has_quality_zero_and_never_matches() -> None:
    pixels = _pixels("misc-images/small.jpg")
    hashed = hash_pixels(pixels)
    assert hashed.quality == 0
    assert not hashed.matchable()
    # Neither as a lookup nor as a bank entry: no view of it is ever compared.
    assert len(query_hashes(pixels).views) == 0
    assert len(bank_hashes(pixels).views) == 0


@pytest.mark.parametrize("path", ["misc-images/wee.jpg", "misc-images/c.png"])
def test_tiny_and_transparent_images_hash_with_full_quality(path: str) -> None:
    assert hash_pixels(_pixels(path)).quality == 100
