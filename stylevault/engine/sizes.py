"""Aspect ratios mapped to the sizes each model family was trained at. Pure Python: no torch."""

from __future__ import annotations

# Model families the engine knows, with the side of their native square image in pixels.
NATIVE_SIDE = {"tiny": 256, "sd15": 512, "sdxl": 1024, "flux": 1024}

# SDXL's training buckets (width, height) at 1024; other families scale them by side / 1024,
# which keeps every size a multiple of 16 for tiny and of 64 for the others.
_BUCKETS_1024 = {
    "1:1": (1024, 1024),
    "4:3": (1152, 896),
    "3:4": (896, 1152),
    "16:9": (1344, 768),
    "9:16": (768, 1344),
}
ASPECT_RATIOS = tuple(_BUCKETS_1024)


def size_for(aspect_ratio: str, family: str) -> tuple[int, int]:
    """Returns (width, height) in pixels for an aspect ratio such as "16:9" on a model family."""
    if aspect_ratio not in _BUCKETS_1024:
        raise ValueError(f"unknown aspect ratio {aspect_ratio!r}; use one of {ASPECT_RATIOS}")
    if family not in NATIVE_SIDE:
        raise ValueError(f"unknown model family {family!r}; use one of {tuple(NATIVE_SIDE)}")
    width, height = _BUCKETS_1024[aspect_ratio]
    side = NATIVE_SIDE[family]
    return width * side // 1024, height * side // 1024
