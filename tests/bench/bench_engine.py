"""Engine benchmark: prints a markdown table.

    python tests/bench/bench_engine.py          # tiny model on this machine's CPU
    python tests/bench/bench_engine.py --gpu    # SDXL architecture, random weights, on CUDA

The GPU mode builds SDXL's UNet, VAE and both text encoders from the standard SDXL configs
written below (no download; weights are random, so images are noise but timings are real),
renders 1024x1024 in 30 steps with a blend of two random rank-16 LoRAs in bf16, eager and
with torch.compile, and times switching between cached LoRA blends.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import time
from collections.abc import Callable, Iterator

import numpy as np
import torch
from diffusers import (
    AutoencoderKL,
    DiffusionPipeline,
    EulerDiscreteScheduler,
    StableDiffusionXLPipeline,
    UNet2DConditionModel,
)
from diffusers.utils import convert_state_dict_to_diffusers
from peft import LoraConfig
from peft.utils import get_peft_model_state_dict
from PIL import Image
from safetensors.torch import save
from transformers import (
    CLIPTextConfig,
    CLIPTextModel,
    CLIPTextModelWithProjection,
    CLIPTokenizer,
)

from stylevault.engine import GenerationSpec, Renderer, TrainingSpec, load_pipeline, train_lora
from stylevault.engine.tiny import TOKENIZER_DIR
from stylevault.engine.training import TARGET_MODULES

Row = tuple[str, str]

# stabilityai/stable-diffusion-xl-base-1.0, unet/config.json (values that differ from defaults).
SDXL_UNET = {
    "sample_size": 128,
    "down_block_types": ("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
    "up_block_types": ("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"),
    "block_out_channels": (320, 640, 1280),
    "layers_per_block": 2,
    "transformer_layers_per_block": (1, 2, 10),
    "attention_head_dim": (5, 10, 20),
    "cross_attention_dim": 2048,
    "use_linear_projection": True,
    "addition_embed_type": "text_time",
    "addition_time_embed_dim": 256,
    "projection_class_embeddings_input_dim": 2816,
}
SDXL_VAE = {
    "block_out_channels": (128, 256, 512, 512),
    "down_block_types": ("DownEncoderBlock2D",) * 4,
    "up_block_types": ("UpDecoderBlock2D",) * 4,
    "layers_per_block": 2,
    "latent_channels": 4,
    "sample_size": 1024,
    "scaling_factor": 0.13025,
    "force_upcast": True,
}
# CLIP ViT-L/14 and OpenCLIP ViT-bigG/14 text towers.
SDXL_TEXT_1 = {
    "hidden_size": 768,
    "intermediate_size": 3072,
    "num_hidden_layers": 12,
    "num_attention_heads": 12,
    "projection_dim": 768,
    "hidden_act": "quick_gelu",
}
SDXL_TEXT_2 = {
    "hidden_size": 1280,
    "intermediate_size": 5120,
    "num_hidden_layers": 32,
    "num_attention_heads": 20,
    "projection_dim": 1280,
    "hidden_act": "gelu",
}
SDXL_SCHEDULER = {
    "beta_start": 0.00085,
    "beta_end": 0.012,
    "beta_schedule": "scaled_linear",
    "steps_offset": 1,
    "timestep_spacing": "leading",
}


def seconds(action: Callable[[], object], runs: int) -> float:
    """Mean wall time of `runs` calls after one warm-up call."""
    action()
    started = time.perf_counter()
    for _ in range(runs):
        action()
    return (time.perf_counter() - started) / runs


def switch_ms(renderer: Renderer, blends: list[list[tuple[str, float]]], rounds: int = 10) -> float:
    """Median time to switch between blends of LoRAs already in the cache, in milliseconds."""
    timings = []
    for _ in range(rounds):
        for blend in blends:
            started = time.perf_counter()
            renderer.activate(blend)
            timings.append(time.perf_counter() - started)
    return statistics.median(timings) * 1000


def cpu_rows(runs: int) -> Iterator[Row]:
    pipe = load_pipeline("tiny", device="cpu")
    renderer = Renderer(pipe)
    spec = GenerationSpec(prompt="a watercolor cat", steps=20, seed=1)
    per_image = seconds(lambda: renderer.render(spec), runs)
    yield "tiny 256x256, 20 steps, CPU", f"{per_image:.2f} s/image"
    images = [(_noise_image(seed), "a watercolor cat") for seed in range(4)]
    started = time.perf_counter()
    trained = train_lora(pipe, TrainingSpec(images=images, steps=100, rank=16, seed=0))
    yield "tiny LoRA training, 100 steps, 256px, rank 16", f"{time.perf_counter() - started:.1f} s"
    small = TrainingSpec(images=images[:1], steps=1, rank=4, resolution=64, seed=1)
    renderer.add_lora("a", trained.weights)
    renderer.add_lora("b", train_lora(pipe, small).weights)
    blends = [[("a", 1.0)], [("a", 0.6), ("b", 0.4)], [("b", 1.0)]]
    yield "LoRA switch from cache (tiny)", f"{switch_ms(renderer, blends):.2f} ms"


def _noise_image(seed: int) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 255, (256, 256, 3), dtype=np.uint8))


def sdxl_random_pipeline(device: str, dtype: torch.dtype) -> StableDiffusionXLPipeline:
    """SDXL's architecture with random weights, built straight on `device`."""
    tokenizer = CLIPTokenizer.from_pretrained(TOKENIZER_DIR, model_max_length=77)
    torch.manual_seed(0)
    with torch.device(device):
        text_1 = CLIPTextModel(CLIPTextConfig(**SDXL_TEXT_1))
        text_2 = CLIPTextModelWithProjection(CLIPTextConfig(**SDXL_TEXT_2))
        unet = UNet2DConditionModel(**SDXL_UNET)
        vae = AutoencoderKL(**SDXL_VAE)
    pipe = StableDiffusionXLPipeline(
        vae=vae,
        text_encoder=text_1,
        text_encoder_2=text_2,
        tokenizer=tokenizer,
        tokenizer_2=tokenizer,
        unet=unet,
        scheduler=EulerDiscreteScheduler(**SDXL_SCHEDULER),
    )
    pipe.to(dtype=dtype)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def random_lora(pipe: DiffusionPipeline, rank: int, seed: int) -> bytes:
    """A LoRA file with random (small) factors in diffusers' layout, made with peft."""
    torch.manual_seed(seed)
    config = LoraConfig(
        r=rank, lora_alpha=rank, init_lora_weights=False, target_modules=TARGET_MODULES
    )
    pipe.unet.add_adapter(config, adapter_name="random")
    state = convert_state_dict_to_diffusers(
        get_peft_model_state_dict(pipe.unet, adapter_name="random")
    )
    pipe.unet.delete_adapters("random")
    return save({f"unet.{key}": 0.01 * value.float().cpu() for key, value in state.items()})


def gpu_rows(runs: int) -> Iterator[Row]:
    pipe = sdxl_random_pipeline("cuda", torch.bfloat16)
    renderer = Renderer(pipe)
    renderer.add_lora("a", random_lora(pipe, 16, seed=1))
    renderer.add_lora("b", random_lora(pipe, 16, seed=2))
    blend = [("a", 0.6), ("b", 0.4)]
    spec = GenerationSpec(prompt="a watercolor cat", steps=30, guidance=5.0, loras=blend)

    def render() -> object:
        return renderer.render(spec)

    name = f"SDXL 1024x1024, 30 steps, 2 LoRAs, bf16 ({torch.cuda.get_device_name()})"
    yield f"{name}, eager", f"{seconds(render, runs):.2f} s/image"
    blends = [[("a", 1.0)], blend, [("b", 1.0)]]
    yield "LoRA switch from cache (SDXL)", f"{switch_ms(renderer, blends):.2f} ms"
    pipe.unet.compile()  # in place: the pipeline keeps its diffusers UNet and LoRA layers
    started = time.perf_counter()
    render()
    yield "torch.compile warm-up (first render)", f"{time.perf_counter() - started:.1f} s"
    yield f"{name}, torch.compile", f"{seconds(render, runs):.2f} s/image"
    switched = dataclasses.replace(spec, loras=[("a", 0.3), ("b", 0.7)])
    started = time.perf_counter()
    renderer.render(switched)
    yield "compiled, first render after a blend switch", f"{time.perf_counter() - started:.2f} s"


GOALS = {
    "tiny 256x256, 20 steps, CPU": "≤ 2 s",
    "tiny LoRA training, 100 steps, 256px, rank 16": "≤ 20 s",
    "LoRA switch from cache (tiny)": "≤ 20 ms",
}


def main(argv: list[str] | None = None) -> list[dict]:
    """Rows for `make bench` (tests/bench/run.py); `--gpu` measures SDXL on CUDA instead."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gpu", action="store_true", help="SDXL-architecture benchmark on CUDA")
    parser.add_argument("--runs", type=int, default=3, help="timed runs after one warm-up")
    args = parser.parse_args([] if argv is None else argv)
    rows = gpu_rows(args.runs) if args.gpu else cpu_rows(args.runs)
    return [
        {"benchmark": name, "result": value, "goal": GOALS.get(name, "")} for name, value in rows
    ]


if __name__ == "__main__":
    import sys

    for row in main(sys.argv[1:]):
        print(f"| {row['benchmark']} | {row['result']} | {row['goal']} |", flush=True)
