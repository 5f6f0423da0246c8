"""Cheap progress previews: latents to a small RGB picture with one linear map, no VAE decode.

The map (latent channels + bias -> RGB) is fitted once per pipeline by least squares against the
pipeline's own VAE on a few random latents, so it suits any base model (SD 1.5, SDXL, Flux, tiny)
without borrowed constants. Previews are rough colour-and-layout sketches, as they are meant to be.
"""

from __future__ import annotations

import io

import torch
import torch.nn.functional as F
from diffusers import DiffusionPipeline
from PIL import Image

_CALIBRATION_SEED = 0
_CALIBRATION_LATENT_SIDE = 16


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
    """Least-squares map from pipeline-space latents (+1 for bias) to the VAE's average colour."""
    vae = pipe.vae
    side = _CALIBRATION_LATENT_SIDE
    generator = torch.Generator().manual_seed(_CALIBRATION_SEED)
    latents = torch.randn(4, channels, side, side, generator=generator)
    shift = getattr(vae.config, "shift_factor", None) or 0.0
    decoded = vae.decode(
        (latents / vae.config.scaling_factor + shift).to(vae.device, vae.dtype)
    ).sample
    colours = F.adaptive_avg_pool2d(decoded.float().cpu(), side)
    features = torch.cat([latents, torch.ones(4, 1, side, side)], dim=1)
    features = features.permute(0, 2, 3, 1).reshape(-1, channels + 1)
    targets = colours.permute(0, 2, 3, 1).reshape(-1, 3)
    return torch.linalg.lstsq(features, targets).solution
