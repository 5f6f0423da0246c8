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


def place_signature(image: Image.Image, signature: Image.Image) -> Image.Image:
    """`image` with `signature` placed by SIGNATURE_RULE (a new RGB image)."""
    base = image.convert("RGB")
    side = min(base.size)
    width = max(8, round(side * SIGNATURE_RULE["width"]))
    height = max(1, round(signature.height * width / signature.width))
    if height > width:  # a tall signature: as high as the rule's width, narrower
        width, height = max(1, round(signature.width * width / signature.height)), width
    mark = _cut_out(signature).resize((width, height), Image.Resampling.LANCZOS)
    alpha = (np.asarray(mark.getchannel("A"), dtype=np.float32) * SIGNATURE_RULE["opacity"]).astype(
        np.uint8
    )
    mark.putalpha(Image.fromarray(alpha, "L"))
    margin = round(side * SIGNATURE_RULE["margin"])
    position = (base.width - width - margin, base.height - height - margin)
    base.paste(mark, position, mark)
    return base
