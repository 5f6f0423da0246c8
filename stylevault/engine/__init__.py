"""The diffusion engine: base models, LoRA training and rendering, style embeddings.

No Django here. Importing this package is cheap: the torch-bound parts (pipeline, training,
rendering, LoRA files) load on first use of their names, so the web can use the specs, sizes and
errors without importing torch.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from stylevault.engine.errors import (
    EngineError,
    GenerationCancelled,
    IncompatibleLoRA,
    TrainingCancelled,
)
from stylevault.engine.sizes import ASPECT_RATIOS, NATIVE_SIDE, size_for
from stylevault.engine.specs import (
    GenerationResult,
    GenerationSpec,
    TrainingResult,
    TrainingSpec,
)

_LAZY = {
    "load_pipeline": "stylevault.engine.pipeline",
    "model_family": "stylevault.engine.pipeline",
    "build_tiny_model": "stylevault.engine.tiny",
    "train_lora": "stylevault.engine.training",
    "Renderer": "stylevault.engine.render",
    "LoraFile": "stylevault.engine.lora",
    "read_lora": "stylevault.engine.lora",
    "validate_lora": "stylevault.engine.lora",
    "style_embedding": "stylevault.engine.embedding",
    "embedding_model": "stylevault.engine.embedding",
}

__all__ = [
    "ASPECT_RATIOS",
    "NATIVE_SIDE",
    "EngineError",
    "GenerationCancelled",
    "GenerationResult",
    "GenerationSpec",
    "IncompatibleLoRA",
    "TrainingCancelled",
    "TrainingResult",
    "TrainingSpec",
    "size_for",
    *_LAZY,
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
