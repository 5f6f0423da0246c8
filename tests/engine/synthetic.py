"""Small synthetic pictures with a recognisable 'style', made in code so tests need no files."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFilter


def strokes(seed: int, colour: tuple[int, int, int] = (30, 60, 160), size: int = 96) -> Image.Image:
    """Short horizontal ink strokes of one hue on cream paper."""
    rng = np.random.default_rng(seed)
    image = Image.new("RGB", (size, size), (245, 240, 230))
    draw = ImageDraw.Draw(image)
    for _ in range(size // 3):
        x, y = (int(v) for v in rng.integers(0, size, 2))
        tint = tuple(int(np.clip(c + rng.integers(-20, 20), 0, 255)) for c in colour)
        draw.line([(x, y), (x + size // 6, y + int(rng.integers(-2, 3)))], fill=tint, width=2)
    return image


def blobs(seed: int, size: int = 96) -> Image.Image:
    """Soft magenta discs on a dark background: nothing like `strokes`."""
    rng = np.random.default_rng(seed)
    image = Image.new("RGB", (size, size), (20, 20, 40))
    draw = ImageDraw.Draw(image)
    for _ in range(8):
        x, y = (int(v) for v in rng.integers(0, size, 2))
        r = int(rng.integers(size // 16, size // 5))
        draw.ellipse([x - r, y - r, x + r, y + r], fill=(200 + int(rng.integers(0, 55)), 50, 150))
    return image.filter(ImageFilter.GaussianBlur(size / 64))
