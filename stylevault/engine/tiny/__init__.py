"""The built-in `tiny` base model: Stable-Diffusion-shaped, trained here, fast on a CPU.

The weights in `weights/` were trained by `tiny/train.py` on the captioned scene corpus
(`engine/demo_art.scene_corpus`); `weights/manifest.json` holds each file's SHA-256 and how they
were made. They are copied, checked, into the engine cache as an ordinary diffusers folder and then
loaded exactly like a real checkpoint, so the embedded mode exercises the same loading, LoRA and
rendering code as production. `make_tiny_pipeline` gives the same architecture with seeded random
weights, the starting point of training.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import torch
from diffusers import (
    AutoencoderKL,
    DPMSolverMultistepScheduler,
    StableDiffusionPipeline,
    UNet2DConditionModel,
)
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

from stylevault.engine.tiny.manifest import MANIFEST, file_hashes, read_manifest

TOKENIZER_DIR = Path(__file__).parent / "tokenizer"
WEIGHTS_DIR = Path(__file__).parent / "weights"
# Bump when the committed weights change, so cached folders of an older build are not reused.
TINY_VERSION = "2"
SEED = 20240601
MAX_TOKENS = 77
NATIVE_SIZE = 256


def _tokenizer() -> CLIPTokenizer:
    return CLIPTokenizer.from_pretrained(TOKENIZER_DIR, model_max_length=MAX_TOKENS)


def _text_encoder(tokenizer: CLIPTokenizer) -> CLIPTextModel:
    config = CLIPTextConfig(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        max_position_embeddings=MAX_TOKENS,
        projection_dim=64,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    return CLIPTextModel(config)


def _unet() -> UNet2DConditionModel:
    # Three levels: at 256x256 the deepest sees the whole 32x32 latent, so the UNet can place
    # things; attention only at the two lower resolutions keeps it fast. LoRA targets live there.
    return UNet2DConditionModel(
        sample_size=NATIVE_SIZE // 8,
        block_out_channels=(32, 64, 96),
        layers_per_block=1,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=64,
        attention_head_dim=4,
        norm_num_groups=16,
    )


def _vae() -> AutoencoderKL:
    # Four blocks give the 8x downsampling of real Stable Diffusion VAEs.
    return AutoencoderKL(
        block_out_channels=(8, 16, 32, 32),
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        layers_per_block=1,
        latent_channels=4,
        norm_num_groups=8,
        sample_size=NATIVE_SIZE,
    )


def _scheduler() -> DPMSolverMultistepScheduler:
    return DPMSolverMultistepScheduler(
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        num_train_timesteps=1000,
        steps_offset=1,
    )


def make_tiny_pipeline() -> StableDiffusionPipeline:
    """Builds the tiny pipeline in memory with seeded random weights."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(SEED)
        tokenizer = _tokenizer()
        return StableDiffusionPipeline(
            vae=_vae(),
            text_encoder=_text_encoder(tokenizer),
            tokenizer=tokenizer,
            unet=_unet(),
            scheduler=_scheduler(),
            safety_checker=None,
            feature_extractor=None,
            requires_safety_checker=False,
        )


class TinyWeightsError(RuntimeError):
    """The committed weights do not match their manifest."""


def verify_weights(folder: Path = WEIGHTS_DIR) -> dict:
    """Checks every file of `folder` against its manifest; returns the manifest."""
    manifest = read_manifest(folder)
    found = file_hashes(folder)
    if found != manifest["files"]:
        changed = sorted(set(found.items()) ^ set(manifest["files"].items()))
        raise TinyWeightsError(f"tiny weights differ from {folder / MANIFEST}: {changed[:4]}")
    return manifest


def build_tiny_model(path: str | os.PathLike[str]) -> Path:
    """Installs the committed tiny model as a diffusers folder at `path` unless it is there.

    The weights are checked against their manifest, copied to a temporary sibling folder and
    renamed into place, so a concurrent or interrupted build never leaves a half-written model.
    """
    target = Path(path)
    if (target / "model_index.json").is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        verify_weights()
        shutil.copytree(WEIGHTS_DIR, staging, dirs_exist_ok=True)
        try:
            staging.rename(target)
        except OSError:
            # Another process finished first; its folder is equally good.
            if not (target / "model_index.json").is_file():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target
