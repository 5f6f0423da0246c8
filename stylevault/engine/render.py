"""Rendering images with a base model and weighted blends of cached LoRA adapters."""

from __future__ import annotations

import inspect
import itertools
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

import torch
from diffusers import DiffusionPipeline
from peft.tuners.tuners_utils import BaseTunerLayer

from stylevault.engine.errors import EngineError, GenerationCancelled
from stylevault.engine.lora import LoraFile, LoraSource, validate_lora
from stylevault.engine.pipeline import model_family
from stylevault.engine.preview import LatentPreviewer
from stylevault.engine.specs import GenerationResult, GenerationSpec

# on_progress(step, total, preview PNG or None); returning False cancels the render.
RenderProgress = Callable[[int, int, bytes | None], bool | None]
# Gives a LoRA's bytes (or a path) for an adapter id the cache does not hold.
LoraFetcher = Callable[[str], LoraSource]
_adapter_numbers = itertools.count(1)


class Renderer:
    """Holds one pipeline and an LRU cache of LoRA adapters loaded into it.

    Adapters stay loaded in the pipeline, so switching between cached ones only changes which
    are active and their weights. Not thread-safe: one Renderer per pipeline, one pipeline per
    worker process.
    """

    def __init__(
        self,
        pipe: DiffusionPipeline,
        *,
        cache_size: int = 8,
        fetch_lora: LoraFetcher | None = None,
        preview_every: int = 5,
        preview_size: int = 64,
    ) -> None:
        if cache_size < 1:
            raise ValueError("cache_size must be at least 1")
        self.pipe = pipe
        self.family = model_family(pipe)
        self.cache_size = cache_size
        self.preview_every = preview_every
        self._fetch_lora = fetch_lora
        self._previewer = LatentPreviewer(pipe, preview_size)
        self._adapters: OrderedDict[str, str] = OrderedDict()  # adapter id -> name in the pipe
        self._call_params = set(inspect.signature(pipe.__call__).parameters)
        self._lora_layers = self._find_lora_layers()

    @property
    def cached_loras(self) -> list[str]:
        """Adapter ids in the cache, least recently used first."""
        return list(self._adapters)

    def add_lora(
        self, adapter_id: str, source: LoraSource | LoraFile, *, keep: Sequence[str] = ()
    ) -> None:
        """Validates and loads a LoRA under `adapter_id`, evicting the least recently used
        adapters (other than those in `keep`) beyond the cache size. Raises IncompatibleLoRA."""
        if adapter_id in self._adapters:
            self._adapters.move_to_end(adapter_id)
            return
        lora = source if isinstance(source, LoraFile) else validate_lora(source, self.pipe)
        self._evict(keep=set(keep), room_for=1)
        # Unique per process, as several renderers may share a pipeline; module keys take no dots.
        name = f"sv{next(_adapter_numbers)}"
        self.pipe.load_lora_weights(lora.state_dict, adapter_name=name)
        self._adapters[adapter_id] = name
        self._lora_layers = self._find_lora_layers()

    def clear(self) -> None:
        """Unloads every cached adapter, freeing its memory."""
        self._evict(keep=set(), room_for=self.cache_size)

    def activate(self, loras: Sequence[tuple[str, float]]) -> None:
        """Makes exactly these (adapter id, weight) pairs active; an empty blend is the base."""
        if len(loras) > self.cache_size:
            raise EngineError(
                f"a blend of {len(loras)} LoRAs exceeds the cache of {self.cache_size}"
            )
        wanted = [adapter_id for adapter_id, _ in loras]
        for adapter_id in wanted:
            if adapter_id not in self._adapters:
                if self._fetch_lora is None:
                    raise EngineError(f"LoRA {adapter_id!r} is not loaded and no fetcher is set")
                self.add_lora(adapter_id, self._fetch_lora(adapter_id), keep=wanted)
            self._adapters.move_to_end(adapter_id)
        names = [self._adapters[adapter_id] for adapter_id in wanted]
        # What pipe.set_adapters does, minus its walk over every module and peft's requires_grad
        # flip on every adapter weight, which made a switch cost ~100 ms on SDXL. Rendering needs
        # no gradients; training sets its own.
        for layer in self._lora_layers:
            layer._active_adapter = names
            for name, (_, weight) in zip(names, loras, strict=True):
                layer.set_scale(name, weight)

    def render(
        self,
        spec: GenerationSpec,
        *,
        on_progress: RenderProgress | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> GenerationResult:
        """Renders `spec.count` images. Raises GenerationCancelled when asked to stop."""
        started = time.perf_counter()
        self.activate(spec.loras)
        width, height = spec.size(self.family)
        callback = self._step_callback(spec.steps, width, height, on_progress, should_stop)
        # One CPU generator per image: image i depends on its seed alone, on any device.
        generators = [torch.Generator().manual_seed(seed) for seed in spec.seeds()]
        arguments: dict[str, Any] = {
            "prompt": spec.prompt,
            "width": width,
            "height": height,
            "num_inference_steps": spec.steps,
            "guidance_scale": spec.guidance,
            "num_images_per_prompt": spec.count,
            "generator": generators,
            "callback_on_step_end": callback,
        }
        if spec.negative_prompt and "negative_prompt" in self._call_params:
            arguments["negative_prompt"] = spec.negative_prompt
        images = self.pipe(**arguments).images
        return GenerationResult(
            images=images,
            seeds=spec.seeds(),
            width=width,
            height=height,
            steps=spec.steps,
            seconds=time.perf_counter() - started,
        )

    def _evict(self, *, keep: set[str], room_for: int) -> None:
        while len(self._adapters) + room_for > self.cache_size:
            victim = next((a for a in self._adapters if a not in keep), None)
            if victim is None:
                return
            self.pipe.delete_adapters(self._adapters.pop(victim))

    def _find_lora_layers(self) -> list[BaseTunerLayer]:
        components = (getattr(self.pipe, name, None) for name in self.pipe._lora_loadable_modules)
        return [
            module
            for component in components
            if isinstance(component, torch.nn.Module)
            for module in component.modules()
            if isinstance(module, BaseTunerLayer)
        ]

    def _step_callback(
        self,
        total: int,
        width: int,
        height: int,
        on_progress: RenderProgress | None,
        should_stop: Callable[[], bool] | None,
    ) -> Callable[..., dict[str, Any]]:
        def callback(
            pipe: DiffusionPipeline, index: int, timestep: Any, tensors: dict[str, Any]
        ) -> dict[str, Any]:
            step = index + 1
            if on_progress is not None:
                wants_preview = step % self.preview_every == 0 and step < total
                preview = (
                    self._previewer.png(tensors["latents"], width, height)
                    if wants_preview
                    else None
                )
                if on_progress(step, total, preview) is False:
                    raise GenerationCancelled(f"stopped by the caller at step {step}")
            if should_stop is not None and should_stop():
                raise GenerationCancelled(f"stopped at step {step}")
            return tensors

        return callback
