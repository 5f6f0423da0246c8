from __future__ import annotations

from pathlib import Path

import pytest
import torch
from diffusers import AutoPipelineForText2Image, StableDiffusionPipeline

from stylevault.engine import EngineError, build_tiny_model, model_family
from stylevault.engine.tiny import TOKENIZER_DIR
from stylevault.engine.tiny.make_tokenizer import generate


def test_build_is_idempotent_and_loads_like_a_checkpoint(tmp_path: Path) -> None:
    folder = build_tiny_model(tmp_path / "tiny")
    index = folder / "model_index.json"
    built_at = index.stat().st_mtime_ns
    assert build_tiny_model(folder) == folder
    assert index.stat().st_mtime_ns == built_at
    assert [p.name for p in tmp_path.iterdir()] == ["tiny"]  # no staging folder left behind
    pipe = AutoPipelineForText2Image.from_pretrained(folder)
    assert isinstance(pipe, StableDiffusionPipeline)
    assert model_family(pipe) == "tiny"
    assert pipe.vae_scale_factor == 8


def test_cpu_loads_in_fp32_and_unknown_pipelines_are_refused(pipe) -> None:
    assert pipe.device.type == "cpu" and pipe.dtype == torch.float32

    class ImageToVideoPipeline:
        pass

    with pytest.raises(EngineError, match="unsupported"):
        model_family(ImageToVideoPipeline())


def test_shipped_tokenizer_is_small_and_speaks_both_languages(pipe) -> None:
    assert sum(p.stat().st_size for p in TOKENIZER_DIR.iterdir()) < 1_000_000
    tokenizer = pipe.tokenizer
    ids = tokenizer("겨울 신메뉴 카페 포스터, watercolor").input_ids
    assert ids[0] == tokenizer.bos_token_id and ids[-1] == tokenizer.eos_token_id
    assert tokenizer.unk_token_id not in ids[1:-1]
    assert len(ids) == 2 + 6  # each word is one learned token, and so is the comma


def test_shipped_tokenizer_is_what_its_generator_writes(tmp_path: Path) -> None:
    generate(tmp_path)
    for name in ("vocab.json", "merges.txt"):
        assert (tmp_path / name).read_bytes() == (TOKENIZER_DIR / name).read_bytes()
