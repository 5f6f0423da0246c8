from __future__ import annotations

import dataclasses
import io
import statistics
import time

import numpy as np
import pytest
from PIL import Image

from stylevault.engine import EngineError, GenerationCancelled, GenerationSpec, Renderer
from tests.engine.conftest import TEST_SIZE

BASE = GenerationSpec(prompt="a cat", width=TEST_SIZE, height=TEST_SIZE, steps=4, seed=7)


def pixels(renderer: Renderer, spec: GenerationSpec) -> list[np.ndarray]:
    return [np.asarray(image, dtype=np.int16) for image in renderer.render(spec).images]


def test_same_seed_same_pixels_other_seed_other_pixels(renderer: Renderer) -> None:
    first = pixels(renderer, BASE)[0]
    assert np.array_equal(first, pixels(renderer, BASE)[0])
    assert not np.array_equal(first, pixels(renderer, dataclasses.replace(BASE, seed=8))[0])


def test_each_image_of_a_batch_follows_its_own_seed(renderer: Renderer) -> None:
    batch = renderer.render(dataclasses.replace(BASE, count=2))
    assert batch.seeds == [7, 8]
    alone = pixels(renderer, dataclasses.replace(BASE, seed=8))[0]
    # Batched maths may round differently from a single image, but only by a level or two.
    assert np.abs(np.asarray(batch.images[1], dtype=np.int16) - alone).max() <= 2


def test_negative_prompt_changes_the_image(renderer: Renderer) -> None:
    negative = dataclasses.replace(BASE, negative_prompt="blurry")
    assert not np.array_equal(pixels(renderer, BASE)[0], pixels(renderer, negative)[0])


@pytest.mark.parametrize(("ratio", "size"), [("4:3", (288, 224)), ("9:16", (192, 336))])
def test_aspect_ratio_renders_at_the_native_size(
    renderer: Renderer, ratio: str, size: tuple[int, int]
) -> None:
    result = renderer.render(GenerationSpec(prompt="cat", aspect_ratio=ratio, steps=1))
    assert (result.width, result.height) == size
    assert result.images[0].size == size


def test_progress_reports_every_step_with_small_previews(renderer: Renderer) -> None:
    seen: list[tuple[int, int, bytes | None]] = []
    renderer.render(
        dataclasses.replace(BASE, steps=5, width=128, height=64),
        on_progress=lambda step, total, preview: seen.append((step, total, preview)),
    )
    assert [(step, total) for step, total, _ in seen] == [(s, 5) for s in range(1, 6)]
    previews = {step: preview for step, _, preview in seen if preview is not None}
    assert sorted(previews) == [2, 4]  # every second step (preview_every=2), none at the end
    picture = Image.open(io.BytesIO(previews[4]))
    assert picture.format == "PNG" and picture.size == (64, 32)


def test_cancel_from_the_progress_callback_or_should_stop(renderer: Renderer) -> None:
    steps: list[int] = []

    def stop_at_three(step: int, total: int, preview: bytes | None) -> bool:
        steps.append(step)
        return step < 3

    with pytest.raises(GenerationCancelled):
        renderer.render(dataclasses.replace(BASE, steps=8), on_progress=stop_at_three)
    assert steps == [1, 2, 3]
    with pytest.raises(GenerationCancelled):
        renderer.render(BASE, should_stop=lambda: True)
    assert renderer.render(BASE).images  # the pipeline is usable after a cancel


def test_lora_changes_output_and_blends_differ(renderer, lora_strokes, lora_blobs) -> None:
    renderer.add_lora("strokes", lora_strokes.weights)
    renderer.add_lora("blobs", lora_blobs.weights)
    base = pixels(renderer, BASE)[0]
    strokes = pixels(renderer, dataclasses.replace(BASE, loras=[("strokes", 1.0)]))[0]
    blobs = pixels(renderer, dataclasses.replace(BASE, loras=[("blobs", 1.0)]))[0]
    blend = pixels(renderer, dataclasses.replace(BASE, loras=[("strokes", 0.5), ("blobs", 0.5)]))
    off = pixels(renderer, dataclasses.replace(BASE, loras=[("strokes", 0.0)]))[0]
    assert not np.array_equal(strokes, base) and not np.array_equal(blobs, base)
    assert not np.array_equal(blend[0], strokes) and not np.array_equal(blend[0], blobs)
    assert np.array_equal(off, base)
    assert np.array_equal(pixels(renderer, BASE)[0], base)  # no LoRA again: back to the base


def test_switching_cached_loras_is_fast(renderer, lora_strokes, lora_blobs) -> None:
    renderer.add_lora("strokes", lora_strokes.weights)
    renderer.add_lora("blobs", lora_blobs.weights)
    timings = []
    for blend in ([("strokes", 1.0)], [("strokes", 0.3), ("blobs", 0.7)], [("blobs", 1.0)]) * 3:
        started = time.perf_counter()
        renderer.activate(blend)
        timings.append(time.perf_counter() - started)
    assert statistics.median(timings) < 0.020


def test_lru_cache_evicts_least_recently_used(pipe, lora_strokes, lora_blobs) -> None:
    fetched: list[str] = []
    files = {"a": lora_strokes.weights, "b": lora_blobs.weights, "c": lora_strokes.weights}

    def fetch(adapter_id: str) -> bytes:
        fetched.append(adapter_id)
        return files[adapter_id]

    renderer = Renderer(pipe, cache_size=2, fetch_lora=fetch)
    try:
        renderer.activate([("a", 1.0)])
        renderer.activate([("b", 1.0)])
        renderer.activate([("a", 1.0)])  # cached: no fetch, and "a" becomes the most recent
        renderer.activate([("c", 1.0)])  # the cache of 2 is full: "b" goes
        assert fetched == ["a", "b", "c"]
        assert renderer.cached_loras == ["a", "c"]
        assert len(pipe.get_list_adapters()["unet"]) == 2
        with pytest.raises(EngineError, match="exceeds the cache"):
            renderer.activate([("a", 1.0), ("b", 1.0), ("c", 1.0)])
    finally:
        renderer.clear()
    assert pipe.get_list_adapters().get("unet", []) == []
