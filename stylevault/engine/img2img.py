"""Image-to-image rendering: a picture (a portrait) redrawn in a style or blend of LoRAs.

The img2img pipeline is built from the Renderer's own loaded components (diffusers'
`from_pipe`), so the base model is not loaded twice and the LoRA adapters the Renderer caches
and activates are the ones this pipeline uses.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Callable

import torch
from diffusers import AutoPipelineForImage2Image, DiffusionPipeline
from PIL import Image, ImageOps

from stylevault.engine.errors import GenerationCancelled
from stylevault.engine.render import Renderer, RenderProgress
from stylevault.engine.specs import GenerationResult, GenerationSpec

_pipes: weakref.WeakKeyDictionary[Renderer, DiffusionPipeline] = weakref.WeakKeyDictionary()


def _img2img_pipe(renderer: Renderer) -> DiffusionPipeline:
    pipe = _pipes.get(renderer)
    if pipe is None:
        pipe = AutoPipelineForImage2Image.from_pipe(renderer.pipe)
        pipe.set_progress_bar_config(disable=True)
        _pipes[renderer] = pipe
    return pipe


def steps_run(spec: GenerationSpec, strength: float) -> int:
    """How many denoising steps img2img runs: the last `strength` share of the schedule."""
    return max(1, min(int(spec.steps * strength), spec.steps))


def _step_callback(renderer, total: int, width: int, height: int, on_progress, should_stop):
    """Progress (with a preview now and then) and stopping, for one img2img request."""

    def callback(pipe, index: int, timestep, tensors: dict) -> dict:
        step = index + 1
        if on_progress is not None:
            wants_preview = step % renderer.preview_every == 0 and step < total
            latents = tensors["latents"][0:1]
            preview = renderer._previewer.png(latents, width, height) if wants_preview else None
            if on_progress(step, total, preview) is False:
                raise GenerationCancelled(f"stopped by the caller at step {step}")
        if should_stop is not None and should_stop():
            raise GenerationCancelled(f"stopped at step {step}")
        return tensors

    return callback


def render_img2img(
    renderer: Renderer,
    spec: GenerationSpec,
    picture: Image.Image,
    *,
    strength: float = 0.6,
    on_progress: RenderProgress | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> GenerationResult:
    """Renders `spec.count` images from `picture` (cropped to the spec's size), image i with
    seed `spec.seed + i`. `strength` in (0, 1]: how far each may move from the picture.
    Raises GenerationCancelled when asked to stop."""
    if not 0 < strength <= 1:
        raise ValueError("strength must be above 0 and at most 1")
    started = time.perf_counter()
    renderer.activate(spec.loras)
    pipe = _img2img_pipe(renderer)
    width, height = spec.size(renderer.family)
    init = ImageOps.fit(picture.convert("RGB"), (width, height), Image.Resampling.LANCZOS)
    callback = _step_callback(
        renderer, steps_run(spec, strength), width, height, on_progress, should_stop
    )
    generators = [torch.Generator().manual_seed(seed) for seed in spec.seeds()]
    arguments = {
        "prompt": spec.prompt,
        "image": init,
        "strength": strength,
        "num_inference_steps": spec.steps,
        "guidance_scale": spec.guidance,
        "num_images_per_prompt": spec.count,
        "generator": generators,
        "callback_on_step_end": callback,
    }
    if spec.negative_prompt:
        arguments["negative_prompt"] = spec.negative_prompt
    images = pipe(**arguments).images
    return GenerationResult(
        images=images,
        seeds=spec.seeds(),
        width=width,
        height=height,
        steps=steps_run(spec, strength),
        seconds=time.perf_counter() - started,
    )
