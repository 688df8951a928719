"""What the console shows of an image: a blurred grayscale placeholder until a moderator
reveals it, then the image itself (grayscale by default).

Rendered on the server so that the unblurred pixels never reach the browser before the
(audited) reveal; a CSS blur would only hide what was already sent.
"""

from __future__ import annotations

import io

from PIL import Image, ImageFilter

from bastion.signals.image_decode import decode_image

SHOWN_SIDE = 720
# Shrinking this far, then blurring, leaves colour fields and no recognisable shapes or text.
BLUR_SIDE = 24


def render_preview(data: bytes, *, revealed: bool, grayscale: bool, max_pixels: int) -> bytes:
    """A JPEG of the image: blurred and grayscale unless revealed; raises UnsupportedMedia."""
    decoded = decode_image(data, max_pixels=max_pixels, side=SHOWN_SIDE)
    image = Image.fromarray(decoded.pixels, mode="RGB")
    if not revealed:
        width, height = image.size
        small = image.copy()
        small.thumbnail((BLUR_SIDE, BLUR_SIDE), Image.Resampling.BOX)
        image = small.resize((width, height), Image.Resampling.BILINEAR)
        image = image.filter(ImageFilter.GaussianBlur(radius=max(width, height) / 40))
        grayscale = True
    if grayscale:
        image = image.convert("L")
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=85)
    return out.getvalue()
