"""Plain dataclasses that go into and come out of the engine. Pure Python: no torch.

The web builds these from validated requests; a worker hands them to the engine.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from stylevault.engine.sizes import ASPECT_RATIOS, size_for

if TYPE_CHECKING:
    from PIL import Image


@dataclass(frozen=True)
class GenerationSpec:
    """One generation request. `loras` holds (adapter_id, weight) pairs; empty means the base.

    The size is `width` x `height` when both are given, else the model-native size of
    `aspect_ratio`. Image i of `count` uses seed `seed + i`, so each image can be reproduced
    alone.
    """

    prompt: str
    negative_prompt: str = ""
    aspect_ratio: str = "1:1"
    width: int | None = None
    height: int | None = None
    seed: int = 0
    steps: int = 20
    guidance: float = 7.0
    count: int = 1
    loras: Sequence[tuple[str, float]] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "loras", tuple((str(a), float(w)) for a, w in self.loras))
        if self.aspect_ratio not in ASPECT_RATIOS:
            raise ValueError(f"aspect_ratio must be one of {ASPECT_RATIOS}")
        if (self.width is None) != (self.height is None):
            raise ValueError("give both width and height, or neither")
        if self.width is not None and (self.width % 8 or self.height % 8 or self.width <= 0):
            raise ValueError("width and height must be positive multiples of 8")
        if self.steps < 1 or self.count < 1:
            raise ValueError("steps and count must be at least 1")
        if len({adapter_id for adapter_id, _ in self.loras}) != len(self.loras):
            raise ValueError("each LoRA may appear once in a blend")

    def size(self, family: str) -> tuple[int, int]:
        """(width, height) this request renders at on a model of `family`."""
        if self.width is not None and self.height is not None:
            return self.width, self.height
        return size_for(self.aspect_ratio, family)

    def seeds(self) -> list[int]:
        return [self.seed + i for i in range(self.count)]


@dataclass(frozen=True)
class GenerationResult:
    images: list[Image.Image]
    seeds: list[int]
    width: int
    height: int
    steps: int
    seconds: float


@dataclass(frozen=True)
class TrainingSpec:
    """A LoRA training request. `images` holds (image or path, caption) pairs.

    `resolution` of None trains at the base model's native square size.
    """

    images: Sequence[tuple[Image.Image | str | os.PathLike[str], str]]
    rank: int = 16
    steps: int = 1000
    learning_rate: float = 1e-4
    resolution: int | None = None
    seed: int = 0
    batch_size: int = 1

    def __post_init__(self) -> None:
        if not self.images:
            raise ValueError("training needs at least one image")
        if self.rank < 1 or self.steps < 1 or self.batch_size < 1:
            raise ValueError("rank, steps and batch_size must be at least 1")
        if self.learning_rate <= 0:
            raise ValueError("learning_rate must be positive")
        if self.resolution is not None and (self.resolution < 8 or self.resolution % 8):
            raise ValueError("resolution must be a positive multiple of 8")


@dataclass(frozen=True)
class TrainingResult:
    """A trained LoRA: diffusers-format safetensors bytes and what is known about them.

    `initial_loss` and `final_loss` are the noise-prediction loss on the same fixed draws before
    and after training (free of the sampling noise in `losses`, the loss of each step).
    """

    weights: bytes
    sha256: str
    rank: int
    steps: int
    initial_loss: float
    final_loss: float
    losses: list[float] = field(repr=False)
    seconds: float

    @property
    def metadata(self) -> dict[str, Any]:
        """What to store next to the weights (everything but the bytes and per-step losses)."""
        return {
            "sha256": self.sha256,
            "rank": self.rank,
            "steps": self.steps,
            "initial_loss": self.initial_loss,
            "final_loss": self.final_loss,
            "seconds": self.seconds,
        }
