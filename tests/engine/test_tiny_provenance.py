"""Provenance stays exact when the built-in model's pictures look alike: 200 renders of the same
prompt on neighbouring seeds, each attacked, are each identified as themselves, never a sibling."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from stylevault.engine import GenerationSpec, Renderer
from stylevault.engine.fingerprint import FingerprintIndex
from stylevault.engine.postprocess import ImageMetadata, finish_image, identify
from tests.engine.test_postprocess import ATTACKS, _png

SIBLINGS, BATCH = 200, 20
PAYLOAD = 1 << 40


@pytest.fixture(scope="module")
def siblings(pipe) -> tuple[FingerprintIndex, list[Image.Image]]:
    renderer = Renderer(pipe)
    index = FingerprintIndex()
    made = []
    for first in range(1, SIBLINGS + 1, BATCH):
        spec = GenerationSpec(
            prompt="a red circle", width=256, height=256, seed=first, steps=6, count=BATCH
        )
        for seed, image in zip(spec.seeds(), renderer.render(spec).images, strict=True):
            metadata = ImageMetadata("artist", "style", "licence", "https://x/c", str(seed))
            finished = finish_image(
                image, payload=PAYLOAD + seed, signature=None, metadata=metadata
            )
            index.add(seed, finished.fingerprints)
            made.append(Image.open(io.BytesIO(finished.data)).convert("RGB"))
    return index, made


@pytest.mark.parametrize("attack", ["jpeg50", "half", "crop80"])
def test_each_of_two_hundred_siblings_is_identified_as_itself(siblings, attack: str) -> None:
    index, made = siblings
    wrong, missed = [], []
    for seed, picture in enumerate(made, start=1):
        found = identify(_png(ATTACKS[attack](picture)), "image/png", index=index)
        if found is None:
            missed.append(seed)
        elif found.mark not in (None, PAYLOAD + seed) or found.image_id not in (None, seed):
            wrong.append(seed)
    assert wrong == [] and missed == []
