"""Engine fixtures: the tiny model is built once per session into a temporary folder."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from diffusers import DiffusionPipeline

from stylevault.engine import Renderer, TrainingResult, TrainingSpec, load_pipeline, train_lora
from tests.engine.synthetic import blobs, strokes

# Small and few: the whole engine suite must stay within minutes on a 2-core CPU.
TEST_SIZE = 64
TRAIN = {"rank": 4, "steps": 20, "learning_rate": 1e-2, "resolution": TEST_SIZE}


@pytest.fixture(scope="session")
def engine_cache(tmp_path_factory: pytest.TempPathFactory):
    return tmp_path_factory.mktemp("engine-cache")


@pytest.fixture(scope="session")
def pipe(engine_cache) -> DiffusionPipeline:
    return load_pipeline("tiny", cache_dir=engine_cache)


@pytest.fixture
def renderer(pipe: DiffusionPipeline) -> Iterator[Renderer]:
    """A fresh renderer over the shared pipeline; its adapters are unloaded afterwards."""
    made = Renderer(pipe, cache_size=2, preview_every=2)
    yield made
    made.clear()


@pytest.fixture(scope="session")
def lora_strokes(pipe: DiffusionPipeline) -> TrainingResult:
    images = [(strokes(seed), "blue ink strokes") for seed in range(3)]
    return train_lora(pipe, TrainingSpec(images=images, seed=1, **TRAIN))


@pytest.fixture(scope="session")
def lora_blobs(pipe: DiffusionPipeline) -> TrainingResult:
    images = [(blobs(seed), "magenta blobs") for seed in range(3)]
    return train_lora(pipe, TrainingSpec(images=images, seed=2, **TRAIN))
