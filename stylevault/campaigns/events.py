"""Typed builders for the provenance events the campaign studio records."""

from __future__ import annotations

AD_COMPOSED = "campaign_ad_composed"


def ad_composed(
    *,
    draft_id: int,
    generation_id: int,
    source_image_id: int,
    source_sha256: str,
    output_sha256: str,
    png_sha256: str,
    layout: str,
    aspect_ratio: str,
    writer: str,
) -> dict:
    """The payload: which licensed image the ad was made from and which files came out."""
    return {
        "draft_id": draft_id,
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
