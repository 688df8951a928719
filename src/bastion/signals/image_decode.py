"""Turn untrusted image bytes into a small RGB array for perceptual hashing, safely and fast.

Everything a hostile or broken upload can do to Pillow ends here as an `UnsupportedMedia`
error with a message that says what was wrong: not an image, truncated, a decompression bomb.
"""

from __future__ import annotations

import io
import threading
import warnings
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from bastion.errors import UnsupportedMedia

# Hashing at this size after a reduced-size JPEG decode is 6-26x faster than at full resolution
# and moves PDQ by at most ~10 bits (docs/benchmarks.md); bank entries and queries both use it.
HASH_SIDE = 512
DEFAULT_MAX_PIXELS = 100_000_000

RGBArray = NDArray[np.uint8]


@dataclass(frozen=True)
class DecodedImage:
    """An image ready for hashing: RGB pixels at most `HASH_SIDE` on the long side."""

    pixels: RGBArray
    format: str
    width: int
    height: int


# Formats a re-upload plausibly arrives in. Pillow knows many more (EPS runs Ghostscript,
# DDS, SGI, SPIDER ...): each is attack surface with no use here.
FORMATS = ("JPEG", "PNG", "GIF", "WEBP", "BMP", "TIFF")  # JPEG includes MPO
# Decoding is the memory-hungry step; at most this many run at once in a process.
_DECODES = threading.BoundedSemaphore(2)


def decode_image(
    data: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS, side: int = HASH_SIDE
) -> DecodedImage:
    """Decode, orient, convert to RGB and shrink an uploaded image; raise `UnsupportedMedia`."""
    if not data:
        raise UnsupportedMedia("The file is empty: upload the image's bytes.")
    with _DECODES:
        image = _open(data, max_pixels)
        fmt = image.format or "unknown"
        try:
            return _decode(image, fmt, side)
        except UnsupportedMedia:
            raise
        except MemoryError as exc:
            raise _bomb(max_pixels) from exc
        except Exception as exc:  # Pillow raises many types on hostile input; none may 500
            raise UnsupportedMedia(
                f"The {fmt} image is corrupt or truncated and cannot be decoded ({exc}).",
                code="corrupt_media",
            ) from exc


def _decode(image: Image.Image, fmt: str, side: int) -> DecodedImage:
    width, height = image.size
    if fmt in ("JPEG", "MPO"):
        # Let libjpeg decode at 1/2, 1/4 or 1/8 scale while staying >= side pixels.
        image.draft(image.mode, (side, side))
    image.seek(0)
    image.load()
    image = _orient(image)
    if _high_bit_depth(image.mode) and max(image.size) > side:
        # Shrink 16/32-bit data in its own mode first: converting a full-size image to
        # floats would take gigabytes for a small, highly compressible upload.
        image.thumbnail((side, side), Image.Resampling.BOX, reducing_gap=None)
    rgb = _to_rgb(image)
    if max(rgb.size) > side:
        rgb.thumbnail((side, side), Image.Resampling.BOX, reducing_gap=None)
    pixels = np.ascontiguousarray(np.asarray(rgb, dtype=np.uint8))
    return DecodedImage(pixels, fmt, width, height)


def _high_bit_depth(mode: str) -> bool:
    return mode in ("I", "F") or mode.startswith("I;")


def _open(data: bytes, max_pixels: int) -> Image.Image:
    try:
        with warnings.catch_warnings():
            # Pillow warns past its own default (89 Mpx); our limit is `max_pixels`, below.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=FORMATS)
    except Image.DecompressionBombError as exc:
        raise _bomb(max_pixels) from exc
    except UnidentifiedImageError as exc:
        if looks_like_image(data):
            raise UnsupportedMedia(
                "The file starts like an image but is corrupt and cannot be decoded.",
                code="corrupt_media",
            ) from exc
        raise UnsupportedMedia(
            "The file is not an image that can be decoded (JPEG, PNG, GIF, WebP, BMP, TIFF).",
            code="not_an_image",
        ) from exc
    except Exception as exc:  # a hostile header must not 500
        raise UnsupportedMedia(
            f"The image header is corrupt ({exc}).", code="corrupt_media"
        ) from exc
    width, height = image.size
    if width <= 0 or height <= 0:
        raise UnsupportedMedia("The image has no pixels.", code="corrupt_media")
    if width * height > max_pixels:
        raise _bomb(max_pixels, width, height)
    return image


_MAGIC = (
    b"\xff\xd8\xff",  # JPEG
    b"\x89PNG\r\n\x1a\n",
    b"GIF87a",
    b"GIF89a",
    b"II*\x00",  # TIFF, little-endian
    b"MM\x00*",  # TIFF, big-endian
)


_BMP_HEADERS = {12, 40, 52, 56, 64, 108, 124}


def looks_like_image(data: bytes) -> bool:
    """Whether the bytes start with the signature of an image format (WebP included)."""
    if data.startswith(_MAGIC) or (data[:4] == b"RIFF" and data[8:12] == b"WEBP"):
        return True
    # "BM" alone starts too many text files; a BMP also names a known DIB header size.
    return data[:2] == b"BM" and int.from_bytes(data[14:18], "little") in _BMP_HEADERS


def _bomb(max_pixels: int, width: int | None = None, height: int | None = None) -> UnsupportedMedia:
    size = f" ({width}x{height})" if width and height else ""
    return UnsupportedMedia(
        f"The image is too large to decode{size}: at most {max_pixels:,} pixels are accepted "
        "(a decompression bomb guard).",
        code="decompression_bomb",
        status_code=413,
    )


def _orient(image: Image.Image) -> Image.Image:
    """Apply the EXIF orientation; a broken EXIF block is ignored rather than fatal."""
    try:
        return ImageOps.exif_transpose(image) or image
    except Exception:  # malformed EXIF must not reject an otherwise good image
        return image


_LAB_TO_SRGB: ImageCms.ImageCmsTransform | None = None


def _to_rgb(image: Image.Image) -> Image.Image:
    """Convert any Pillow mode to RGB the way Meta's reference tools do (alpha dropped)."""
    mode = image.mode
    if mode == "RGB":
        return image
    if mode in ("I", "F") or mode.startswith("I;"):
        values = np.asarray(image, dtype=np.float64)
        top = float(values.max()) if values.size else 0.0
        # PDQ is invariant to positive scaling, so 16/32-bit data is scaled into 0..255.
        if top > 255.0:
            values = values * (255.0 / top)
        gray = Image.fromarray(np.clip(values, 0, 255).astype(np.uint8), mode="L")
        return gray.convert("RGB")
    if mode == "LAB":
        global _LAB_TO_SRGB
        if _LAB_TO_SRGB is None:
            _LAB_TO_SRGB = ImageCms.buildTransformFromOpenProfiles(
                ImageCms.createProfile("LAB"), ImageCms.createProfile("sRGB"), "LAB", "RGB"
            )
        converted = ImageCms.applyTransform(image, _LAB_TO_SRGB)
        assert converted is not None
        return converted
    if mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    return image.convert("RGB")
