"""LoRA files: reading safetensors bytes and checking they fit a base model before loading.

Accepted layouts: diffusers (`unet.<module>.lora.down.weight`), PEFT (`unet.<module>.lora_A.weight`)
and kohya (`lora_unet_<module>.lora_down.weight` + `.alpha`), which diffusers converts.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import torch
from diffusers import DiffusionPipeline
from diffusers.utils import convert_unet_state_dict_to_peft
from safetensors import SafetensorError
from safetensors.torch import load as load_safetensors
from safetensors.torch import load_file

from stylevault.engine.errors import IncompatibleLoRA

LoraSource = bytes | str | os.PathLike[str]

_KOHYA_PREFIXES = ("lora_unet_", "lora_te_", "lora_te1_", "lora_te2_")
# <component>.<module path>.<A or B factor>.weight, in the diffusers or PEFT spelling.
_FACTOR_KEY = re.compile(
    r"^(?P<component>[a-z0-9_]+)\.(?P<module>.+)\."
    r"(?:lora_(?P<peft>[AB])|lora(?:_linear_layer)?\.(?P<diffusers>down|up))\.weight$"
)


@dataclass(frozen=True)
class LoraFile:
    """A LoRA checked against a base model, ready for `pipe.load_lora_weights(state_dict)`."""

    state_dict: dict[str, torch.Tensor]
    format: str  # "diffusers" or "kohya"
    rank: int
    modules: int


def read_lora(source: LoraSource) -> dict[str, torch.Tensor]:
    """Parses safetensors bytes or a file path; anything else is refused."""
    try:
        if isinstance(source, bytes):
            return load_safetensors(source)
        return load_file(Path(source))
    except (SafetensorError, OSError, ValueError) as exc:
        raise IncompatibleLoRA(f"not a readable safetensors LoRA file ({exc})") from exc


def validate_lora(
    source: LoraSource | dict[str, torch.Tensor], pipe: DiffusionPipeline
) -> LoraFile:
    """Checks that every LoRA factor targets a layer of `pipe` with matching shapes.

    Raises IncompatibleLoRA naming the first problem: unreadable file, no LoRA keys, a module
    the base model lacks (e.g. an SDXL LoRA on SD 1.5), or a shape mismatch.
    """
    state_dict = source if isinstance(source, dict) else read_lora(source)
    if not state_dict:
        raise IncompatibleLoRA("the file holds no tensors")
    is_kohya = all(key.startswith(_KOHYA_PREFIXES) for key in state_dict)
    # Like load_lora_weights: SDXL needs the UNet config to map kohya's block numbers.
    options = {"unet_config": pipe.unet.config} if hasattr(pipe, "unet") else {}
    try:
        # lora_state_dict converts kohya keys; it pops from its input, hence the copy.
        converted = type(pipe).lora_state_dict(dict(state_dict), **options)
    except (ValueError, KeyError) as exc:
        raise IncompatibleLoRA(f"unrecognised LoRA layout ({exc})") from exc
    if isinstance(converted, tuple):  # (state dict, network alphas) for UNet models
        converted = converted[0]
    # Old diffusers spellings (kohya's converter emits them) to the lora_A / lora_B one.
    pairs = _factor_pairs(convert_unet_state_dict_to_peft(converted))
    ranks = {_check_pair(pipe, target, a, b) for target, (a, b) in pairs.items()}
    return LoraFile(
        state_dict=state_dict,
        format="kohya" if is_kohya else "diffusers",
        rank=max(ranks),
        modules=len(pairs),
    )


def _factor_pairs(
    state_dict: dict[str, torch.Tensor],
) -> dict[tuple[str, str], tuple[torch.Tensor, torch.Tensor]]:
    """Groups tensors into {(component, module): (A, B)}; A is "down", B is "up"."""
    factors: dict[tuple[str, str], dict[str, torch.Tensor]] = {}
    for key, tensor in state_dict.items():
        match = _FACTOR_KEY.match(key)
        if match is None:
            raise IncompatibleLoRA(f"unexpected tensor {key!r}: not a LoRA factor")
        side = "A" if match["peft"] == "A" or match["diffusers"] == "down" else "B"
        factors.setdefault((match["component"], match["module"]), {})[side] = tensor
    if not factors:
        raise IncompatibleLoRA("no LoRA weights found in the file")
    pairs = {}
    for target, sides in factors.items():
        if set(sides) != {"A", "B"}:
            raise IncompatibleLoRA(f"{'.'.join(target)} lacks one of its two LoRA factors")
        pairs[target] = (sides["A"], sides["B"])
    return pairs


def _check_pair(
    pipe: DiffusionPipeline, target: tuple[str, str], down: torch.Tensor, up: torch.Tensor
) -> int:
    """Returns the pair's rank after checking it against the base layer's weight."""
    component_name, module_path = target
    where = f"{component_name}.{module_path}"
    component = getattr(pipe, component_name, None)
    if component_name not in pipe._lora_loadable_modules or component is None:
        raise IncompatibleLoRA(f"{where}: this base model has no {component_name!r}")
    try:
        module = component.get_submodule(module_path)
    except AttributeError as exc:
        raise IncompatibleLoRA(f"{where}: no such layer in this base model") from exc
    # Layers already holding adapters are wrapped; the original sits in base_layer.
    weight = getattr(getattr(module, "base_layer", module), "weight", None)
    if not isinstance(weight, torch.Tensor) or weight.ndim not in (2, 4):
        raise IncompatibleLoRA(f"{where}: not a linear or convolution layer")
    rank = down.shape[0]
    fits = (
        down.ndim == weight.ndim == up.ndim
        and down.shape[1] == weight.shape[1]
        and up.shape[0] == weight.shape[0]
        and up.shape[1] == rank
    )
    if not fits:
        raise IncompatibleLoRA(
            f"{where}: LoRA shapes {tuple(down.shape)} / {tuple(up.shape)} do not fit the "
            f"layer's weight {tuple(weight.shape)}; the file was trained for another base model"
        )
    return rank
