"""The checks a style passes before publication (run by the `style_check` job on a worker).

1. Consistency: the training works' style embeddings should cluster (one artist's hand).
2. Duplicates: a work whose perceptual hash is within a few bits of another artist's training
   work, or of an image the platform published, is flagged.
3. Similarity: reference images rendered with the LoRA from a fixed prompt set, and the works
   themselves, are compared with every published style's vectors through the vector index.
   On the tiny model, references of unrelated LoRAs look alike, so the works carry the signal
   there (see docs/decisions/012-style-similarity.md for the thresholds and their calibration).
Flagged styles go to review; clean ones are published.
"""

from __future__ import annotations

import io
from collections.abc import Callable

import numpy as np
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from PIL import Image

from stylevault.jobs.registry import JobFailed, JobStopped
from stylevault.styles import selectors, services
from stylevault.styles.models import Style, StyleStatus, TrainingImage, VectorKind

REFERENCE_PROMPTS = (
    "a portrait of a young woman",
    "a quiet city street at dusk",
    "a bowl of fruit on a wooden table",
    "mountains above a lake",
)
# The built-in model draws only its corpus's vocabulary (docs/tiny-model.md): its references,
# also the style's sample images, keep to it (docs/decisions/031-demo-styles-and-checks.md).
TINY_REFERENCE_PROMPTS = (
    "a yellow sun over a blue sea at dusk",
    "a red house on the left over green hills at day",
    "a white boat on a blue lake at day",
    "a pink flower in the centre",
)
# Perceptual hashes this close (of 64 bits) are the same picture re-encoded or resized.
DUPLICATE_MAX_BITS = 6
REAL_MODEL_TRAINING = {"rank": 16, "steps": 1000, "learning_rate": 1e-4}
Progress = Callable[..., bool]


def training_parameters() -> dict:
    """Defaults for the base model, overridden by STYLEVAULT_TRAINING."""
    if settings.STYLEVAULT_BASE_MODEL == "tiny":
        # The engine (NumPy/OpenCV, torch behind its lazy names) loads on first use, not at web start.
        from stylevault.engine.demo_art import DEMO_TRAINING

        defaults = dict(DEMO_TRAINING)
    else:
        defaults = dict(REAL_MODEL_TRAINING)
    return {**defaults, **settings.STYLEVAULT_TRAINING}


def check_parameters() -> dict:
    tiny = settings.STYLEVAULT_BASE_MODEL == "tiny"
    defaults = {
        "reference_steps": 12 if tiny else 30,
        "reference_size": 256 if tiny else None,
        "reference_prompts": list(TINY_REFERENCE_PROMPTS if tiny else REFERENCE_PROMPTS),
    }
    return {**defaults, **settings.STYLEVAULT_STYLE_CHECKS}


def run_checks(style: Style, *, progress: Progress, should_stop: Callable[[], bool]) -> dict:
    # torch and the engine load in the worker that runs the job, not where handlers register.
    from stylevault.engine import embedding_model, style_embedding

    params = check_parameters()
    prompts = params["reference_prompts"]
    space = embedding_model()
    references = _render_references(style, params, progress, should_stop)
    if should_stop():
        raise JobStopped("stopped while checking")
    works = list(style.training_images.all())
    vectors = {
        VectorKind.REFERENCE: style_embedding([img for img, _png in references]),
        VectorKind.WORK: style_embedding([_load(w.path) for w in works])
        if works
        else np.zeros((0, 1)),
    }
    samples = [
        {
            "position": i,
            "prompt": prompts[i],
            "path": _save_sample(style, i, png),
            "width": img.width,
            "height": img.height,
        }
        for i, (img, png) in enumerate(references)
    ]

    services.save_check_artifacts(
        style_id=style.pk,
        vectors={k: v for k, v in vectors.items() if len(v)},
        space=space,
        samples=samples,
    )
    progress(len(prompts) + 1, len(prompts) + 1, stage="checking")
    return build_report(style, vectors=vectors, space=space, works=works)


def build_report(style: Style, *, vectors: dict, space: str, works: list[TrainingImage]) -> dict:
    # The engine (NumPy/OpenCV, torch behind its lazy names) loads on first use, not at web start.
    from stylevault.engine import styleqa

    report: dict = {"space": space, "reasons": []}
    if len(vectors[VectorKind.WORK]):
        consistency = styleqa.consistency(vectors[VectorKind.WORK], space=space)
        report["consistency"] = consistency.as_dict()
        if consistency.flagged:
            report["reasons"].append("inconsistent_training_set")
    report["duplicates"] = find_duplicates(style, works)
    if report["duplicates"]:
        report["reasons"].append("duplicate_training_images")
    report["similar"] = similar_published(style, vectors=vectors, space=space)
    if any(item["flagged"] for item in report["similar"]):
        report["reasons"].append("similar_to_published_style")
    report["flagged"] = bool(report["reasons"])
    return report


def _render_references(style: Style, params: dict, progress: Progress, should_stop):
    # torch and the engine load in the worker that runs the job, not where handlers register.
    from stylevault.engine import EngineError, GenerationSpec, IncompatibleLoRA
    from stylevault.styles import runtime

    renderer = runtime.renderer()
    adapter = runtime.adapter_id(style)
    size = params["reference_size"]
    out = []
    prompts = params["reference_prompts"]
    for i, prompt in enumerate(prompts):
        spec = GenerationSpec(
            prompt=prompt,
            seed=1000 + i,
            steps=params["reference_steps"],
            width=size,
            height=size,
            loras=[(adapter, 1.0)],
        )
        try:
            image = renderer.render(spec, should_stop=should_stop).images[0]
        except IncompatibleLoRA as exc:
            raise JobFailed(str(exc), code="MODEL_TRAINING_FAILED") from exc
        except EngineError as exc:
            if should_stop():
                raise JobStopped(str(exc)) from exc
            raise
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        out.append((image, buffer.getvalue()))
        progress(i + 1, len(prompts) + 1, stage="checking")
    return out


def _load(path: str):

    with default_storage.open(path, "rb") as handle:
        return Image.open(io.BytesIO(handle.read())).convert("RGB")


def _save_sample(style: Style, position: int, png: bytes) -> str:
    name = f"samples/{style.pk}/{position:02d}.png"
    if default_storage.exists(name):
        default_storage.delete(name)
    return default_storage.save(name, ContentFile(png))


def _hamming(candidates: np.ndarray, known: np.ndarray) -> np.ndarray:
    """Bit distances between every candidate and every known 64-bit hash (signed int64s)."""
    xor = np.bitwise_xor(candidates.astype(np.int64)[:, None], known.astype(np.int64)[None, :])
    as_bytes = xor.view(np.uint8).reshape(*xor.shape, 8)
    return np.unpackbits(as_bytes, axis=-1).sum(axis=-1)


# Published images a training work must not copy. They belong to generation, which sits above
# styles: it registers its reader here when it loads (generation.apps), so styles imports
# nothing of it. A reader returns (phash, image id, artist id) rows of every artist but one.
PublishedHashes = Callable[[int], list[tuple[int, int, int]]]
_published_hashes: list[PublishedHashes] = []


def register_published_hashes(reader: PublishedHashes) -> None:
    if reader not in _published_hashes:
        _published_hashes.append(reader)


def find_duplicates(style: Style, works: list[TrainingImage]) -> list[dict]:
    """Works within DUPLICATE_MAX_BITS of another artist's work or of a published image."""
    if not works:
        return []
    others = list(
        TrainingImage.objects.exclude(style__artist_id=style.artist_id)
        .exclude(style__status__in=[StyleStatus.FAILED, StyleStatus.REJECTED])
        .values_list("phash", "style_id", "style__artist_id")
    )
    published = [row for reader in _published_hashes for row in reader(style.artist_id)]
    found = []
    for source, rows in (("training_image", others), ("published_image", published)):
        if not rows:
            continue
        distances = _hamming(np.array([w.phash for w in works]), np.array([r[0] for r in rows]))
        for w_index, k_index in zip(*np.nonzero(distances <= DUPLICATE_MAX_BITS), strict=True):
            _hash, other_id, artist_id = rows[k_index]
            found.append(
                {
                    "file": works[w_index].original_name,
                    "sha256": works[w_index].sha256,
                    "source": source,
                    "style_id" if source == "training_image" else "image_id": other_id,
                    "artist_id": artist_id,
                    "bits": int(distances[w_index, k_index]),
                }
            )
    return found


def similar_published(style: Style, *, vectors: dict, space: str, k: int = 10) -> list[dict]:
    """Published styles of other artists near this one, each with its similarity per vector
    kind and whether it crosses the space's threshold."""
    # The engine (NumPy/OpenCV, torch behind its lazy names) loads on first use, not at web start.
    from stylevault.engine import styleqa

    scores = selectors.nearest_published(vectors=vectors, space=space, exclude={style.pk}, k=k)
    artists = dict(Style.objects.filter(pk__in=scores).values_list("pk", "artist_id"))
    result = [
        {
            "style_id": style_id,
            "artist_id": artists.get(style_id),
            "similarity": by_kind,
            "flagged": artists.get(style_id) != style.artist_id
            and styleqa.is_similar(by_kind, space=space),
        }
        for style_id, by_kind in scores.items()
    ]
    result.sort(key=lambda item: -max(item["similarity"].values()))
    return result
