"""Derived images ("views") hashed with PDQ so that crops, borders and captions still match.

Plain PDQ moves ~50 bits for a 2.5%-per-side crop and breaks on added borders or caption
bars. Views fix this from both ends (measurements and reasons in docs/robustness.md):

- A bank entry stores the hashes of standard crops (symmetric, one side, centre crops to
  common aspect ratios), of the picture with its flat bars stripped, and of a middle band
  without the top and bottom where meme text goes. Stored hashes are cheap.
- A query hashes a few views, each with its 8 rotations and mirrors: the plain image, the
  whole image normalised, and its middle band; where borders, letterboxes or caption bars
  were stripped, also the picture inside them (normalised and plain) and its middle band.

Every view but the plain ones ("full", "stripped-plain") is *normalised*: its region is resampled
straight to PDQ's 64x64 working size with a symmetric filter. That makes the view's hash
independent of the upload's resolution and makes the dihedral hashes exact (PDQ's own
downsampling is off-centre, which costs up to ~90 bits on fine textures under a mirror).
The plain views stay exactly PDQ, so hashes shared by other PDQ tools (bare-hash banks) match.

Views smaller than `MIN_VIEW_SIDE` or with PDQ quality under 50 are never returned, and
stripping never removes more than a bounded share of the picture.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields

import numpy as np
import pdqhash
from numpy.typing import NDArray
from PIL import Image

from bastion.signals.image_decode import RGBArray

# PDQ reduces every image to 64x64 before its DCT; a view already that size passes through.
NORMALISED_SIDE = 64
QUALITY_FLOOR = 50
MIN_VIEW_SIDE = 32

# A line of a bar is flat: nearly all its pixels within this many levels (per channel) of the
# line's mean colour. Tight, so JPEG noise on a solid bar passes but low-contrast picture
# (a wall, the moon's surface) does not.
FLAT_TOLERANCE = 16
FLAT_SHARE = 0.97
# Caption lines are bar colour with sparse text: at least this share of pixels near the bar
# colour (looser, for the ringing JPEG puts around letters).
NEAR_TOLERANCE = 40
CAPTION_SHARE = 0.30
# An added bar ends sharply: within the next lines some line is mostly off the colour of its
# last line. A sky or wall that fades out gradually is the picture's own and is kept.
EDGE_SHARE = 0.85
EDGE_LINES = 4
# A bar ends within this share of the side; a flat area past it is the picture's own.
MAX_BAR_SHARE = 0.40
# Bars thinner than this share of the side are left: a 0.5% offset costs only ~10 bits.
MIN_BAR_SHARE = 0.005
# The stripped picture keeps at least this share of each side, over all rounds (a 16:9
# picture in a 9:16 portrait frame keeps 32% of the height).
MIN_KEPT_SHARE = 0.20
# Rounds of stripping: a border, then a caption bar inside it, then whatever that uncovers.
STRIP_ROUNDS = 3
# Lines that blend two stacked bars (resampling, JPEG chroma), looked past in later rounds.
BLEND_LINES = 3
SCAN_CHUNK = 32

RegionSpec = tuple[str, "Region"]


@dataclass(frozen=True)
class View:
    """A named derived image to hash."""

    name: str
    pixels: RGBArray


@dataclass(frozen=True)
class Region:
    """A rectangle of an image in (fractional) pixels: rows top..bottom, columns left..right."""

    top: float
    bottom: float
    left: float
    right: float

    @classmethod
    def whole(cls, pixels: RGBArray) -> Region:
        """The whole image."""
        height, width = pixels.shape[:2]
        return cls(0.0, float(height), 0.0, float(width))

    @property
    def height(self) -> float:
        """Rows covered."""
        return self.bottom - self.top

    @property
    def width(self) -> float:
        """Columns covered."""
        return self.right - self.left

    def inset(self, top: float = 0, bottom: float = 0, left: float = 0, right: float = 0) -> Region:
        """The region with the given fractions of its height/width cut off each side."""
        return Region(
            self.top + top * self.height,
            self.bottom - bottom * self.height,
            self.left + left * self.width,
            self.right - right * self.width,
        )

    def of(self, pixels: RGBArray) -> RGBArray:
        """The pixels inside the region, rounded to whole pixels."""
        return pixels[round(self.top) : round(self.bottom), round(self.left) : round(self.right)]


# --------------------------------------------------------------------------- the views


def bank_views(pixels: RGBArray, quality: int | None = None) -> list[View]:
    """The views whose hashes are stored for a bank entry; the first is the plain image.

    `quality` is the plain image's PDQ quality when the caller already has it."""
    if (_quality(pixels) if quality is None else quality) < QUALITY_FLOOR:
        return [View("full", pixels)]  # too flat to match: its crops must not match either
    whole = Region.whole(pixels)
    stripped = strip_region(pixels)
    specs: list[RegionSpec] = [("norm", whole), _band(whole, "band")]
    if stripped != whole:
        specs.append(("stripped", stripped))
    specs += _standard_crops(whole)
    return [View("full", pixels), *_normalised_views(pixels, specs)]


def query_views(pixels: RGBArray) -> list[View]:
    """The views hashed, each with its 8 rotations/mirrors, to look an image up."""
    whole = Region.whole(pixels)
    stripped = strip_region(pixels)
    specs: list[RegionSpec] = [("norm", whole), _band(whole, "band")]
    if stripped != whole:
        # Both bands: the bars may be added ones (band of the picture inside them) or the
        # edge of overlaid meme text mistaken for one (band of the whole image).
        specs += [("stripped", stripped), _band(stripped, "stripped-band")]
    views = [View("full", pixels), *_normalised_views(pixels, specs)]
    if any(view.name == "stripped" for view in views):
        # Banks imported as bare hashes hold only plain PDQ of the picture, which the
        # normalised view misses by ~10 bits (more on fine textures); the plain cut-out does not.
        views.append(View("stripped-plain", np.ascontiguousarray(stripped.of(pixels))))
    return views


# Symmetric crops of each side, and crops of one side: the everyday re-upload crops. Stored
# every 2.5%, because a crop more than ~1% per side away from a stored one drifts past 31.
CROP_SHARES = (0.025, 0.05, 0.075, 0.10)
# Centre crops that platforms and editors make to fit a frame: square, 4:5 portrait, 16:9.
FRAME_RATIOS = (("1:1", 1.0), ("4:5", 0.8), ("16:9", 16 / 9))
FRAME_CUTS = (0.03, 0.50)
# Meme text sits in the top and bottom ~15% of the picture; the band without them matches.
BAND_CUT = 0.15


def _standard_crops(whole: Region) -> list[RegionSpec]:
    specs: list[RegionSpec] = []
    for share in CROP_SHARES:
        label = f"{share * 100:g}"
        specs += [
            (f"crop-{label}", whole.inset(share, share, share, share)),
            (f"crop-top-{label}", whole.inset(top=share)),
            (f"crop-bottom-{label}", whole.inset(bottom=share)),
            (f"crop-left-{label}", whole.inset(left=share)),
            (f"crop-right-{label}", whole.inset(right=share)),
        ]
    for label, ratio in FRAME_RATIOS:
        framed = centre_crop(whole, ratio)
        if framed is not None:
            specs.append((f"frame-{label}", framed))
    return specs


def _band(region: Region, name: str) -> RegionSpec:
    return (name, region.inset(top=BAND_CUT, bottom=BAND_CUT))


def centre_crop(region: Region, ratio: float) -> Region | None:
    """The largest centred crop of width/height `ratio`, if it cuts a usual share (3-50%)."""
    if region.width / region.height > ratio:
        cut = 1.0 - region.height * ratio / region.width
        framed = region.inset(left=cut / 2, right=cut / 2)
    else:
        cut = 1.0 - region.width / ratio / region.height
        framed = region.inset(top=cut / 2, bottom=cut / 2)
    return framed if FRAME_CUTS[0] <= cut <= FRAME_CUTS[1] else None


def _normalised_views(pixels: RGBArray, specs: Iterable[RegionSpec]) -> list[View]:
    """Each region resampled to 64x64; too small or too flat ones are left out."""
    luma = Image.fromarray(np.ascontiguousarray(pixels)).convert("F")
    views = []
    for name, region in specs:
        if min(region.height, region.width) < MIN_VIEW_SIDE:
            continue
        normalised = normalise(luma, region)
        if _quality(normalised) >= QUALITY_FLOOR:
            views.append(View(name, normalised))
    return views


def normalise(luma: Image.Image, region: Region) -> RGBArray:
    """A region of a luminance image resampled to PDQ's 64x64 (grey RGB, uint8)."""
    box = (region.left, region.top, region.right, region.bottom)
    size = (NORMALISED_SIDE, NORMALISED_SIDE)
    # Bilinear resampling is a triangle filter scaled to the reduction: symmetric, so mirrors
    # and rotations commute with it, and smooth enough that resolution barely matters.
    small = np.asarray(luma.resize(size, Image.Resampling.BILINEAR, box=box))
    grey = np.clip(np.rint(small), 0, 255).astype(np.uint8)
    return np.ascontiguousarray(np.repeat(grey[:, :, None], 3, axis=2))


def _quality(pixels: RGBArray) -> int:
    return int(pdqhash.compute(pixels)[1])


# --------------------------------------------------------------------------- stripping bars


def trim_borders(pixels: RGBArray) -> RGBArray:
    """The picture without flat bars: borders, letterboxes and meme caption bars."""
    return strip_region(pixels).of(pixels)


def strip_region(pixels: RGBArray) -> Region:
    """Where the picture lies once flat bars (with sparse caption text) are cut off."""
    height, width = pixels.shape[:2]
    edges = [0, height, 0, width]  # top, bottom, left, right
    was_cut = [False] * 4
    changed = [True] * 4  # whether a side's lines may differ from the last look at them
    for _ in range(STRIP_ROUNDS):
        inner = pixels[edges[0] : edges[1], edges[2] : edges[3]]
        columns = inner.transpose(1, 0, 2)
        sides = (inner, inner[::-1], columns, columns[::-1])
        cuts = [
            _bar_depth(lines, BLEND_LINES if was_cut[side] else 0) if changed[side] else 0
            for side, lines in enumerate(sides)
        ]
        # Bars found from both ends of a strip can overlap (a banner of stripes): not bars.
        if cuts[0] + cuts[1] >= edges[1] - edges[0]:
            cuts[0] = cuts[1] = 0
        if cuts[2] + cuts[3] >= edges[3] - edges[2]:
            cuts[2] = cuts[3] = 0
        if not any(cuts):
            break
        for side, cut in enumerate(cuts):
            edges[side] += cut if side % 2 == 0 else -cut
            was_cut[side] = was_cut[side] or cut > 0
        # A side's lines change when it or a side across it (which trims its ends) was cut.
        rows_cut, columns_cut = bool(cuts[0] or cuts[1]), bool(cuts[2] or cuts[3])
        changed = [
            bool(cuts[0]) or columns_cut,
            bool(cuts[1]) or columns_cut,
            bool(cuts[2]) or rows_cut,
            bool(cuts[3]) or rows_cut,
        ]
    top, bottom, left, right = edges
    if (bottom - top) < MIN_KEPT_SHARE * height or (right - left) < MIN_KEPT_SHARE * width:
        return Region.whole(pixels)
    return Region(float(top), float(bottom), float(left), float(right))


def _bar_depth(lines: RGBArray, blend: int) -> int:
    """How many leading lines (rows of `lines`) form a bar, looking past `blend` mixed lines.

    Where one bar was cut, the next (a caption inside a border) starts after a few lines that
    blend both colours (resampling, JPEG chroma); they are skipped if a bar follows them.
    """
    for offset in range(blend + 1):
        depth = _flat_bar_depth(lines[offset:])
        if depth:
            return offset + depth
    return 0


def _flat_bar_depth(lines: RGBArray) -> int:
    """How many leading lines form a bar of one flat colour (0 if none).

    A bar line is uniform and of about the edge line's colour (JPEG shifts a bar's colour a
    little near whatever borders it). The bar may hold sparse text (a meme caption) but ends
    with a flat line followed by a sharp change: the cut is after the last flat line before
    the first line that is mostly not the bar's colour.
    """
    count = lines.shape[0]
    if count == 0 or lines.shape[1] == 0:
        return 0
    limit = int(count * MAX_BAR_SHARE)
    edge_lines = max(EDGE_LINES, round(count * 0.01))
    colour = np.median(lines[0], axis=0).astype(np.int16)
    if _line_stats(lines[:1], colour).uniform[0] < FLAT_SHARE:
        return 0  # the usual case, decided from one line
    stats = _scan_bar(lines[: limit + edge_lines], colour, edge_lines)
    close = (np.abs(stats.colours - colour) <= NEAR_TOLERANCE).all(axis=1)
    flat = (stats.uniform >= FLAT_SHARE) & close
    outside = np.flatnonzero(stats.near < CAPTION_SHARE)
    run = flat[: outside[0]] if outside.size else flat
    if not run.any():
        return 0
    depth = int(np.flatnonzero(run)[-1]) + 1
    if depth > limit or depth < max(2, MIN_BAR_SHARE * count):
        return 0
    after = _line_stats(lines[depth : depth + edge_lines], stats.colours[depth - 1])
    if after.near_flat.min(initial=1.0) > EDGE_SHARE:
        return 0  # fades out gradually: the picture's own flat area, not an added bar
    return depth


@dataclass(frozen=True)
class _LineStats:
    """Per line: how uniform it is, how much of it is near a colour, and its mean colour."""

    uniform: NDArray[np.float64]  # share within FLAT_TOLERANCE of the line's own mean
    near: NDArray[np.float64]  # share within NEAR_TOLERANCE of the given colour
    near_flat: NDArray[np.float64]  # share within FLAT_TOLERANCE of the given colour
    colours: NDArray[np.int16]


def _scan_bar(lines: RGBArray, colour: NDArray[np.int16], edge_lines: int) -> _LineStats:
    """Line statistics from the edge inwards, in chunks, stopping a little past the bar."""
    chunks = []
    end = lines.shape[0]
    for start in range(0, lines.shape[0], SCAN_CHUNK):
        if start >= end:
            break
        chunk = _line_stats(lines[start : start + SCAN_CHUNK], colour)
        chunks.append(chunk)
        outside = np.flatnonzero(chunk.near < CAPTION_SHARE)
        if outside.size and end == lines.shape[0]:
            end = start + int(outside[0]) + edge_lines  # the lines that decide the edge
    return _LineStats(
        *(np.concatenate([getattr(c, f.name) for c in chunks]) for f in fields(_LineStats))
    )


def _line_stats(lines: RGBArray, colour: NDArray[np.int16]) -> _LineStats:
    """Statistics of each line against its own mean colour and against `colour`."""
    # Every other pixel of a line is plenty to measure shares, at half the cost.
    pixels = lines[:, ::2].astype(np.int16)
    means = np.rint(pixels.mean(axis=1)).astype(np.int16)
    own = np.abs(pixels - means[:, None, :]).max(axis=2)
    given = np.abs(pixels - colour).max(axis=2)
    return _LineStats(
        (own <= FLAT_TOLERANCE).mean(axis=1),
        (given <= NEAR_TOLERANCE).mean(axis=1),
        (given <= FLAT_TOLERANCE).mean(axis=1),
        means,
    )
