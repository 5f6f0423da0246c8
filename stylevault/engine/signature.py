"""The artist's visible signature on every delivered image, placed by one fixed rule.

The same function renders the preview an artist sees when applying, so what they approve is
exactly what buyers get.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

# Bottom-right corner; the signature's width is a share of the image's shorter side.
SIGNATURE_RULE = {"corner": "bottom-right", "width": 0.18, "margin": 0.03, "opacity": 0.85}
_PAPER_THRESHOLD = 235  # near-white pixels of a scanned signature become transparent


def _cut_out(signature: Image.Image) -> Image.Image:
    """The signature's ink on a transparent background."""
    rgba = signature.convert("RGBA")
    pixels = np.asarray(rgba).copy()
    paper = pixels[..., :3].min(axis=-1) >= _PAPER_THRESHOLD
    pixels[..., 3] = np.where(paper, 0, pixels[..., 3])
    return Image.fromarray(pixels, "RGBA")


def signature_box(
    image_size: tuple[int, int], signature_size: tuple[int, int]
) -> tuple[int, int, int, int]:
    """Where SIGNATURE_RULE puts a signature of `signature_size` on an image: (x0, y0, x1, y1)."""
    image_width, image_height = image_size
    side = min(image_size)
    width = max(8, round(side * SIGNATURE_RULE["width"]))
    height = max(1, round(signature_size[1] * width / signature_size[0]))
    if height > width:  # a tall signature: as high as the rule's width, narrower
        width, height = max(1, round(signature_size[0] * width / signature_size[1])), width
    margin = round(side * SIGNATURE_RULE["margin"])
    x0, y0 = image_width - width - margin, image_height - height - margin
    return x0, y0, x0 + width, y0 + height


def place_signature(image: Image.Image, signature: Image.Image) -> Image.Image:
    """`image` with `signature` placed by SIGNATURE_RULE (a new RGB image)."""
    base = image.convert("RGB")
    x0, y0, x1, y1 = signature_box(base.size, signature.size)
    mark = _cut_out(signature).resize((x1 - x0, y1 - y0), Image.Resampling.LANCZOS)
    alpha = (np.asarray(mark.getchannel("A"), dtype=np.float32) * SIGNATURE_RULE["opacity"]).astype(
        np.uint8
    )
    mark.putalpha(Image.fromarray(alpha, "L"))
    base.paste(mark, (x0, y0), mark)
    return base
