from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from diffusers.utils import convert_unet_state_dict_to_peft
from diffusers.utils.state_dict_utils import convert_state_dict_to_kohya
from safetensors.torch import save

from stylevault.engine import GenerationSpec, IncompatibleLoRA, read_lora, validate_lora
from tests.engine.conftest import TEST_SIZE, TRAIN


def to_kohya(weights: bytes) -> bytes:
    """What kohya-ss/sd-scripts would have written for the same LoRA."""
    return save(convert_state_dict_to_kohya(convert_unet_state_dict_to_peft(read_lora(weights))))


def test_validate_describes_a_diffusers_lora(pipe, lora_strokes) -> None:
    lora = validate_lora(lora_strokes.weights, pipe)
    assert lora.format == "diffusers"
    assert lora.rank == TRAIN["rank"]
    # to_q, to_k, to_v, to_out.0 in both attentions of the tiny UNet's 7 transformer blocks:
    # one in each of its two cross-attention down blocks, one in the mid block, two in each of
    # its two cross-attention up blocks (the third UNet level, docs/decisions/030).
    assert lora.modules == 4 * 2 * 7


def test_kohya_file_renders_like_the_diffusers_original(renderer, pipe, lora_strokes) -> None:
    kohya = to_kohya(lora_strokes.weights)
    assert all(key.startswith("lora_unet_") for key in read_lora(kohya))
    lora = validate_lora(kohya, pipe)
    assert lora.format == "kohya" and lora.rank == TRAIN["rank"]
    renderer.add_lora("diffusers", lora_strokes.weights)
    renderer.add_lora("kohya", lora)
    spec = GenerationSpec(prompt="ink", width=TEST_SIZE, height=TEST_SIZE, steps=3)
    original = renderer.render(dataclasses.replace(spec, loras=[("diffusers", 1.0)])).images[0]
    imported = renderer.render(dataclasses.replace(spec, loras=[("kohya", 1.0)])).images[0]
    assert np.array_equal(np.asarray(original), np.asarray(imported))


def test_files_from_elsewhere_are_refused_with_a_reason(pipe, lora_strokes) -> None:
    tensors = read_lora(lora_strokes.weights)
    key = next(k for k in tensors if k.endswith("lora.down.weight"))
    wrong_shape = {**tensors, key: torch.zeros(4, tensors[key].shape[1] + 1)}
    missing_layer = {
        "unet.down_blocks.0.attentions.0.proj_in.lora.down.weight": torch.zeros(4, 32),
        "unet.down_blocks.0.attentions.0.proj_in.lora.up.weight": torch.zeros(32, 4),
    }
    sdxl_text_encoder = {
        "lora_te2_text_model_encoder_layers_0_self_attn_q_proj.lora_down.weight": torch.zeros(4, 8),
        "lora_te2_text_model_encoder_layers_0_self_attn_q_proj.lora_up.weight": torch.zeros(8, 4),
    }
    half = {k: v for k, v in tensors.items() if not k.endswith("lora.up.weight")}
    cases = {
        b"not a safetensors file": "not a readable safetensors",
        save({"model.weight": torch.zeros(2, 2)}): "not a LoRA factor",
        save(wrong_shape): "do not fit",
        save(missing_layer): "no such layer",
        save(sdxl_text_encoder): "no 'text_encoder_2'",
        save(half): "lacks one of its two",
    }
    for data, reason in cases.items():
        with pytest.raises(IncompatibleLoRA, match=reason):
            validate_lora(data, pipe)


def test_renderer_refuses_an_incompatible_file(renderer) -> None:
    with pytest.raises(IncompatibleLoRA):
        renderer.add_lora("bad", save({"model.weight": torch.zeros(2, 2)}))
    assert renderer.cached_loras == []
