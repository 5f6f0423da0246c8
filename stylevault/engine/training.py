"""LoRA training of a style, after diffusers' examples/text_to_image/train_text_to_image_lora.py.

Differences from the example, for speed on small data sets: the frozen VAE encodes each image
once (latents are then sampled from the cached distribution every step) and the frozen text
encoder embeds each caption once.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from diffusers import DDPMScheduler, DiffusionPipeline
from diffusers.utils import convert_state_dict_to_diffusers
from peft import LoraConfig
from peft.utils import get_peft_model_state_dict
from PIL import Image, ImageOps
from safetensors.torch import save as save_safetensors

from stylevault.engine.errors import EngineError, TrainingCancelled
from stylevault.engine.pipeline import model_family
from stylevault.engine.sizes import NATIVE_SIDE
from stylevault.engine.specs import TrainingResult, TrainingSpec

TRAINING_ADAPTER = "stylevault_training"
TARGET_MODULES = ["to_k", "to_q", "to_v", "to_out.0"]
# on_progress(step, total, loss); returning False stops training.
TrainingProgress = Callable[[int, int, float], bool | None]
# The fixed probe: up to PROBE_IMAGES images, each noised at every one of PROBE_TIMESTEPS.
PROBE_IMAGES = 8
PROBE_TIMESTEPS = (100, 300, 500, 700, 900)
PROBE_BATCH = 8


def train_lora(
    pipe: DiffusionPipeline,
    spec: TrainingSpec,
    *,
    on_progress: TrainingProgress | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> TrainingResult:
    """Trains a LoRA on the pipeline's UNet and returns it as diffusers-format safetensors bytes.

    The same seed gives the same weights on a CPU (GPU kernels may differ in the last bits).
    Raises TrainingCancelled when `on_progress` returns False or `should_stop()` turns true.
    The pipeline's weights and adapters are left as they were.
    """
    family = model_family(pipe)
    if family == "flux":
        raise EngineError("LoRA training is implemented for SD 1.5 and SDXL base models only")
    started = time.perf_counter()
    unet = pipe.unet
    for module in (unet, pipe.vae, pipe.text_encoder, getattr(pipe, "text_encoder_2", None)):
        if module is not None:
            module.requires_grad_(False)
    with torch.random.fork_rng(devices=_cuda_devices(unet.device)):
        torch.manual_seed(spec.seed)
        data = _prepare(pipe, spec, spec.resolution or NATIVE_SIDE[family])
        scheduler = DDPMScheduler.from_config(pipe.scheduler.config)
        unet.add_adapter(_lora_config(spec.rank), adapter_name=TRAINING_ADAPTER)
        # A renderer may have switched LoRA layers off on this shared pipeline.
        unet.enable_adapters()
        try:
            # B starts at zero, so this first probe measures the base model itself.
            initial_loss = _probe_loss(pipe, scheduler, data, spec.seed)
            losses = _optimise(pipe, scheduler, spec, data, on_progress, should_stop)
            final_loss = _probe_loss(pipe, scheduler, data, spec.seed)
            weights = _serialise(unet)
        finally:
            unet.delete_adapters(TRAINING_ADAPTER)
            unet.eval()
    return TrainingResult(
        weights=weights,
        sha256=hashlib.sha256(weights).hexdigest(),
        rank=spec.rank,
        steps=len(losses),
        initial_loss=initial_loss,
        final_loss=final_loss,
        losses=losses,
        seconds=time.perf_counter() - started,
    )


def _cuda_devices(device: torch.device) -> list[int]:
    return [device.index or 0] if device.type == "cuda" else []


@dataclass(frozen=True)
class _Data:
    latent_mean: torch.Tensor  # on the CPU, in the UNet's latent scale
    latent_std: torch.Tensor
    conditioning: dict[str, torch.Tensor]  # UNet keyword inputs, one row per image


def _prepare(pipe: DiffusionPipeline, spec: TrainingSpec, resolution: int) -> _Data:
    images, captions = zip(*spec.images, strict=True)
    latent_mean, latent_std = _encode_images(pipe, images, resolution)
    return _Data(latent_mean, latent_std, _encode_captions(pipe, list(captions), resolution))


def _lora_config(rank: int) -> LoraConfig:
    # alpha = rank keeps the LoRA scale at 1, which is also what loaders infer from the file.
    return LoraConfig(
        r=rank, lora_alpha=rank, init_lora_weights="gaussian", target_modules=TARGET_MODULES
    )


def _load_image(source: Image.Image | str | Path, resolution: int) -> torch.Tensor:
    """RGB, shorter side scaled to `resolution`, centre-cropped square, in [-1, 1], CHW."""
    image = source if isinstance(source, Image.Image) else Image.open(source)
    image = ImageOps.fit(image.convert("RGB"), (resolution, resolution), Image.Resampling.BICUBIC)
    return torch.from_numpy(np.array(image)).permute(2, 0, 1).float() / 127.5 - 1.0


@torch.no_grad()
def _encode_images(
    pipe: DiffusionPipeline, images: Sequence[Image.Image | str | Path], resolution: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and std of each image's latent distribution."""
    vae = pipe.vae
    pixels = torch.stack([_load_image(image, resolution) for image in images])
    means, stds = [], []
    for chunk in pixels.split(4):
        dist = vae.encode(chunk.to(vae.device, vae.dtype)).latent_dist
        means.append(dist.mean.float().cpu())
        stds.append(dist.std.float().cpu())
    scale = vae.config.scaling_factor
    shift = getattr(vae.config, "shift_factor", None) or 0.0
    return (torch.cat(means) - shift) * scale, torch.cat(stds) * scale


@torch.no_grad()
def _encode_captions(
    pipe: DiffusionPipeline, captions: list[str], resolution: int
) -> dict[str, torch.Tensor]:
    """The UNet's text conditioning per caption, with SDXL's pooled embeds and size ids."""
    encoded = pipe.encode_prompt(
        prompt=captions,
        device=pipe.unet.device,
        num_images_per_prompt=1,
        do_classifier_free_guidance=False,
    )
    conditioning = {"encoder_hidden_states": encoded[0]}
    if model_family(pipe) == "sdxl":
        # original size, crop top-left, target size: the whole image at `resolution`.
        time_ids = torch.tensor([[resolution, resolution, 0, 0, resolution, resolution]])
        conditioning["text_embeds"] = encoded[2]
        conditioning["time_ids"] = time_ids.repeat(len(captions), 1).to(encoded[2])
    return conditioning


def _optimise(
    pipe: DiffusionPipeline,
    scheduler: DDPMScheduler,
    spec: TrainingSpec,
    data: _Data,
    on_progress: TrainingProgress | None,
    should_stop: Callable[[], bool] | None,
) -> list[float]:
    """The noise-prediction training loop; returns the loss of every step."""
    unet = pipe.unet
    params = [param for name, param in unet.named_parameters() if TRAINING_ADAPTER in name]
    for param in params:
        param.data = param.data.float()  # fp32 LoRA weights even on a bf16 base
        param.requires_grad_(True)
    optimizer = torch.optim.AdamW(params, lr=spec.learning_rate, weight_decay=1e-2)
    # Random draws on a CPU generator keep runs reproducible on any device.
    generator = torch.Generator().manual_seed(spec.seed)
    unet.train()
    losses: list[float] = []
    for step in range(1, spec.steps + 1):
        index = torch.randint(len(data.latent_mean), (spec.batch_size,), generator=generator)
        shape = data.latent_mean[index].shape
        latents = data.latent_mean[index] + data.latent_std[index] * torch.randn(
            shape, generator=generator
        )
        noise = torch.randn(shape, generator=generator)
        timesteps = torch.randint(
            scheduler.config.num_train_timesteps, (shape[0],), generator=generator
        )
        loss = _noise_loss(pipe, scheduler, data, index, latents, noise, timesteps)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        losses.append(loss.item())
        if on_progress is not None and on_progress(step, spec.steps, losses[-1]) is False:
            raise TrainingCancelled(f"stopped by the caller at step {step}")
        if should_stop is not None and should_stop():
            raise TrainingCancelled(f"stopped at step {step}")
    return losses


@torch.no_grad()
def _probe_loss(pipe: DiffusionPipeline, scheduler: DDPMScheduler, data: _Data, seed: int) -> float:
    """Loss on fixed draws (each image's mean latent at fixed timesteps and noise).

    Unlike step losses it has no sampling noise, so before/after values compare fairly.
    """
    count = min(len(data.latent_mean), PROBE_IMAGES)
    index = torch.arange(count).repeat_interleave(len(PROBE_TIMESTEPS))
    timesteps = torch.tensor(PROBE_TIMESTEPS).repeat(count)
    latents = data.latent_mean[index]
    noise = torch.randn(latents.shape, generator=torch.Generator().manual_seed(seed + 1))
    total = 0.0
    for part in torch.arange(len(index)).split(PROBE_BATCH):
        loss = _noise_loss(
            pipe, scheduler, data, index[part], latents[part], noise[part], timesteps[part]
        )
        total += loss.item() * len(part)
    return total / len(index)


def _noise_loss(
    pipe: DiffusionPipeline,
    scheduler: DDPMScheduler,
    data: _Data,
    index: torch.Tensor,
    latents: torch.Tensor,
    noise: torch.Tensor,
    timesteps: torch.Tensor,
) -> torch.Tensor:
    """MSE between the UNet's prediction and its target (noise, or velocity for v-models)."""
    unet = pipe.unet
    device = unet.device
    noisy = scheduler.add_noise(latents, noise, timesteps)
    if scheduler.config.prediction_type == "v_prediction":
        target = scheduler.get_velocity(latents, noise, timesteps)
    else:
        target = noise
    picked = {key: value[index.to(device)] for key, value in data.conditioning.items()}
    prediction = unet(
        noisy.to(device, unet.dtype),
        timesteps.to(device),
        picked.pop("encoder_hidden_states"),
        added_cond_kwargs=picked or None,
        return_dict=False,
    )[0]
    return F.mse_loss(prediction.float(), target.to(device).float())


def _serialise(unet: torch.nn.Module) -> bytes:
    """The adapter in diffusers' LoRA file layout (what save_lora_weights writes), as bytes."""
    peft_state = get_peft_model_state_dict(unet, adapter_name=TRAINING_ADAPTER)
    layers = convert_state_dict_to_diffusers(peft_state)
    tensors = {
        f"unet.{key}": value.detach().float().cpu().contiguous() for key, value in layers.items()
    }
    return save_safetensors(tensors, metadata={"format": "pt"})
