"""Cheap progress previews: latents to a small RGB picture with one linear map, no VAE decode.

The map (latent channels + bias -> RGB) is fitted once per pipeline by least squares: procedural
scenes are encoded by the pipeline's own VAE and their latents mapped to their colours, so it suits
any base model (SD 1.5, SDXL, Flux, tiny) without borrowed constants. Previews are rough colour-and-layout sketches, as they are meant to be.
"""

from __future__ import annotations

import io

import numpy as np
import torch
import torch.nn.functional as F
from diffusers import DiffusionPipeline
from PIL import Image

from stylevault.engine.demo_art import scene_corpus

_CALIBRATION_SEED = 0
_CALIBRATION_LATENT_SIDE = 16
_CALIBRATION_PICTURES = 24


class LatentPreviewer:
    """Turns the latents a pipeline hands to its step callback into small PNG bytes."""

    def __init__(self, pipe: DiffusionPipeline, size: int = 64) -> None:
        self.pipe = pipe
        self.size = size
        self._weights: torch.Tensor | None = None  # (channels + 1, 3), fitted on first use

    def png(self, latents: torch.Tensor, width: int, height: int) -> bytes:
        """PNG of the first image in the batch, longest side `size` pixels."""
        latents = self._spatial(latents, width, height)[0].float().cpu()
        weights = self._fitted(latents.shape[0])
        channels, rows, cols = latents.shape
        features = torch.cat([latents.reshape(channels, -1).T, torch.ones(rows * cols, 1)], dim=1)
        rgb = ((features @ weights).clamp(-1, 1) + 1) * 127.5
        picture = Image.fromarray(rgb.reshape(rows, cols, 3).to(torch.uint8).numpy())
        scale = self.size / max(width, height)
        picture = picture.resize(
            (max(1, round(width * scale)), max(1, round(height * scale))), Image.Resampling.BILINEAR
        )
        buffer = io.BytesIO()
        picture.save(buffer, format="PNG")
        return buffer.getvalue()

    def _spatial(self, latents: torch.Tensor, width: int, height: int) -> torch.Tensor:
        # Flux hands packed (batch, tokens, channels) latents to callbacks.
        if latents.ndim == 3:
            return self.pipe._unpack_latents(latents, height, width, self.pipe.vae_scale_factor)
        return latents

    def _fitted(self, channels: int) -> torch.Tensor:
        if self._weights is None:
            self._weights = _fit_linear_decoder(self.pipe, channels)
        return self._weights


@torch.no_grad()
def _fit_linear_decoder(pipe: DiffusionPipeline, channels: int) -> torch.Tensor:
    """Least-squares map from pipeline-space latents (+1 for bias) to the pictures' colours.

    Fitted on real latents (procedural scenes encoded by the pipeline's own VAE), not random
    ones: a trained VAE decodes random latents to colours no render ever has.
    """
    vae = pipe.vae
    side = _CALIBRATION_LATENT_SIDE
    scale = int(pipe.vae_scale_factor)
    pictures = [
        image
        for image, _, _ in scene_corpus(_CALIBRATION_PICTURES, side * scale, _CALIBRATION_SEED)
    ]
    pixels = torch.stack([torch.from_numpy(np.asarray(p, dtype=np.float32)) for p in pictures])
    pixels = pixels.permute(0, 3, 1, 2) / 127.5 - 1.0
    encoded = vae.encode(pixels.to(vae.device, vae.dtype)).latent_dist.mean.float().cpu()
    shift = getattr(vae.config, "shift_factor", None) or 0.0
    latents = (encoded - shift) * vae.config.scaling_factor
    if latents.shape[1] != channels:
        raise ValueError(f"the VAE makes {latents.shape[1]} latent channels, not {channels}")
    colours = F.adaptive_avg_pool2d(pixels, latents.shape[-1])
    count = len(pictures)
    features = torch.cat([latents, torch.ones(count, 1, *latents.shape[-2:])], dim=1)
    features = features.permute(0, 2, 3, 1).reshape(-1, channels + 1)
    targets = colours.permute(0, 2, 3, 1).reshape(-1, 3)
    return torch.linalg.lstsq(features, targets).solution
