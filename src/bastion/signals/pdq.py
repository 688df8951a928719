"""PDQ, Meta's perceptual image hash, through the reference bindings (pdqhash).

A PDQ hash is 256 bits, written as 64 hex digits in the order Meta's tools print it.
Hashes whose quality is under the floor (default 50) are reported but never matched:
flat or tiny images give unstable hashes that collide with unrelated content.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pdqhash
from numpy.typing import NDArray

from bastion.errors import InvalidInput
from bastion.signals.image_decode import RGBArray

HASH_BITS = 256
HASH_BYTES = HASH_BITS // 8
DEFAULT_QUALITY_FLOOR = 50
_HEX = re.compile(r"^[0-9a-fA-F]{64}$")

# Names of the eight dihedral transforms, in the order pdqhash.compute_dihedral returns them.
DIHEDRAL = ("original", "rotate90", "rotate180", "rotate270", "flipx", "flipy", "flip+1", "flip-1")


@dataclass(frozen=True, slots=True)
class PdqHash:
    """A 256-bit PDQ hash and the quality (0-100) the hasher gave it."""

    digest: bytes
    quality: int | None = None

    @property
    def hex(self) -> str:
        """The 64-hex-digit form used by Meta's tools and hash-sharing programmes."""
        return self.digest.hex()

    def distance(self, other: PdqHash) -> int:
        """Hamming distance in bits."""
        return (
            int.from_bytes(self.digest, "big") ^ int.from_bytes(other.digest, "big")
        ).bit_count()

    def matchable(self, quality_floor: int = DEFAULT_QUALITY_FLOOR) -> bool:
        """Whether the hash is trustworthy enough to match (unknown quality counts as good)."""
        return self.quality is None or self.quality >= quality_floor


def parse_hex(value: str) -> bytes:
    """Validate a PDQ hash written as 64 hex digits and return its 32 bytes."""
    text = value.strip()
    if not _HEX.match(text):
        raise InvalidInput(
            f"A PDQ hash is 64 hexadecimal digits; got {_preview(text)} ({len(text)} characters).",
            code="malformed_hash",
        )
    return bytes.fromhex(text)


def hash_pixels(pixels: RGBArray) -> PdqHash:
    """PDQ hash of an RGB array (height x width x 3, uint8)."""
    bits, quality = pdqhash.compute(pixels)
    return PdqHash(_pack(bits), int(quality))


def hash_dihedral(pixels: RGBArray) -> list[PdqHash]:
    """The eight hashes of the image's rotations and mirrors, computed in one pass."""
    hashes, quality = pdqhash.compute_dihedral(pixels)
    return [PdqHash(_pack(bits), int(quality)) for bits in hashes]


def _pack(bits: NDArray[np.integer] | list[int]) -> bytes:
    return np.packbits(np.asarray(bits, dtype=np.uint8)).tobytes()


def _preview(text: str) -> str:
    return repr(text if len(text) <= 20 else text[:20] + "…")
