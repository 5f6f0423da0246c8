"""Rendering images with a base model and weighted blends of cached LoRA adapters, one request
at a time or many requests, each in its own styles, in one pipeline call.

A batch shares one denoising loop: every UNet call sees all its images. Each image keeps its
own prompt, negative prompt, seed (one generator per image) and LoRA blend: the LoRA layers
compute nothing themselves (no peft adapter is active) and a forward hook adds, to each row,
the low-rank updates of that row's adapters times its weights (grouped: one product per
adapter over the rows that use it). peft's own mixed batches (`adapter_names`) take one adapter
per row at one scale; a blend of several at per-request weights needs this. With `exact` (the
default) the maths is batch-invariant (engine.invariant), so an image is byte-identical alone
and in any batch.
"""

from __future__ import annotations

import inspect
import itertools
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch
from diffusers import DiffusionPipeline
from peft.tuners.tuners_utils import BaseTunerLayer

from stylevault.engine.errors import EngineError, GenerationCancelled, IncompatibleLoRA
from stylevault.engine.invariant import batch_invariant
from stylevault.engine.lora import LoraFile, LoraSource, validate_lora
from stylevault.engine.pipeline import model_family
from stylevault.engine.preview import LatentPreviewer
from stylevault.engine.specs import GenerationResult, GenerationSpec

# on_progress(step, total, preview PNG or None); returning False cancels the render.
RenderProgress = Callable[[int, int, bytes | None], bool | None]
StopCheck = Callable[[], bool]
# Gives a LoRA's bytes (or a path) for an adapter id the cache does not hold.
LoraFetcher = Callable[[str], LoraSource]
_adapter_numbers = itertools.count(1)


class _LoraMixer:
    """The forward hook of every LoRA layer of one pipeline: per-row weighted LoRA updates.

    Outside `blending()` it does nothing. Row r of a layer's input belongs to image r % n of the
    n images (classifier-free guidance stacks the unconditional rows on top of the others).
    """

    def __init__(self) -> None:
        self._blends: list[dict[str, float]] | None = None
        self._names: list[str] = []
        self._rows: dict[tuple[str, int, torch.device], tuple[torch.Tensor, torch.Tensor] | None]
        self._rows = {}
        self.hooked: weakref.WeakSet[torch.nn.Module] = weakref.WeakSet()

    @contextmanager
    def blending(self, blends: list[dict[str, float]]) -> Iterator[None]:
        # One fixed order (by name), so the sums round the same whatever else is in the batch.
        self._names = sorted({name for blend in blends for name, w in blend.items() if w})
        self._blends, self._rows = blends, {}
        try:
            yield
        finally:
            self._blends, self._names, self._rows = None, [], {}

    def hook(self, layer: Any, args: tuple[Any, ...], output: Any) -> Any:
        if self._blends is None or not self._names:
            return None
        x = args[0]
        for name in self._names:
            if name not in layer.lora_A:
                continue
            selected = self._selected(name, x.shape[0], x.device)
            if selected is None:
                continue
            rows, weights = selected
            down = layer.lora_A[name]
            picked = x.index_select(0, rows).to(down.weight.dtype)
            delta = layer.lora_B[name](down(layer.lora_dropout[name](picked)))
            factor = (weights * layer.scaling[name]).to(delta.dtype)
            delta = delta * factor.view(-1, *([1] * (delta.ndim - 1)))
            output = output.index_add(0, rows, delta.to(output.dtype))
        return output

    def _selected(
        self, name: str, count: int, device: torch.device
    ) -> tuple[torch.Tensor, torch.Tensor] | None:
        key = (name, count, device)
        if key not in self._rows:
            blends = self._blends or []
            if count % len(blends):
                raise EngineError(f"a LoRA layer saw {count} rows for {len(blends)} images")
            weights = [blends[r % len(blends)].get(name, 0.0) for r in range(count)]
            rows = [r for r, weight in enumerate(weights) if weight]
            self._rows[key] = (
                (
                    torch.tensor(rows, device=device),
                    torch.tensor([weights[r] for r in rows], device=device),
                )
                if rows
                else None
            )
        return self._rows[key]


_mixers: weakref.WeakKeyDictionary[DiffusionPipeline, _LoraMixer] = weakref.WeakKeyDictionary()


@dataclass
class _Entry:
    """One request of a batch and how it ended (None while it runs)."""

    spec: GenerationSpec
    on_progress: RenderProgress | None
    should_stop: StopCheck | None
    outcome: GenerationResult | Exception | None = None


class _RoundOver(Exception):
    """Every request of the round has ended (cancelled or failed): stop the pipeline."""


class Renderer:
    """Holds one pipeline and an LRU cache of LoRA adapters loaded into it.

    Adapters stay loaded in the pipeline, so switching between cached ones costs nothing: a
    batch only says which rows use which. Not thread-safe: one Renderer per pipeline, one
    pipeline per worker process. `max_batch` caps the images of one pipeline call.
    """

    def __init__(
        self,
        pipe: DiffusionPipeline,
        *,
        cache_size: int = 8,
        fetch_lora: LoraFetcher | None = None,
        preview_every: int = 5,
        preview_size: int = 64,
        max_batch: int = 8,
        exact: bool = True,
        hotswap_rank: int | None = None,
    ) -> None:
        if cache_size < 1 or max_batch < 1:
            raise ValueError("cache_size and max_batch must be at least 1")
        self.pipe = pipe
        self.family = model_family(pipe)
        self.cache_size = cache_size
        self.max_batch = max_batch
        self.exact = exact
        self.preview_every = preview_every
        self._fetch_lora = fetch_lora
        self._previewer = LatentPreviewer(pipe, preview_size)
        self._adapters: OrderedDict[str, str] = OrderedDict()  # adapter id -> name in the pipe
        self._call_params = set(inspect.signature(pipe.__call__).parameters)
        self._mixer = _mixers.setdefault(pipe, _LoraMixer())
        self._zero_empty_negative = bool(getattr(pipe.config, "force_zeros_for_empty_prompt", 0))
        if exact and hasattr(getattr(pipe, "vae", None), "enable_slicing"):
            pipe.vae.enable_slicing()  # its attention is not batch-invariant: one image at a time
        self._lora_layers = self._find_lora_layers()
        # Hotswap (CUDA, compiled UNets): cache slots keep their adapter names and shapes, a
        # new LoRA overwrites the evicted one's weights in place, so nothing recompiles.
        self.hotswap = hotswap_rank is not None
        self._free_slots: list[str] = []
        if hotswap_rank is not None:
            pipe.enable_lora_hotswap(target_rank=hotswap_rank, check_compiled="warn")
        self.switch_seconds: list[float] = []  # how long each load into the cache took

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
        started = time.perf_counter()
        self._evict(keep=set(keep), room_for=1)
        name = self._load_weights(lora)
        self._lora_layers = self._find_lora_layers()
        if any(layer.use_dora.get(name) for layer in self._lora_layers):
            self.pipe.delete_adapters(name)
            raise IncompatibleLoRA("DoRA adapters are not supported; export a plain LoRA")
        self._adapters[adapter_id] = name
        self.switch_seconds.append(time.perf_counter() - started)

    def _load_weights(self, lora: LoraFile) -> str:
        if self._free_slots:
            slot = self._free_slots.pop()
            try:
                self.pipe.load_lora_weights(lora.state_dict, adapter_name=slot, hotswap=True)
                return slot
            except (ValueError, RuntimeError):  # other layers or rank: load it the slow way
                self.pipe.delete_adapters(slot)
        # Unique per process, as several renderers may share a pipeline; module keys take no dots.
        name = f"sv{next(_adapter_numbers)}"
        self.pipe.load_lora_weights(lora.state_dict, adapter_name=name)
        return name

    def clear(self) -> None:
        """Unloads every cached adapter, freeing its memory."""
        self._evict(keep=set(), room_for=self.cache_size)
        while self._free_slots:
            self.pipe.delete_adapters(self._free_slots.pop())

    def activate(self, loras: Sequence[tuple[str, float]]) -> None:
        """Makes sure these adapters are loaded (fetching those the cache lacks) and marks them
        the most recently used. Raises EngineError when the blend exceeds the cache."""
        if len(loras) > self.cache_size:
            raise EngineError(
                f"a blend of {len(loras)} LoRAs exceeds the cache of {self.cache_size}"
            )
        wanted = [adapter_id for adapter_id, _ in loras]
        self._load(wanted, keep=wanted)

    def batch_key(self, spec: GenerationSpec) -> tuple[Any, ...]:
        """Requests with equal keys can share a pipeline call: same size, steps and guidance."""
        key: tuple[Any, ...] = (spec.size(self.family), spec.steps, spec.guidance)
        # SDXL encodes an empty negative prompt as zeros, but only for a whole batch.
        return (*key, bool(spec.negative_prompt)) if self._zero_empty_negative else key

    def render(
        self,
        spec: GenerationSpec,
        *,
        on_progress: RenderProgress | None = None,
        should_stop: StopCheck | None = None,
    ) -> GenerationResult:
        """Renders `spec.count` images. Raises GenerationCancelled when asked to stop."""
        outcome = self.render_batch([spec], on_progress=[on_progress], should_stop=[should_stop])[0]
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    def render_batch(
        self,
        specs: Sequence[GenerationSpec],
        *,
        on_progress: Sequence[RenderProgress | None] | None = None,
        should_stop: Sequence[StopCheck | None] | None = None,
    ) -> list[GenerationResult | Exception]:
        """Renders requests of one `batch_key` together; returns, per request, its result or
        what ended it (GenerationCancelled, IncompatibleLoRA, ...), which ends no other.

        Requests go into pipeline calls of at most `max_batch` images whose LoRAs fit the
        cache together. `on_progress[i]` and `should_stop[i]` belong to request i.
        """
        if len({self.batch_key(spec) for spec in specs}) > 1:
            raise ValueError("a batch needs one size, step count and guidance")
        entries = [
            _Entry(spec, progress, stop)
            for spec, progress, stop in zip(
                specs,
                on_progress or [None] * len(specs),
                should_stop or [None] * len(specs),
                strict=True,
            )
        ]
        waiting = list(entries)
        while waiting:
            batch, waiting = self._next_round(waiting)
            self._render_round(batch)
        return [entry.outcome for entry in entries]  # type: ignore[misc]

    def _next_round(self, waiting: list[_Entry]) -> tuple[list[_Entry], list[_Entry]]:
        """The first requests whose images fit `max_batch` and whose LoRAs fit the cache."""
        taken: list[_Entry] = []
        later: list[_Entry] = []
        adapters: set[str] = set()
        images = 0
        for entry in waiting:
            wanted = {adapter_id for adapter_id, _ in entry.spec.loras}
            if len(wanted) > self.cache_size:
                entry.outcome = EngineError(
                    f"a blend of {len(wanted)} LoRAs exceeds the cache of {self.cache_size}"
                )
            elif not taken or (
                len(adapters | wanted) <= self.cache_size
                and images + entry.spec.count <= self.max_batch
            ):
                taken.append(entry)
                adapters |= wanted
                images += entry.spec.count
            else:
                later.append(entry)
        return taken, later

    def _render_round(self, entries: list[_Entry]) -> None:
        started = time.perf_counter()
        keep = [adapter_id for entry in entries for adapter_id, _ in entry.spec.loras]
        for entry in entries:
            try:
                self._load([adapter_id for adapter_id, _ in entry.spec.loras], keep=keep)
            except Exception as exc:  # this request's LoRA is bad or missing; the others go on
                entry.outcome = exc
        live = [entry for entry in entries if entry.outcome is None]
        if not live:
            return
        for layer in self._lora_layers:
            layer._active_adapter = []  # the mixer adds the updates; peft adds none
        rows = [(entry, seed) for entry in live for seed in entry.spec.seeds()]
        first_row, at = {}, 0
        for entry in live:
            first_row[id(entry)], at = at, at + entry.spec.count
        width, height = live[0].spec.size(self.family)
        spec = live[0].spec
        arguments: dict[str, Any] = {
            "prompt": [entry.spec.prompt for entry, _ in rows],
            "width": width,
            "height": height,
            "num_inference_steps": spec.steps,
            "guidance_scale": spec.guidance,
            # One CPU generator per image: an image depends on its seed alone, on any device.
            "generator": [torch.Generator().manual_seed(seed) for _, seed in rows],
            "callback_on_step_end": self._step_callback(live, first_row, width, height),
        }
        if "negative_prompt" in self._call_params and any(e.spec.negative_prompt for e in live):
            arguments["negative_prompt"] = [entry.spec.negative_prompt for entry, _ in rows]
        blends = [
            {self._adapters[adapter_id]: weight for adapter_id, weight in entry.spec.loras}
            for entry, _ in rows
        ]
        try:
            with batch_invariant(self.exact), self._mixer.blending(blends):
                images = self.pipe(**arguments).images
        except _RoundOver:
            return
        except Exception as exc:  # the pipeline itself failed: every request still running
            for entry in live:
                if entry.outcome is None:
                    entry.outcome = exc
            return
        seconds = time.perf_counter() - started
        for entry in live:
            if entry.outcome is None:
                start = first_row[id(entry)]
                entry.outcome = GenerationResult(
                    images=images[start : start + entry.spec.count],
                    seeds=entry.spec.seeds(),
                    width=width,
                    height=height,
                    steps=entry.spec.steps,
                    seconds=seconds,
                )

    def _load(self, wanted: list[str], *, keep: list[str]) -> None:
        for adapter_id in wanted:
            if adapter_id not in self._adapters:
                if self._fetch_lora is None:
                    raise EngineError(f"LoRA {adapter_id!r} is not loaded and no fetcher is set")
                self.add_lora(adapter_id, self._fetch_lora(adapter_id), keep=keep)
            self._adapters.move_to_end(adapter_id)

    def _evict(self, *, keep: set[str], room_for: int) -> None:
        while len(self._adapters) + room_for > self.cache_size:
            victim = next((a for a in self._adapters if a not in keep), None)
            if victim is None:
                return
            name = self._adapters.pop(victim)
            if self.hotswap and room_for == 1:
                self._free_slots.append(name)  # overwritten in place by the next load
            else:
                self.pipe.delete_adapters(name)

    def _find_lora_layers(self) -> list[BaseTunerLayer]:
        components = (getattr(self.pipe, name, None) for name in self.pipe._lora_loadable_modules)
        layers = [
            module
            for component in components
            if isinstance(component, torch.nn.Module)
            for module in component.modules()
            if isinstance(module, BaseTunerLayer)
        ]
        for layer in layers:
            if layer not in self._mixer.hooked:
                layer.register_forward_hook(self._mixer.hook)
                self._mixer.hooked.add(layer)
        return layers

    def _step_callback(
        self, live: list[_Entry], first_row: dict[int, int], width: int, height: int
    ) -> Callable[..., dict[str, Any]]:
        total = live[0].spec.steps

        def callback(
            pipe: DiffusionPipeline, index: int, timestep: Any, tensors: dict[str, Any]
        ) -> dict[str, Any]:
            step = index + 1
            wants_preview = step % self.preview_every == 0 and step < total
            for entry in live:
                if entry.outcome is None:
                    row = first_row[id(entry)]
                    try:
                        self._report(entry, step, total, tensors, row, width, height, wants_preview)
                    except Exception as exc:  # a failing callback ends its own request only
                        entry.outcome = exc
            if all(entry.outcome is not None for entry in live):
                raise _RoundOver
            return tensors

        return callback

    def _report(
        self,
        entry: _Entry,
        step: int,
        total: int,
        tensors: dict[str, Any],
        row: int,
        width: int,
        height: int,
        wants_preview: bool,
    ) -> None:
        if entry.on_progress is not None:
            preview = (
                self._previewer.png(tensors["latents"][row : row + 1], width, height)
                if wants_preview
                else None
            )
            if entry.on_progress(step, total, preview) is False:
                entry.outcome = GenerationCancelled(f"stopped by the caller at step {step}")
                return
        if entry.should_stop is not None and entry.should_stop():
            entry.outcome = GenerationCancelled(f"stopped at step {step}")
