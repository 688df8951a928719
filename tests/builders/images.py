"""Test images, the everyday edits of re-uploads, and PDQ distance measurements over them.

Generated images are smooth random fields, gradients and shapes, each seed a different picture.
Real images are the photographs that scikit-image ships (no network needed). Edits return the
bytes a re-uploader would send, so tests run them through `decode_image` like real uploads.
The measuring helpers at the end are shared by tests/test_robustness.py and
benchmarks/robustness_table.py.
"""

from __future__ import annotations

import io
import multiprocessing
import os
import random
import warnings
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageDraw, ImageEnhance, ImageFont, ImageOps

from bastion.signals.image_decode import RGBArray, decode_image
from bastion.signals.pdq import PdqHash, hash_dihedral, hash_pixels
from bastion.signals.pdq_views import View, bank_views, query_views

Edit = Callable[[Image.Image, random.Random], bytes]

# Photographs bundled with scikit-image. Left out: `cat` (the same file as `chelsea`),
# synthetic test patterns (checkerboard, binary_blobs, shepp_logan_phantom), images under
# 128 px (microaneurysms) and the ones that need a download (brain, eagle, lily, ...).
REAL_PHOTO_NAMES = (
    "astronaut",
    "brick",
    "camera",
    "cell",
    "chelsea",
    "clock",
    "coffee",
    "coins",
    "grass",
    "gravel",
    "hubble_deep_field",
    "immunohistochemistry",
    "moon",
    "page",
    "retina",
    "rocket",
    "stereo_motorcycle",
    "text",
)
# Bundled images that are drawings, not photographs: a rendered colour chart, a silhouette, a
# logo on white. Measured by benchmarks/robustness_table.py, not held to the photo targets.
OTHER_BUNDLED_NAMES = ("colorwheel", "horse", "logo")

_WORDS = (
    "when the",
    "nobody",
    "expects",
    "monday",
    "again",
    "me after",
    "one more",
    "this is",
    "fine",
    "literally",
    "every time",
    "the plan",
    "how it",
    "started",
    "going",
    "ends",
    "breaking",
    "news",
    "why",
    "never",
    "forget",
    "look at",
    "that",
    "real",
)


def encode(image: Image.Image, fmt: str = "JPEG", quality: int = 90) -> bytes:
    """Encode an image as a re-upload would (JPEG at `quality`, or fast PNG)."""
    buffer = io.BytesIO()
    if fmt == "PNG":
        image.save(buffer, format="PNG", compress_level=1)
    else:
        image.convert("RGB").save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


# --------------------------------------------------------------------------- source images


def generated_image(seed: int) -> Image.Image:
    """A 640-1280 px picture unique to `seed`: smooth noise, a gradient and shapes."""
    rng = np.random.default_rng(seed)
    width, height = (int(v) for v in rng.integers(640, 1281, size=2))
    canvas = Image.fromarray(_background(rng, width, height)).convert("RGBA")
    overlay = Image.new("RGBA", canvas.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    for _ in range(int(rng.integers(12, 30))):
        _draw_shape(draw, rng, width, height)
    picture = Image.alpha_composite(canvas, overlay).convert("RGB")
    # Sensor-like grain so JPEG behaves as on photos, not on flat synthetic colour.
    grain = rng.normal(0.0, float(rng.uniform(1.0, 5.0)), size=(height, width, 1))
    pixels = np.asarray(picture, dtype=np.float32) + grain
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def _background(rng: np.random.Generator, width: int, height: int) -> NDArray[np.uint8]:
    """Random coarse and finer smooth fields per channel blended with a random linear gradient."""
    field = _smooth_field(rng, width, height, 2, 9) * float(rng.uniform(25.0, 60.0))
    # Mid-frequency detail, as photos have: without it PDQ rates many images low in quality.
    field += _smooth_field(rng, width, height, 12, 40) * float(rng.uniform(20.0, 40.0))
    field += _smooth_field(rng, width, height, 12, 40)[..., :1] * float(rng.uniform(15.0, 30.0))
    field = 128.0 + field
    angle = float(rng.uniform(0.0, 2.0 * np.pi))
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    ramp = (np.cos(angle) * xs / width + np.sin(angle) * ys / height)[..., None]
    start, end = rng.uniform(0, 255, size=(2, 3)).astype(np.float32)
    mix = float(rng.uniform(0.3, 0.7))
    gradient = start + (end - start) * (ramp - ramp.min()) / max(float(np.ptp(ramp)), 1e-6)
    blended: NDArray[np.float32] = mix * gradient + (1.0 - mix) * field
    return np.clip(blended, 0, 255).astype(np.uint8)


def _smooth_field(
    rng: np.random.Generator, width: int, height: int, low: int, high: int
) -> np.ndarray:
    """Gaussian noise on a random coarse grid, upscaled smoothly: one field per RGB channel."""
    cells = (int(rng.integers(low, high)), int(rng.integers(low, high)))
    field = np.empty((height, width, 3), dtype=np.float32)
    for channel in range(3):
        coarse = rng.normal(0.0, 1.0, size=cells).astype(np.float32)
        small = Image.fromarray(coarse).resize((width, height), Image.Resampling.BICUBIC)
        field[..., channel] = np.asarray(small)
    return field


def _draw_shape(
    draw: ImageDraw.ImageDraw, rng: np.random.Generator, width: int, height: int
) -> None:
    red, green, blue = (int(v) for v in rng.integers(0, 256, size=3))
    colour = (red, green, blue, int(rng.integers(140, 256)))
    cx, cy = float(rng.uniform(0, width)), float(rng.uniform(0, height))
    rx = float(rng.uniform(0.04, 0.3)) * width
    ry = float(rng.uniform(0.04, 0.3)) * height
    box = (cx - rx, cy - ry, cx + rx, cy + ry)
    kind = int(rng.integers(0, 4))
    if kind == 0:
        draw.ellipse(box, fill=colour)
    elif kind == 1:
        draw.rectangle(box, fill=colour)
    elif kind == 2:
        corners = int(rng.integers(3, 7))
        angles = np.sort(rng.uniform(0, 2 * np.pi, size=corners))
        points = [(cx + rx * np.cos(a), cy + ry * np.sin(a)) for a in angles]
        draw.polygon([(float(x), float(y)) for x, y in points], fill=colour)
    else:
        end = (float(rng.uniform(0, width)), float(rng.uniform(0, height)))
        draw.line([(cx, cy), end], fill=colour, width=int(rng.integers(4, 30)))


def real_images(names: Sequence[str] = REAL_PHOTO_NAMES) -> list[tuple[str, Image.Image]]:
    """The scikit-image images of `names` that load offline, as RGB images."""
    try:
        import skimage.data
    except ImportError:  # a dev dependency; without it only generated images are used
        return []

    found = []
    for name in names:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                data = getattr(skimage.data, name)()
        except Exception:  # optional data files (pooch downloads) are simply absent here
            continue
        if isinstance(data, tuple):  # stereo_motorcycle: (left, right, disparity)
            data = data[0]
        found.append((name, _to_rgb_image(np.asarray(data))))
    return found


def _to_rgb_image(data: np.ndarray) -> Image.Image:
    if data.dtype == bool:
        data = data.astype(np.uint8) * 255
    elif data.dtype != np.uint8:
        data = np.clip(data * (255.0 / max(float(data.max()), 1e-6)), 0, 255).astype(np.uint8)
    if data.ndim == 2:
        return Image.fromarray(data).convert("RGB")
    if data.shape[2] == 4:
        return Image.fromarray(data).convert("RGB")
    return Image.fromarray(np.ascontiguousarray(data[..., :3]))


# --------------------------------------------------------------------------- edits


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=max(size, 8))


def _words(rnd: random.Random, count: int) -> str:
    return " ".join(rnd.choice(_WORDS) for _ in range(count))


def crop(image: Image.Image, top: float, bottom: float, left: float, right: float) -> Image.Image:
    """Cut the given fractions off each side."""
    w, h = image.size
    return image.crop(
        (round(w * left), round(h * top), w - round(w * right), h - round(h * bottom))
    )


def pad(
    image: Image.Image, top: int, bottom: int, left: int, right: int, colour: tuple[int, ...]
) -> Image.Image:
    """Add solid bars of the given pixel sizes around the image."""
    return ImageOps.expand(image, border=(left, top, right, bottom), fill=colour)


def caption_bar(
    image: Image.Image,
    rnd: random.Random,
    share: float,
    lines: int,
    *,
    above: bool,
    dark: bool = False,
) -> Image.Image:
    """Meme-style caption: a flat bar of `share` of the new height with text, above or below."""
    w, h = image.size
    bar_h = round(h * share / (1.0 - share))
    background, ink = ((0, 0, 0), (255, 255, 255)) if dark else ((255, 255, 255), (0, 0, 0))
    bar = Image.new("RGB", (w, bar_h), background)
    draw = ImageDraw.Draw(bar)
    line_h = bar_h / (lines + 1)
    font = _font(round(line_h * 0.8))
    for i in range(lines):
        text = _words(rnd, rnd.randint(2, 4))
        length = draw.textlength(text, font=font)
        x = max((w - length) / 2, w * 0.03)
        draw.text((x, line_h * (i + 0.55)), text, fill=ink, font=font)
    out = Image.new("RGB", (w, h + bar_h))
    out.paste(bar, (0, 0 if above else h))
    out.paste(image, (0, bar_h if above else 0))
    return out


def overlay_caption(image: Image.Image, rnd: random.Random) -> Image.Image:
    """Classic meme text: big white letters with a black outline over the top and bottom."""
    out = image.copy()
    draw = ImageDraw.Draw(out)
    w, h = out.size
    for y_share in (0.02, 0.86):
        text = _words(rnd, 2).upper()
        size = round(h * 0.11)
        # Shrink long lines to fit the width, as meme generators do.
        size = min(size, int(size * w * 0.94 / max(draw.textlength(text, font=_font(size)), 1)))
        font = _font(size)
        length = draw.textlength(text, font=font)
        draw.text(
            ((w - length) / 2, h * y_share),
            text,
            fill=(255, 255, 255),
            font=font,
            stroke_width=max(2, round(size * 0.08)),
            stroke_fill=(0, 0, 0),
        )
    return out


def watermark(image: Image.Image, rnd: random.Random) -> Image.Image:
    """A small semi-transparent handle in a corner, as reposting accounts stamp."""
    out = image.convert("RGBA")
    layer = Image.new("RGBA", out.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    w, h = out.size
    font = _font(round(min(w, h) * 0.04))
    text = f"@{rnd.choice(_WORDS).replace(' ', '')}{rnd.randint(10, 9999)}"
    length = draw.textlength(text, font=font)
    draw.text((w - length - w * 0.03, h * 0.92), text, fill=(255, 255, 255, 170), font=font)
    return Image.alpha_composite(out, layer).convert("RGB")


def _bordered(image: Image.Image, rnd: random.Random) -> Image.Image:
    w, h = image.size
    share = rnd.uniform(0.05, 0.10)
    colour = tuple(rnd.randrange(256) for _ in range(3))
    size = round(min(w, h) * share)
    return pad(image, size, size, size, size, colour)


def _letterboxed(image: Image.Image, rnd: random.Random) -> Image.Image:
    h = image.height
    # Fit into a frame taller than the picture, as a 16:9 video in a square or portrait player.
    bar = round(h * rnd.uniform(0.12, 0.25))
    return pad(image, bar, bar, 0, 0, (0, 0, 0))


def _jpeg(quality: int) -> Edit:
    return lambda image, rnd: encode(image, "JPEG", quality)


def _pixels(change: Callable[[Image.Image, random.Random], Image.Image]) -> Edit:
    return lambda image, rnd: encode(change(image, rnd), "JPEG", 90)


EDITS: dict[str, Edit] = {
    "jpeg-q20": _jpeg(20),
    "jpeg-q50": _jpeg(50),
    "resize-25%": _pixels(
        lambda im, r: im.resize(
            (max(im.width // 4, 1), max(im.height // 4, 1)), Image.Resampling.LANCZOS
        )
    ),
    "brightness+30%": _pixels(lambda im, r: ImageEnhance.Brightness(im).enhance(1.3)),
    "brightness-30%": _pixels(lambda im, r: ImageEnhance.Brightness(im).enhance(0.7)),
    "grayscale": _pixels(lambda im, r: im.convert("L")),
    "watermark": _pixels(watermark),
    "crop-2.5%-each-side": _pixels(lambda im, r: crop(im, 0.025, 0.025, 0.025, 0.025)),
    "crop-5%-each-side": _pixels(lambda im, r: crop(im, 0.05, 0.05, 0.05, 0.05)),
    "crop-5%-top": _pixels(lambda im, r: crop(im, 0.05, 0, 0, 0)),
    "crop-5%-bottom": _pixels(lambda im, r: crop(im, 0, 0.05, 0, 0)),
    "crop-5%-left": _pixels(lambda im, r: crop(im, 0, 0, 0.05, 0)),
    "crop-5%-right": _pixels(lambda im, r: crop(im, 0, 0, 0, 0.05)),
    "border-5-10%": _pixels(_bordered),
    "letterbox": _pixels(_letterboxed),
    "caption-bar": _pixels(lambda im, r: caption_bar(im, r, r.uniform(0.15, 0.20), 1, above=True)),
    "large-caption": _pixels(overlay_caption),
    "rotate-90": _pixels(lambda im, r: im.transpose(Image.Transpose.ROTATE_90)),
    "mirror": _pixels(lambda im, r: im.transpose(Image.Transpose.FLIP_LEFT_RIGHT)),
}


def _random_crop(image: Image.Image, rnd: random.Random) -> Image.Image:
    return crop(image, *(rnd.uniform(0.0, 0.05) for _ in range(4)))


def _random_symmetric_crop(image: Image.Image, rnd: random.Random) -> Image.Image:
    share = rnd.uniform(0.0, 0.10)
    return crop(image, share, share, share, share)


def _random_one_side_crop(image: Image.Image, rnd: random.Random) -> Image.Image:
    shares = [0.0, 0.0, 0.0, 0.0]
    shares[rnd.randrange(4)] = rnd.uniform(0.0, 0.12)
    return crop(image, *shares)


def _square(image: Image.Image, rnd: random.Random) -> Image.Image:
    w, h = image.size
    side = min(w, h)
    return image.crop(
        ((w - side) // 2, (h - side) // 2, (w - side) // 2 + side, (h - side) // 2 + side)
    )


def _portrait_frame(image: Image.Image, rnd: random.Random) -> Image.Image:
    """The picture in a 9:16 portrait frame with black bars, as short-video apps show photos."""
    w, h = image.size
    bar = max(0, round((w * 16 / 9 - h) / 2))
    return pad(image, bar, bar, 0, 0, (0, 0, 0))


# Edits beyond the asserted set, measured in benchmarks/robustness_table.py: crops off the
# stored grid show how far crop matching reaches, and caption variants the bar stripping.
EXTRA_EDITS: dict[str, Edit] = {
    "crop-random-0-5%-each-side": _pixels(_random_crop),
    "crop-random-symmetric-0-10%": _pixels(_random_symmetric_crop),
    "crop-random-one-side-0-12%": _pixels(_random_one_side_crop),
    "crop-to-square": _pixels(_square),
    "portrait-frame-9:16": _pixels(_portrait_frame),
    "caption-bar-below-dark": _pixels(
        lambda im, r: caption_bar(im, r, r.uniform(0.12, 0.25), 2, above=False, dark=True)
    ),
    "caption-bar-and-border": _pixels(
        lambda im, r: _bordered(caption_bar(im, r, r.uniform(0.15, 0.2), 1, above=True), r)
    ),
}


# --------------------------------------------------------------------------- measuring

NO_MATCH = 257  # the distance reported where there is nothing to compare: never a match


@dataclass(frozen=True)
class Hashes:
    """The matchable PDQ hashes of one image: one row of 32 bytes per (view, rotation)."""

    views: tuple[str, ...]
    bits: NDArray[np.uint8]

    def only(self, view: str) -> Hashes:
        """The hashes of one view."""
        keep = [i for i, name in enumerate(self.views) if name == view]
        return Hashes(tuple(self.views[i] for i in keep), self.bits[keep])


def bank_hashes(pixels: RGBArray, *, views: bool = True) -> Hashes:
    """What a bank entry stores: each bank view upright (only "full" without `views`)."""
    chosen = bank_views(pixels) if views else [View("full", pixels)]
    hashed = [(view.name, hash_pixels(view.pixels)) for view in chosen]
    return _hashes((name, h.digest, h.quality) for name, h in hashed)


def query_hashes(pixels: RGBArray, *, views: bool = True, dihedral: bool = True) -> Hashes:
    """What a lookup compares: each query view under all 8 rotations and mirrors.

    Without `views` only the plain image is hashed; without `dihedral` only upright.
    """
    chosen = query_views(pixels) if views else [View("full", pixels)]
    rows = []
    for view in chosen:
        hashed = hash_dihedral(view.pixels) if dihedral else [hash_pixels(view.pixels)]
        rows += [(view.name, h.digest, h.quality) for h in hashed]
    if not PdqHash(rows[0][1], rows[0][2]).matchable():
        rows = []  # as the service does: a query whose full image is too flat is not matched
    return _hashes(rows)


def _hashes(rows: Iterable[tuple[str, bytes, int | None]]) -> Hashes:
    kept = [(n, d) for n, d, q in rows if PdqHash(d, q).matchable()]
    bits = np.frombuffer(b"".join(d for _, d in kept), dtype=np.uint8).reshape(-1, 32)
    return Hashes(tuple(n for n, _ in kept), bits)


def min_distance(query: Hashes, bank: Hashes) -> int:
    """The smallest Hamming distance between any query hash and any bank hash."""
    return int(min_distance_matrix([query], [bank])[0, 0])


def min_distance_matrix(queries: Sequence[Hashes], banks: Sequence[Hashes]) -> NDArray[np.int32]:
    """Smallest distance for every (query, bank) pair, by numpy popcount over padded stacks."""
    width = max((len(b.views) for b in banks), default=0) or 1
    stack = np.zeros((len(banks), width, 4), dtype=np.uint64)
    present = np.zeros((len(banks), width), dtype=bool)
    for i, bank in enumerate(banks):
        stack[i, : len(bank.views)] = bank.bits.view(np.uint64)
        present[i, : len(bank.views)] = True
    out = np.full((len(queries), len(banks)), NO_MATCH, dtype=np.int32)
    for i, query in enumerate(queries):
        if not query.views:
            continue
        words = query.bits.view(np.uint64)
        distances = _popcount(words[:, None, None, :] ^ stack[None]).sum(axis=-1)
        distances = np.where(present[None], distances, NO_MATCH)
        out[i] = distances.min(axis=(0, 2))
    return out


_BYTE_BITS = np.array([bin(i).count("1") for i in range(256)], dtype=np.int32)


def _popcount(words: NDArray[np.uint64]) -> NDArray[np.int32]:
    """Set bits per 64-bit word (np.bitwise_count where numpy has it, a byte table otherwise)."""
    if hasattr(np, "bitwise_count"):
        counted: NDArray[np.int32] = np.bitwise_count(words).astype(np.int32)
        return counted
    as_bytes = words.view(np.uint8).reshape(*words.shape, 8)
    summed: NDArray[np.int32] = _BYTE_BITS[as_bytes].sum(axis=-1)
    return summed


@dataclass(frozen=True)
class Measured:
    """One original: its bank hashes, its own query hashes, and those of each edited copy."""

    name: str
    bank: Hashes
    query: Hashes
    edited: dict[str, Hashes]


def measure(name: str, image: Image.Image, edits: Mapping[str, Edit]) -> Measured:
    """Hash an original as a bank entry and each edited re-upload as a lookup."""
    pixels = decode_image(encode(image, "PNG")).pixels
    edited = {}
    for edit, make in edits.items():
        # One seed per image and edit, stable across runs (str hashes are salted per process).
        rnd = random.Random(zlib.crc32(f"{name}/{edit}".encode()))
        edited[edit] = query_hashes(decode_image(make(image, rnd)).pixels)
    return Measured(name, bank_hashes(pixels), query_hashes(pixels), edited)


def measure_generated(seed: int) -> Measured:
    """A generated picture measured with every edit."""
    return measure(f"generated-{seed}", generated_image(seed), EDITS)


def measure_bundled(name: str) -> Measured | None:
    """A scikit-image picture measured with every edit; None where it is absent."""
    found = real_images((name,))
    return measure(name, found[0][1], EDITS) if found else None


def measure_unedited(picture: int | str) -> Measured | None:
    """A generated picture (a seed) or a scikit-image one (a name), hashed with no edits."""
    if isinstance(picture, int):
        return measure(f"generated-{picture}", generated_image(picture), {})
    found = real_images((picture,))
    return measure(picture, found[0][1], {}) if found else None


def in_processes(function: Callable[[Any], Any], items: Sequence[Any]) -> list[Any]:
    """`function` over `items`, in order, in one process per core: hashing runs on one core,
    and the robustness measurements are the slowest part of the suite."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1
    if cores < 2 or len(items) < 2:
        return [function(item) for item in items]
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(min(cores, len(items)), mp_context=context) as pool:
        return list(pool.map(function, items))
