"""Many requests in one pipeline call: each image is byte-identical to the same request alone,
and what ends one request (a bad LoRA, a failing callback, a cancel) ends no other."""

from __future__ import annotations

import dataclasses

import pytest

from stylevault.engine import GenerationCancelled, GenerationSpec, IncompatibleLoRA, Renderer
from tests.engine.conftest import TEST_SIZE

BASE = GenerationSpec(prompt="a cat", width=TEST_SIZE, height=TEST_SIZE, steps=4, seed=7)
MIXED = [
    dataclasses.replace(BASE, loras=[("strokes", 1.0)]),
    dataclasses.replace(
        BASE,
        prompt="a dog",
        negative_prompt="blurry",
        seed=3,
        loras=[("blobs", 0.7), ("strokes", 0.3)],
    ),
    dataclasses.replace(BASE, prompt="hills", count=2, seed=11),
    dataclasses.replace(BASE, seed=7, loras=[("blobs", 0.8)]),
]


def png_bytes(result) -> list[bytes]:
    return [image.tobytes() for image in result.images]


@pytest.fixture
def styled(renderer: Renderer, lora_strokes, lora_blobs) -> Renderer:
    renderer.add_lora("strokes", lora_strokes.weights)
    renderer.add_lora("blobs", lora_blobs.weights)
    renderer.max_batch = 8
    return renderer


def test_each_image_is_byte_identical_alone_and_in_a_mixed_batch(styled: Renderer) -> None:
    batch = styled.render_batch(MIXED)
    alone = [styled.render(spec) for spec in MIXED]
    for together, single in zip(batch, alone, strict=True):
        assert png_bytes(together) == png_bytes(single)
    assert batch[2].seeds == [11, 12] and len(batch[2].images) == 2
    # Different blends of the same seed and prompt really differ (the rows did not leak).
    assert png_bytes(batch[0]) != png_bytes(batch[3])
    assert png_bytes(batch[0]) != png_bytes(styled.render(BASE))


def test_rounds_split_by_cache_and_batch_size_change_no_pixel(
    pipe, lora_strokes, lora_blobs, styled: Renderer
) -> None:
    files = {"strokes": lora_strokes.weights, "blobs": lora_blobs.weights}
    small = Renderer(pipe, cache_size=1, max_batch=2, fetch_lora=files.__getitem__)
    try:
        split = small.render_batch([MIXED[0], MIXED[3], MIXED[2]])
    finally:
        small.clear()
    expected = styled.render_batch([MIXED[0], MIXED[3], MIXED[2]])
    assert [png_bytes(r) for r in split] == [png_bytes(r) for r in expected]
    blend = small.render_batch([MIXED[1]])[0]  # two LoRAs never fit a cache of one
    assert "exceeds the cache" in str(blend)


def test_a_request_whose_lora_is_broken_fails_alone(pipe, lora_strokes) -> None:
    def fetch(adapter_id: str) -> bytes:
        return lora_strokes.weights if adapter_id == "strokes" else b"not a safetensors file"

    renderer = Renderer(pipe, cache_size=2, fetch_lora=fetch)
    try:
        good, bad = renderer.render_batch([MIXED[0], dataclasses.replace(BASE, loras=[("x", 1)])])
        assert isinstance(bad, IncompatibleLoRA)
        assert png_bytes(good) == png_bytes(renderer.render(MIXED[0]))
    finally:
        renderer.clear()


def test_a_failing_callback_or_a_cancel_ends_only_its_request(styled: Renderer) -> None:
    seen: dict[int, list[int]] = {0: [], 1: [], 2: []}

    def recorder(index: int):
        def progress(step: int, total: int, preview: bytes | None) -> bool:
            seen[index].append(step)
            if index == 1 and step == 2:
                raise RuntimeError("progress store is down")
            return True

        return progress

    stops = [None, None, lambda: len(seen[2]) >= 3]
    specs = MIXED[:3]
    outcomes = styled.render_batch(
        specs, on_progress=[recorder(i) for i in range(3)], should_stop=stops
    )
    assert isinstance(outcomes[1], RuntimeError)
    assert isinstance(outcomes[2], GenerationCancelled)
    assert seen == {0: [1, 2, 3, 4], 1: [1, 2], 2: [1, 2, 3]}
    assert png_bytes(outcomes[0]) == png_bytes(styled.render(specs[0]))


def test_previews_are_per_request(styled: Renderer) -> None:
    previews: dict[int, bytes] = {}

    def keep(index: int):
        return lambda step, total, preview: previews.setdefault(index, preview) if preview else None

    styled.render_batch(MIXED[:2], on_progress=[keep(0), keep(1)])
    assert previews[0] and previews[1] and previews[0] != previews[1]


def test_one_call_needs_one_size_and_step_count(styled: Renderer) -> None:
    with pytest.raises(ValueError, match="one size"):
        styled.render_batch([BASE, dataclasses.replace(BASE, steps=5)])
