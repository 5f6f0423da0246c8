from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from transformers import CLIPImageProcessor, CLIPVisionConfig, CLIPVisionModelWithProjection

from stylevault.engine import embedding_model, style_embedding
from tests.engine.synthetic import blobs, strokes


@pytest.fixture(autouse=True)
def _no_clip(monkeypatch) -> None:
    monkeypatch.delenv("STYLEVAULT_CLIP_MODEL", raising=False)


def test_embeddings_are_deterministic_normalised_float32(tmp_path: Path) -> None:
    images = [strokes(1), blobs(1)]
    path = tmp_path / "blob.png"
    images[1].save(path)
    first = style_embedding(images)
    assert first.dtype == np.float32 and first.shape[0] == 2
    assert np.allclose(np.linalg.norm(first, axis=1), 1.0, atol=1e-5)
    assert np.array_equal(first, style_embedding(images))
    assert np.allclose(style_embedding([path])[0], first[1], atol=1e-6)  # paths work too
    assert embedding_model() == "handmade-v1"


def test_one_style_is_closer_to_itself_than_to_another() -> None:
    same_a, same_b, other = style_embedding([strokes(1), strokes(2, size=160), blobs(3)])
    assert same_a @ same_b > 0.9
    assert same_a @ same_b > same_a @ other + 0.3


def test_a_configured_clip_model_is_used(tmp_path: Path, monkeypatch) -> None:
    config = CLIPVisionConfig(
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        image_size=32,
        patch_size=8,
        projection_dim=16,
    )
    CLIPVisionModelWithProjection(config).save_pretrained(tmp_path)
    CLIPImageProcessor(size={"shortest_edge": 32}, crop_size=32).save_pretrained(tmp_path)
    monkeypatch.setenv("STYLEVAULT_CLIP_MODEL", str(tmp_path))
    rows = style_embedding([strokes(1), blobs(1)])
    assert rows.shape == (2, 16) and rows.dtype == np.float32
    assert np.allclose(np.linalg.norm(rows, axis=1), 1.0, atol=1e-5)
    assert np.array_equal(rows, style_embedding([strokes(1), blobs(1)]))
    assert embedding_model() == f"clip:{tmp_path}"
