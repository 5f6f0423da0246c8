"""Style embeddings of images, for training-set consistency and style similarity checks.

With a CLIP vision model configured (argument, or $STYLEVAULT_CLIP_MODEL naming a local folder),
the embedding is CLIP's projected image embedding. Without one, a hand-made descriptor that needs
no weights is used; see `handmade_embedding`. The two are different spaces: never compare
vectors of one with the other (`embedding_model` names the space a vector belongs to), and
calibrate thresholds such as the 0.92 similarity flag per space.

The fallback uses only NumPy and Pillow, so it can run where torch is not installed.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from functools import lru_cache
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

HANDMADE = "handmade-v1"
_SIDE = 256  # images are compared at this size, so resolution does not change the descriptor
_SCALES = (1, 2, 4)  # texture statistics at full, half and quarter resolution
_ORIENTATION_BINS = 8
_FFT_BANDS = 8
_L_BINS, _AB_BINS = 8, 8
# Relative weight of each block in the final vector.
_BLOCK_WEIGHTS = {"colour": 1.0, "moments": 0.5, "texture": 1.0, "spectrum": 0.5}

ImageInput = Image.Image | str | os.PathLike[str]


def embedding_model(clip_model: str | None = None) -> str:
    """Names the embedding space in use: "clip:<path>" or "handmade-v1"."""
    path = clip_model or os.environ.get("STYLEVAULT_CLIP_MODEL")
    return f"clip:{path}" if path else HANDMADE


def style_embedding(images: Sequence[ImageInput], *, clip_model: str | None = None) -> np.ndarray:
    """Returns one L2-normalised float32 row per image; the same images give the same rows."""
    pictures = [_open(image) for image in images]
    path = clip_model or os.environ.get("STYLEVAULT_CLIP_MODEL")
    rows = _clip_embedding(path, pictures) if path else handmade_embedding(pictures)
    return _normalise(rows.astype(np.float32))


def handmade_embedding(images: Sequence[Image.Image]) -> np.ndarray:
    """The weight-free fallback: what an image looks like, largely regardless of what it shows.

    Each image is resized to 256x256 and described by four blocks, each L2-normalised and
    weighted before the whole vector is normalised:
    - colour: joint a*b* histogram (8x8) and L* histogram (8 bins) in CIE Lab, i.e. the palette;
    - moments: mean and standard deviation of L*, a*, b*, i.e. overall tone and contrast;
    - texture: at three scales (1, 1/2, 1/4), a magnitude-weighted histogram of gradient
      orientations (8 bins), edge density, and the Gram matrix of the responses of three
      filters (horizontal and vertical gradient, Laplacian), i.e. stroke direction and texture;
    - spectrum: share of Fourier energy in 8 logarithmic radial frequency bands, i.e. how
      smooth or busy the picture is.
    Histograms have the uniform histogram subtracted, so unrelated images do not all look alike
    merely because every histogram is positive.
    """
    return np.stack([_describe(image) for image in images])


def _open(image: ImageInput) -> Image.Image:
    picture = image if isinstance(image, Image.Image) else Image.open(Path(image))
    return picture.convert("RGB")


def _normalise(rows: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    return rows / np.maximum(norms, 1e-12)


def _describe(image: Image.Image) -> np.ndarray:
    rgb = np.asarray(image.resize((_SIDE, _SIDE), Image.Resampling.BILINEAR), dtype=np.float64)
    lab = _srgb_to_lab(rgb / 255.0)
    blocks = {
        "colour": _colour_histograms(lab),
        "moments": np.concatenate([lab.mean(axis=(0, 1)), lab.std(axis=(0, 1))]) / 100.0,
        "texture": np.concatenate([_texture(lab[..., 0], scale) for scale in _SCALES]),
        "spectrum": _spectrum(lab[..., 0]),
    }
    parts = [_BLOCK_WEIGHTS[name] * _normalise(block[None])[0] for name, block in blocks.items()]
    return np.concatenate(parts)


def _srgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """sRGB in [0, 1] to CIE Lab (D65)."""
    linear = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    to_xyz = np.array(
        [[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]
    )
    xyz = linear @ to_xyz.T / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > 216 / 24389, np.cbrt(xyz), (24389 / 27 * xyz + 16) / 116)
    lightness = 116 * f[..., 1] - 16
    return np.stack([lightness, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], -1)


def _colour_histograms(lab: np.ndarray) -> np.ndarray:
    pixels = lab.reshape(-1, 3)
    ab, _, _ = np.histogram2d(
        pixels[:, 1], pixels[:, 2], bins=_AB_BINS, range=[[-100, 100], [-100, 100]]
    )
    lightness, _ = np.histogram(pixels[:, 0], bins=_L_BINS, range=(0, 100))
    return np.concatenate([_centred(ab.ravel()), _centred(lightness)])


def _centred(histogram: np.ndarray) -> np.ndarray:
    """Histogram as shares, minus the uniform share."""
    shares = histogram / max(histogram.sum(), 1)
    return shares - 1.0 / shares.size


def _texture(lightness: np.ndarray, scale: int) -> np.ndarray:
    channel = _downscale(lightness, scale) / 100.0
    gx = np.zeros_like(channel)
    gy = np.zeros_like(channel)
    gx[:, 1:-1] = (channel[:, 2:] - channel[:, :-2]) / 2
    gy[1:-1, :] = (channel[2:, :] - channel[:-2, :]) / 2
    laplacian = np.zeros_like(channel)
    laplacian[1:-1, 1:-1] = (
        channel[:-2, 1:-1] + channel[2:, 1:-1] + channel[1:-1, :-2] + channel[1:-1, 2:]
    ) - 4 * channel[1:-1, 1:-1]
    magnitude = np.hypot(gx, gy)
    # Orientation modulo pi: a stroke and its reverse are the same direction.
    angle = np.mod(np.arctan2(gy, gx), np.pi)
    orientation, _ = np.histogram(
        angle, bins=_ORIENTATION_BINS, range=(0, np.pi), weights=magnitude
    )
    edge_density = np.mean(magnitude > 0.05)
    responses = np.stack([gx.ravel(), gy.ravel(), laplacian.ravel()])
    gram = responses @ responses.T / responses.shape[1]
    upper = gram[np.triu_indices(3)]
    return np.concatenate(
        [_centred(orientation), [edge_density], np.sign(upper) * np.sqrt(np.abs(upper))]
    )


def _downscale(channel: np.ndarray, scale: int) -> np.ndarray:
    if scale == 1:
        return channel
    side = channel.shape[0] // scale
    return channel[: side * scale, : side * scale].reshape(side, scale, side, scale).mean((1, 3))


def _spectrum(lightness: np.ndarray) -> np.ndarray:
    centred = lightness - lightness.mean()
    power = np.abs(np.fft.fftshift(np.fft.fft2(centred))) ** 2
    side = power.shape[0]
    yy, xx = np.indices(power.shape) - side // 2
    radius = np.hypot(yy, xx)
    edges = np.geomspace(1, side // 2, _FFT_BANDS + 1)
    bands = np.array(
        [power[(radius >= low) & (radius < high)].sum() for low, high in pairwise(edges)]
    )
    return _centred(bands)


def _clip_embedding(path: str, images: list[Image.Image]) -> np.ndarray:
    import torch  # only the CLIP path needs torch

    model, processor = _clip(path)
    with torch.no_grad():
        inputs = processor(images=images, return_tensors="pt").to(model.device)
        return model(**inputs).image_embeds.float().cpu().numpy()


@lru_cache(maxsize=1)
def _clip(path: str) -> tuple[Any, Any]:
    # transformers (and torch) load only when the embedding model is first used.
    from transformers import CLIPImageProcessor, CLIPVisionModelWithProjection

    model = CLIPVisionModelWithProjection.from_pretrained(path, local_files_only=True).eval()
    return model, CLIPImageProcessor.from_pretrained(path, local_files_only=True)
