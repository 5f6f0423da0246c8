from __future__ import annotations

import pytest

from stylevault.engine import ASPECT_RATIOS, GenerationSpec, TrainingSpec, size_for


@pytest.mark.parametrize(
    ("family", "expected"),
    [
        ("tiny", {"1:1": (256, 256), "4:3": (288, 224), "16:9": (336, 192)}),
        ("sd15", {"1:1": (512, 512), "3:4": (448, 576), "9:16": (384, 672)}),
        ("sdxl", {"1:1": (1024, 1024), "4:3": (1152, 896), "3:4": (896, 1152)}),
        ("sdxl", {"16:9": (1344, 768), "9:16": (768, 1344)}),
    ],
)
def test_native_sizes(family: str, expected: dict[str, tuple[int, int]]) -> None:
    for ratio, size in expected.items():
        assert size_for(ratio, family) == size


@pytest.mark.parametrize("family", ["tiny", "sd15", "sdxl", "flux"])
def test_every_ratio_is_landscape_or_portrait_as_named(family: str) -> None:
    for ratio in ASPECT_RATIOS:
        width, height = size_for(ratio, family)
        across, down = (int(part) for part in ratio.split(":"))
        assert width % 16 == 0 and height % 16 == 0
        assert (width > height) == (across > down) and (width == height) == (across == down)
        assert abs(width / height - across / down) < 0.1


def test_unknown_ratio_or_family_is_refused() -> None:
    with pytest.raises(ValueError, match="aspect ratio"):
        size_for("2:1", "sdxl")
    with pytest.raises(ValueError, match="family"):
        size_for("1:1", "sd3")


def test_generation_spec_checks_and_sizes() -> None:
    spec = GenerationSpec(prompt="cat", aspect_ratio="16:9", seed=5, count=3, loras=[("a", 1)])
    assert spec.size("sd15") == (672, 384)
    assert spec.seeds() == [5, 6, 7]
    assert spec.loras == (("a", 1.0),)
    assert GenerationSpec(prompt="cat", width=64, height=128).size("sdxl") == (64, 128)
    with pytest.raises(ValueError):
        GenerationSpec(prompt="cat", width=64)
    with pytest.raises(ValueError):
        GenerationSpec(prompt="cat", width=60, height=64)
    with pytest.raises(ValueError):
        GenerationSpec(prompt="cat", loras=[("a", 1.0), ("a", 0.5)])
    with pytest.raises(ValueError):
        TrainingSpec(images=[])
