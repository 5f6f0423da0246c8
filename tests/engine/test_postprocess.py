"""Provenance marks on delivered images: attacked copies are still recognised, foreign images
never are, and the Content Credentials read back valid and trusted."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from stylevault.engine.c2pa import ManifestSigner, make_test_ca, read_manifest
from stylevault.engine.demo_art import procedural_artist
from stylevault.engine.fingerprint import FingerprintIndex
from stylevault.engine.postprocess import ImageMetadata, finish_image, identify
from stylevault.engine.signature import SIGNATURE_RULE, place_signature


def _jpeg(image: Image.Image, quality: int = 50) -> Image.Image:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality)
    return Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")


def _half(image: Image.Image) -> Image.Image:
    return image.resize((image.width // 2, image.height // 2), Image.Resampling.BILINEAR)


def _crop(image: Image.Image, fx: float = 0.3, fy: float = 0.7) -> Image.Image:
    side = 0.8**0.5  # keeps 80% of the area
    width, height = round(image.width * side), round(image.height * side)
    left, top = round((image.width - width) * fx), round((image.height - height) * fy)
    return image.crop((left, top, left + width, top + height))


def _rotate(image: Image.Image) -> Image.Image:
    return image.rotate(2, resample=Image.Resampling.BICUBIC)


ATTACKS = {
    "jpeg50": _jpeg,
    "half": _half,
    "crop80": _crop,
    "rotate2": _rotate,
    "chain": lambda image: _jpeg(_half(_crop(_rotate(image)))),
}


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def signer(tmp_path_factory):
    return ManifestSigner(make_test_ca(tmp_path_factory.mktemp("ca")))


@pytest.fixture(scope="module")
def delivered(signer):
    """Twelve images as buyers get them, registered in a fingerprint index."""
    index = FingerprintIndex()
    signature = Image.new("RGB", (300, 100), "white")
    made = []
    for n in range(12):
        picture = procedural_artist(n % 4, size=512)(n)
        mark = 0x5EED00000000 + n * 7919
        finished = finish_image(
            picture,
            payload=mark,
            signature=signature,
            metadata=ImageMetadata("artist", "style", "licence", "https://x/c", f"9-{n}"),
            signer=signer if n < 2 else None,  # C2PA is exercised below; marks don't need it
        )
        index.add(n, finished.fingerprints)
        made.append((n, mark, finished))
    return index, made


@pytest.mark.parametrize("attack", list(ATTACKS))
def test_attacked_copies_are_identified(attack, delivered):
    index, made = delivered
    for image_id, mark, finished in made:
        attacked = ATTACKS[attack](Image.open(io.BytesIO(finished.data)).convert("RGB"))
        found = identify(_png(attacked), "image/png", index=index)
        assert found is not None, (attack, image_id)
        assert found.mark == mark or found.image_id == image_id, (attack, found)


def _foreign(seed: int) -> Image.Image:
    """Pictures the platform never made: smooth colour fields, gradients, blocks and noise."""
    rng = np.random.default_rng(seed)
    kind = seed % 4
    if kind == 0:
        field = rng.normal(size=(8, 8, 3))
        pixels = np.asarray(
            Image.fromarray(((field - field.min()) / np.ptp(field) * 255).astype(np.uint8)).resize(
                (256, 256), Image.Resampling.BICUBIC
            )
        )
    elif kind == 1:
        ramp = np.linspace(0, 255, 256)
        pixels = np.stack(
            [np.add.outer(ramp * rng.random(), ramp * rng.random()) % 256] * 3, axis=-1
        )
    elif kind == 2:
        pixels = np.kron(rng.integers(0, 256, size=(8, 8, 3)), np.ones((32, 32, 1)))
    else:
        pixels = rng.integers(0, 256, size=(256, 256, 3))
    return Image.fromarray(np.asarray(pixels, dtype=np.uint8))


def test_a_thousand_foreign_images_are_never_identified(delivered):
    index, _made = delivered
    matched = [
        seed for seed in range(1000) if identify(_png(_foreign(seed)), "image/png", index=index)
    ]
    assert matched == []


def test_manifest_reads_back_valid_and_trusted(delivered, signer):
    _index, made = delivered
    finished = made[0][2]
    anchors = signer.material.root_pem.decode()
    trusted = read_manifest(finished.data, finished.mime_type, anchors)
    assert trusted.valid and trusted.trusted, trusted
    assert trusted.license["image_id"] == "9-0" and trusted.license["artist"] == "artist"
    assert trusted.source_type.endswith("trainedAlgorithmicMedia")
    untrusted = read_manifest(finished.data, finished.mime_type, None)
    assert untrusted.valid and not untrusted.trusted
    found = identify(finished.data, finished.mime_type, index=None, trust_anchors_pem=anchors)
    assert found.method == "c2pa" and found.manifest_image_id == "9-0"


def test_a_tampered_file_is_not_trusted(delivered, signer):
    finished = delivered[1][1][2]
    pixels = bytearray(finished.data)
    pixels[len(pixels) // 2] ^= 0xFF
    report = read_manifest(bytes(pixels), finished.mime_type, signer.material.root_pem.decode())
    assert not report.trusted


def test_signature_follows_the_fixed_rule():
    image = Image.new("RGB", (1000, 600), (255, 255, 255))
    signature = Image.new("RGB", (200, 50), "white")
    signature.paste((0, 0, 0), (0, 0, 200, 50))
    signed = np.asarray(place_signature(image, signature))
    inked = np.argwhere(signed.min(axis=-1) < 128)
    width = round(600 * SIGNATURE_RULE["width"])
    margin = round(600 * SIGNATURE_RULE["margin"])
    assert inked[:, 1].max() == 1000 - margin - 1 and inked[:, 0].max() == 600 - margin - 1
    assert inked[:, 1].max() - inked[:, 1].min() + 1 == width
