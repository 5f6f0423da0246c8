"""The worker's engine: one pipeline and one LoRA-caching renderer per process, loaded lazily.

Only worker code paths import this module's functions; importing it does not import torch.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING

from django.conf import settings

from stylevault.styles import vault
from stylevault.styles.models import Style

if TYPE_CHECKING:
    from diffusers import DiffusionPipeline

    from stylevault.engine import Renderer

# The highest LoRA rank a hotswapped cache slot holds (our training uses 16; uploads up to 128).
HOTSWAP_RANK = 128
_lock = threading.Lock()
_state: dict[str, object] = {}


def adapter_id(style) -> str:
    """The cache key of a style's LoRA: a re-trained style never reuses a stale adapter."""
    return f"{style.pk}:{style.lora_sha256[:16]}"


def pipeline() -> DiffusionPipeline:
    with _lock:
        if "pipe" not in _state:
            # torch and the engine load in the worker that runs the job, not where handlers register.
            from stylevault.engine import load_pipeline

            _state["pipe"] = load_pipeline(
                settings.STYLEVAULT_BASE_MODEL, cache_dir=Path(settings.DATA_DIR) / "models"
            )
        return _state["pipe"]  # type: ignore[return-value]


def _fetch_lora(adapter: str) -> bytes:
    style_id = int(adapter.split(":", 1)[0])
    style = Style.objects.only("lora_path").get(pk=style_id)
    return vault.load_lora(style.lora_path, style_id=style_id)


def renderer() -> Renderer:
    pipe = pipeline()
    with _lock:
        if "renderer" not in _state:
            # torch and the engine load in the worker that runs the job, not where handlers register.
            from stylevault.engine import Renderer

            _state["renderer"] = Renderer(
                pipe,
                cache_size=settings.STYLEVAULT_LORA_CACHE_SIZE,
                fetch_lora=_fetch_lora,
                max_batch=settings.STYLEVAULT_BATCH_SIZE,
                # Byte-identical alone and batched costs time (docs/batching.md): only when
                # there are batches of requests to be identical across.
                exact=settings.STYLEVAULT_BATCH_EXACT and settings.STYLEVAULT_BATCH_SIZE > 1,
                # On CUDA a LoRA overwrites the evicted one in place (no recompiled UNet).
                hotswap_rank=HOTSWAP_RANK if pipe.device.type == "cuda" else None,
            )
        return _state["renderer"]  # type: ignore[return-value]
