"""What a viewer checks in a picture of the built-in model: its dominant colour, where the thing
that stands out is, and how close its colours are to a set of works. Used by the tiny-model tests
and tests/bench/bench_tinymodel.py."""

from __future__ import annotations

import colorsys

import numpy as np
from PIL import Image, ImageFilter

from stylevault.engine.demo_art import COLOURS, HUED_COLOURS

HUE_BINS = 36


def _hue(rgb: tuple[int, int, int]) -> float:
    return colorsys.rgb_to_hsv(*(c / 255 for c in rgb))[0]


PROMPT_HUES = {name: _hue(COLOURS[name]) for name in HUED_COLOURS}


def hue_distance(a: float, b: float) -> float:
    """Distance on the hue circle, 0 to 0.5."""
    gap = abs(a - b) % 1.0
    return min(gap, 1.0 - gap)


def dominant_hue(image: Image.Image) -> float | None:
    """The most common hue among the picture's coloured pixels (None when it has hardly any)."""
    hsv = np.asarray(image.convert("HSV"), dtype=np.float32) / 255.0
    coloured = (hsv[..., 1] > 0.35) & (hsv[..., 2] > 0.25)
    if coloured.mean() < 0.01:
        return None
    hues = hsv[..., 0][coloured]
    counts = np.bincount((hues * HUE_BINS).astype(int) % HUE_BINS, minlength=HUE_BINS)
    # Neighbouring bins count too, so a hue split over a bin edge is not undercounted.
    smoothed = counts + 0.5 * (np.roll(counts, 1) + np.roll(counts, -1))
    return (int(np.argmax(smoothed)) + 0.5) / HUE_BINS


def nearest_colour(image: Image.Image) -> str | None:
    """The hued colour word whose hue is nearest the picture's dominant hue."""
    hue = dominant_hue(image)
    if hue is None:
        return None
    return min(PROMPT_HUES, key=lambda name: hue_distance(hue, PROMPT_HUES[name]))


def standout_centre(image: Image.Image) -> tuple[float, float]:
    """(x, y), as shares of the sides, of the blob that differs most from the picture's
    usual colour: the sun on a sky, the circle on the paper."""
    side = 64
    small = image.convert("RGB").resize((side, side), Image.Resampling.BILINEAR)
    pixels = np.asarray(small, dtype=np.float32)
    median = np.median(pixels.reshape(-1, 3), axis=0)
    distance = np.linalg.norm(pixels - median, axis=2)
    blurred = Image.fromarray(np.clip(distance, 0, 255).astype(np.uint8)).filter(
        ImageFilter.BoxBlur(3)
    )
    saliency = np.asarray(blurred, dtype=np.float32)
    strong = saliency >= 0.6 * saliency.max()
    rows, cols = np.nonzero(strong)
    return (float(cols.mean()) + 0.5) / side, (float(rows.mean()) + 0.5) / side


def colour_histogram(images: list[Image.Image], bins: int = 6) -> np.ndarray:
    """Normalised joint RGB histogram of the pictures, `bins` levels per channel."""
    counts = np.zeros(bins**3)
    for image in images:
        pixels = np.asarray(image.convert("RGB").resize((64, 64)), dtype=np.int64) * bins // 256
        codes = (pixels[..., 0] * bins + pixels[..., 1]) * bins + pixels[..., 2]
        counts += np.bincount(codes.ravel(), minlength=bins**3)
    return counts / counts.sum()


def histogram_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Total variation distance between two histograms, 0 (same) to 1 (disjoint)."""
    return float(0.5 * np.abs(a - b).sum())
