"""Typed builders for the provenance events the campaign studio records."""

from __future__ import annotations

from stylevault.campaigns.models import Draft
from stylevault.provenance.models import EventKind
from stylevault.provenance.services import NewEvent


def ad_composed(
    *,
    draft: Draft,
    generation_id: int,
    source_image_id: int,
    source_sha256: str,
    output_sha256: str,
    png_sha256: str,
    layout: str,
    aspect_ratio: str,
    writer: str,
) -> NewEvent:
    """Which licensed image the ad was made from and which files came out."""
    payload = {
        "draft_id": draft.pk,
        "generation_id": generation_id,
        "source_image_id": source_image_id,
        "source_sha256": source_sha256,
        "output_sha256": output_sha256,
        "png_sha256": png_sha256,
        "edits": ["text overlay", "logo overlay"],
        "layout": layout,
        "aspect_ratio": aspect_ratio,
        "writer": writer,
    }
    return NewEvent(
        kind=EventKind.CAMPAIGN_AD_COMPOSED, subject=draft, actor=draft.owner_id, payload=payload
    )
