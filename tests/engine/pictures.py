"""Procedural pictures and the attacks the provenance tests and benchmark apply to them.

Each picture mixes a photo-like smooth field or a gradient, soft and hard shapes, text-like
strokes and grain, so watermark and fingerprint are tried on flat, textured and busy content.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageDraw, ImageFilter


def _smooth_field(rng: np.random.Generator, size: int) -> Image.Image:
    """Low-resolution colour noise blown up with bicubic filtering: skies, skin, bokeh."""
    cells = int(rng.integers(2, 7))
    small = rng.integers(0, 256, (cells, cells, 3), dtype=np.uint8)
    return Image.fromarray(small).resize((size, size), Image.Resampling.BICUBIC)


def _gradient(rng: np.random.Generator, size: int) -> Image.Image:
    angle = rng.uniform(0, 2 * np.pi)
    ramp = np.linspace(-1.0, 1.0, size, dtype=np.float32)
    t = (np.cos(angle) * ramp[None, :] + np.sin(angle) * ramp[:, None] + 1.5) / 3.0
    start, end = rng.uniform(0, 255, 3), rng.uniform(0, 255, 3)
    pixels = start + t[..., None] * (end - start)
    return Image.fromarray(pixels.astype(np.uint8))


def _shapes(rng: np.random.Generator, image: Image.Image) -> None:
    draw = ImageDraw.Draw(image)
    size = image.width
    for _ in range(int(rng.integers(3, 12))):
        x, y = rng.integers(0, size, 2)
        r = int(rng.integers(size // 20, size // 4))
        box = [int(x - r), int(y - r), int(x + r), int(y + int(r * rng.uniform(0.4, 1.6)))]
        fill = tuple(int(c) for c in rng.integers(0, 256, 3))
        if rng.random() < 0.5:
            draw.ellipse(box, fill=fill)
        else:
            draw.rectangle(box, fill=fill)


def _strokes(rng: np.random.Generator, image: Image.Image) -> None:
    """Rows of short pen strokes that read like handwriting or lettering."""
    draw = ImageDraw.Draw(image)
    size = image.width
    ink = tuple(int(c) for c in rng.integers(0, 256, 3))
    step = max(3, size // 64)
    for _ in range(int(rng.integers(1, 5))):
        x, y = int(rng.integers(0, size // 2)), int(rng.integers(0, size))
        for _ in range(int(rng.integers(8, 30))):
            dx, dy = (int(v) for v in rng.integers(-step, step + 1, 2))
            draw.line([(x, y), (x + dx, y + dy)], fill=ink, width=max(1, size // 256))
            x += step
            y += int(rng.integers(-1, 2))


def _texture(rng: np.random.Generator, image: Image.Image) -> Image.Image:
    """A patch of periodic stripes (fabric, fences, tiles): the hardest case for a periodic mark."""
    size = image.width
    period = rng.uniform(4, size / 8)
    angle = rng.uniform(0, np.pi)
    axis = np.arange(size, dtype=np.float32)
    phase = (np.cos(angle) * axis[None, :] + np.sin(angle) * axis[:, None]) * (2 * np.pi / period)
    stripes = 128 + 100 * np.sign(np.sin(phase))[..., None] * rng.uniform(0.2, 1.0, 3)
    x, y = rng.integers(0, size // 2, 2)
    w, h = rng.integers(size // 4, size // 2, 2)
    pixels = np.asarray(image).copy()
    pixels[y : y + h, x : x + w] = stripes[y : y + h, x : x + w].astype(np.uint8)
    return Image.fromarray(pixels)


def picture(seed: int, size: int = 512) -> Image.Image:
    """A deterministic varied RGB picture of `size`×`size` pixels."""
    rng = np.random.default_rng(seed)
    image = _smooth_field(rng, size) if rng.random() < 0.5 else _gradient(rng, size)
    _shapes(rng, image)
    if rng.random() < 0.3:
        image = _texture(rng, image)
    if rng.random() < 0.5:
        image = image.filter(ImageFilter.GaussianBlur(size * rng.uniform(0.002, 0.01)))
    _strokes(rng, image)
    grain = rng.uniform(0, 6)
    noise = rng.standard_normal((size, size, 1), dtype=np.float32) * grain
    pixels = np.asarray(image, dtype=np.float32) + noise
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def jpeg(image: Image.Image, quality: int = 50) -> Image.Image:
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, "JPEG", quality=quality)
    return Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")


def half(image: Image.Image) -> Image.Image:
    return image.resize((image.width // 2, image.height // 2), Image.Resampling.BILINEAR)


def crop(image: Image.Image, seed: int, area: float = 0.8) -> Image.Image:
    """Keeps `area` of the picture (the same fraction of each side) at a random offset."""
    rng = np.random.default_rng(seed)
    keep = area**0.5
    w, h = round(image.width * keep), round(image.height * keep)
    left = int(rng.integers(0, image.width - w + 1))
    top = int(rng.integers(0, image.height - h + 1))
    return image.crop((left, top, left + w, top + h))


def rotate(image: Image.Image, degrees: float = 2.0) -> Image.Image:
    """Straightening as photo editors do it: rotate, then crop the black corners away."""
    turned = image.rotate(degrees, resample=Image.Resampling.BICUBIC)
    angle = np.radians(abs(degrees))
    keep = 1.0 / (np.cos(angle) + np.sin(angle) * max(image.size) / min(image.size))
    w, h = int(image.width * keep), int(image.height * keep)
    left, top = (image.width - w) // 2, (image.height - h) // 2
    return turned.crop((left, top, left + w, top + h))


def chain(image: Image.Image, seed: int) -> Image.Image:
    return jpeg(rotate(crop(half(image), seed)))


ATTACKS = {
    "jpeg50": lambda image, seed: jpeg(image),
    "resize50": lambda image, seed: half(image),
    "crop80": crop,
    "rotate2": lambda image, seed: rotate(image),
    "chain": chain,
}
