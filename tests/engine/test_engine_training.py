from __future__ import annotations

import hashlib

import pytest
from safetensors.torch import load

from stylevault.engine import TrainingCancelled, TrainingSpec, train_lora
from stylevault.engine.training import TRAINING_ADAPTER
from tests.engine.conftest import TRAIN
from tests.engine.synthetic import strokes


def test_training_lowers_the_loss_and_yields_a_diffusers_lora(lora_strokes) -> None:
    assert lora_strokes.final_loss < lora_strokes.initial_loss
    assert lora_strokes.steps == TRAIN["steps"] == len(lora_strokes.losses)
    assert lora_strokes.sha256 == hashlib.sha256(lora_strokes.weights).hexdigest()
    tensors = load(lora_strokes.weights)
    assert tensors and all(key.startswith("unet.") for key in tensors)
    assert {key.rsplit(".", 2)[-2] for key in tensors} == {"down", "up"}
    downs = [value for key, value in tensors.items() if key.endswith("lora.down.weight")]
    assert {value.shape[0] for value in downs} == {TRAIN["rank"]}
    assert set(lora_strokes.metadata) >= {"sha256", "steps", "final_loss", "initial_loss"}


def test_same_seed_same_weights_and_progress_is_reported(pipe) -> None:
    spec = TrainingSpec(images=[(strokes(0), "ink")], **{**TRAIN, "steps": 3}, seed=11)
    progress: list[tuple[int, int, float]] = []
    first = train_lora(pipe, spec, on_progress=lambda *args: progress.append(args))
    assert [(step, total) for step, total, _ in progress] == [(1, 3), (2, 3), (3, 3)]
    assert [loss for *_, loss in progress] == first.losses
    assert train_lora(pipe, spec).sha256 == first.sha256


def test_cancel_stops_training_and_leaves_the_pipeline_clean(pipe) -> None:
    spec = TrainingSpec(images=[(strokes(0), "ink")], **TRAIN)
    with pytest.raises(TrainingCancelled):
        train_lora(pipe, spec, on_progress=lambda step, total, loss: step < 2)
    with pytest.raises(TrainingCancelled):
        train_lora(pipe, spec, should_stop=lambda: True)
    assert TRAINING_ADAPTER not in getattr(pipe.unet, "peft_config", {})
