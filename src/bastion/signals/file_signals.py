"""Every signal of an uploaded file: digests of any file, PDQ hashes of images.

Bank entries and queries are hashed by the same path (`decode_image` at <= 512 px), so the
speed-up of the reduced-size decode costs no bits of the match budget.
"""

from __future__ import annotations

from dataclasses import dataclass

from bastion.errors import UnsupportedMedia
from bastion.signals.digests import file_digests
from bastion.signals.image_decode import DecodedImage, decode_image
from bastion.signals.pdq import DIHEDRAL, PdqHash, hash_dihedral, hash_pixels
from bastion.signals.pdq_views import bank_views, query_views


@dataclass(frozen=True)
class ViewHash:
    """A PDQ hash of one view (full, trimmed, a crop…) under one rotation or mirror."""

    view: str
    transform: str
    hash: PdqHash


@dataclass
class FileSignals:
    """The signals of one file; `image` is None when the file is not an image."""

    md5: str
    sha256: str
    size: int
    image: DecodedImage | None = None
    pdq: PdqHash | None = None
    # The 8 rotation/mirror hashes of the whole image, when computed for a lookup.
    full_dihedral: list[PdqHash] | None = None

    def public(self) -> dict[str, object]:
        """The `signals` object of the API: digests, and the PDQ hash with its quality."""
        out: dict[str, object] = {"md5": self.md5, "sha256": self.sha256}
        if self.pdq is not None:
            out["pdq"] = {"hash": self.pdq.hex, "quality": self.pdq.quality}
        return out


def compute_file_signals(
    data: bytes, *, max_pixels: int, require_image: bool = False, for_lookup: bool = False
) -> FileSignals:
    """Digests of the bytes and, for images, the PDQ hash of the whole picture.

    A file that is not an image at all gets digests only (videos, PDFs, archives), unless
    `require_image`; an image that is corrupt, truncated or a bomb is always refused.
    With `for_lookup`, the whole image's 8 dihedral hashes are computed in the same pass
    (the first is the plain hash), so matching does not hash the image twice.
    """
    digests = file_digests(data)
    signals = FileSignals(md5=digests["md5"], sha256=digests["sha256"], size=len(data))
    try:
        signals.image = decode_image(data, max_pixels=max_pixels)
    except UnsupportedMedia as exc:
        if exc.code != "not_an_image" or require_image:
            raise
        return signals
    if for_lookup:
        signals.full_dihedral = hash_dihedral(signals.image.pixels)
        signals.pdq = signals.full_dihedral[0]
    else:
        signals.pdq = hash_pixels(signals.image.pixels)
    return signals


def bank_view_hashes(image: DecodedImage, full: PdqHash | None = None) -> list[ViewHash]:
    """The PDQ hashes stored for a bank entry: one per view, upright. `full`, the plain
    image's hash when already computed, is reused rather than computed again."""
    views = bank_views(image.pixels, None if full is None else full.quality)
    return [
        ViewHash(v.name, DIHEDRAL[0], full if v.name == "full" and full else hash_pixels(v.pixels))
        for v in views
    ]


def query_view_hashes(
    image: DecodedImage, *, dihedral: bool = True, full: list[PdqHash] | None = None
) -> list[ViewHash]:
    """The PDQ hashes looked up for a query: every query view, under all 8 rotations/mirrors
    unless `dihedral` is off (then upright only). `full` reuses the whole image's hashes."""
    out: list[ViewHash] = []
    for view in query_views(image.pixels):
        if not dihedral:
            out.append(ViewHash(view.name, DIHEDRAL[0], hash_pixels(view.pixels)))
            continue
        hashes = full if view.name == "full" and full else hash_dihedral(view.pixels)
        for transform, hashed in zip(DIHEDRAL, hashes, strict=True):
            out.append(ViewHash(view.name, transform, hashed))
    return out
