"""Loading base models: the built-in tiny one or any SD 1.5 / SDXL / Flux checkpoint."""

from __future__ import annotations

import os
from pathlib import Path

import torch
from diffusers import AutoPipelineForText2Image, DiffusionPipeline

from stylevault.engine.errors import EngineError
from stylevault.engine.sizes import NATIVE_SIDE
from stylevault.engine.tiny import TINY_VERSION, build_tiny_model

TINY = "tiny"
_FAMILIES = {"StableDiffusionXLPipeline": "sdxl", "FluxPipeline": "flux"}


def default_cache_dir() -> Path:
    """Where built models live: $STYLEVAULT_ENGINE_CACHE, else ~/.cache/stylevault/engine."""
    configured = os.environ.get("STYLEVAULT_ENGINE_CACHE")
    return Path(configured) if configured else Path.home() / ".cache" / "stylevault" / "engine"


def default_device() -> str:
    if torch.cuda.is_available():
        return "cuda"
    if torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def default_dtype(device: str) -> torch.dtype:
    """bf16 where the GPU has it (SDXL's VAE overflows in fp16), else fp16 on GPUs, fp32 on CPU."""
    kind = torch.device(device).type
    if kind == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if kind == "mps":
        return torch.float16
    return torch.float32


def load_pipeline(
    base_model: str,
    device: str | None = None,
    dtype: torch.dtype | None = None,
    *,
    cache_dir: str | os.PathLike[str] | None = None,
) -> DiffusionPipeline:
    """Loads a text-to-image pipeline: "tiny", a local diffusers folder, or a model id.

    The family (SD 1.5, SDXL, Flux) is read from the folder's model_index.json by
    AutoPipelineForText2Image; "tiny" is first written to the cache as an ordinary folder.
    """
    device = device or default_device()
    dtype = dtype or default_dtype(device)
    source: str | Path = base_model
    if base_model == TINY:
        root = Path(cache_dir) if cache_dir else default_cache_dir()
        source = build_tiny_model(root / f"tiny-v{TINY_VERSION}")
    pipe = AutoPipelineForText2Image.from_pretrained(source, dtype=dtype)
    pipe.to(device)
    pipe.set_progress_bar_config(disable=True)
    model_family(pipe)  # refuse unsupported families at load, not at the first job
    return pipe


def _unet_side(pipe: DiffusionPipeline) -> int:
    return int(pipe.unet.config.sample_size) * int(pipe.vae_scale_factor)


def model_family(pipe: DiffusionPipeline) -> str:
    """One of sizes.NATIVE_SIDE's families, read from the pipeline class and its native size."""
    name = type(pipe).__name__
    if name == "StableDiffusionPipeline":
        return TINY if _unet_side(pipe) == NATIVE_SIDE[TINY] else "sd15"
    if name in _FAMILIES:
        return _FAMILIES[name]
    raise EngineError(f"unsupported base model pipeline {name}; use SD 1.5, SDXL or Flux")
