"""The provenance events styles records: one typed builder per kind."""

from __future__ import annotations

from collections.abc import Sequence

from stylevault.provenance.models import EventKind
from stylevault.provenance.services import NewEvent
from stylevault.styles.models import Style


def training_data_uploaded(*, style: Style, artist, files: Sequence[tuple[str, str]]) -> NewEvent:
    """The artist declared these training works, as (file name, SHA-256) pairs."""
    return NewEvent(
        kind=EventKind.TRAINING_DATA_UPLOADED,
        subject=style,
        actor=artist,
        payload={
            "style_id": style.pk,
            "files": [{"name": name, "sha256": sha256} for name, sha256 in files],
        },
    )


def lora_imported(*, style: Style, model_sha256: str) -> NewEvent:
    """The artist brought a LoRA trained elsewhere."""
    return NewEvent(
        kind=EventKind.LORA_IMPORTED,
        subject=style,
        actor=style.artist,
        payload={"style_id": style.pk, "model_sha256": model_sha256},
    )


def lora_trained(*, style: Style, report: dict) -> NewEvent:
    """The style's model is ready and checked (`report` is the check job's)."""
    return NewEvent(
        kind=EventKind.LORA_TRAINED,
        subject=style,
        actor=style.artist,
        payload={
            "style_id": style.pk,
            "model_sha256": style.lora_sha256,
            "source": style.source,
            "qa": {k: report[k] for k in ("flagged", "reasons") if k in report},
        },
    )


def style_published(*, style: Style) -> NewEvent:
    """Buyers may now generate with the style, at this price."""
    return NewEvent(
        kind=EventKind.STYLE_PUBLISHED,
        subject=style,
        actor=style.reviewed_by or style.artist,
        payload={
            "style_id": style.pk,
            "model_sha256": style.lora_sha256,
            "price_per_image": style.price_per_image,
        },
    )
