"""The compose job: lay the copy and logo over the delivered picture, sign the ad (watermark,
fingerprint, XMP, C2PA with the picture as its ingredient) and store JPEG and PNG files."""

from __future__ import annotations

import io

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from stylevault.campaigns import selectors, services
from stylevault.campaigns.models import Draft
from stylevault.jobs.registry import JobFailed, handler


def _hex(colour: str) -> tuple[int, int, int]:
    return tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5))


def _open(path: str) -> bytes:
    with default_storage.open(path, "rb") as handle:
        return handle.read()


def _save(name: str, data: bytes) -> None:
    if not default_storage.exists(name):
        default_storage.save(name, ContentFile(data))


def compose(ctx) -> dict:
    from PIL import Image

    from stylevault.campaigns import layout
    from stylevault.engine.c2pa import LicenseClaim
    from stylevault.engine.postprocess import ImageMetadata, finish_image
    from stylevault.engine.signature import signature_box
    from stylevault.generation.delivery import artist_signature
    from stylevault.provenance import manifests

    draft = (
        Draft.objects.select_related("brand", "generation", "owner")
        .filter(pk=ctx.job.payload["draft_id"])
        .first()
    )
    source = selectors.source_image(draft) if draft is not None else None
    if source is None:
        raise JobFailed("the draft or its picture no longer exists", code="IMAGE_GENERATION_FAILED")
    source_bytes = _open(source.path)
    picture = Image.open(io.BytesIO(source_bytes)).convert("RGB")
    signature = artist_signature(source.artist_id)
    brand = draft.brand
    logo = None
    if brand is not None and brand.logo_path:
        logo = Image.open(io.BytesIO(_open(brand.logo_path))).convert("RGBA")
    composition = layout.compose(
        picture,
        layout.AdCopy(draft.headline, draft.body, draft.cta, tuple(draft.hashtags)),
        ratio=draft.aspect_ratio,
        layout=ctx.job.payload.get("layout", draft.layout),
        primary=_hex(brand.primary_color) if brand is not None else (31, 111, 235),
        logo=logo,
        signature=signature_box(picture.size, signature.size) if signature is not None else None,
    )
    mark = services.ad_mark(draft.pk)
    claim = LicenseClaim(
        artist=source.artist.username,
        style=source.style.name,
        license=manifests.license_text(draft.owner.username),
        certificate_url=manifests.certificate_url(source.mark),
        image_id=f"ad-{draft.pk}",
    )
    finished = finish_image(
        composition.image,
        payload=mark,
        signature=None,
        metadata=ImageMetadata(
            artist=claim.artist,
            style=claim.style,
            license=claim.license,
            certificate_url=claim.certificate_url,
            image_id=claim.image_id,
            extra={"sourceImage": source.pk},
        ),
    )
    signer = manifests.signer()
    ingredient = (source_bytes, source.mime_type, f"image-{source.pk}")
    edits = ("text overlay", "logo overlay") if composition.logo_box else ("text overlay",)
    jpeg = signer.sign(
        finished.data,
        mime_type="image/jpeg",
        title=f"{claim.image_id}.jpg",
        claim=claim,
        ingredient=ingredient,
        edits=edits,
    )
    buffer = io.BytesIO()
    Image.open(io.BytesIO(finished.data)).save(buffer, format="PNG", compress_level=3)
    png = signer.sign(
        buffer.getvalue(),
        mime_type="image/png",
        title=f"{claim.image_id}.png",
        claim=claim,
        ingredient=ingredient,
        edits=edits,
    )
    sha, png_sha = services.file_digest(jpeg), services.file_digest(png)
    path, png_path = (
        services.stored_name(draft, sha, "jpg"),
        services.stored_name(draft, png_sha, "png"),
    )
    _save(path, jpeg)
    _save(png_path, png)
    return {
        "path": path,
        "png_path": png_path,
        "sha256": sha,
        "png_sha256": png_sha,
        "width": finished.width,
        "height": finished.height,
        "source_image_id": source.pk,
        "source_sha256": source.sha256,
        "layout": ctx.job.payload.get("layout", draft.layout),
        "notes": composition.notes,
    }


def _composed(job, result: dict) -> None:
    services.record_ad(draft_id=job.payload["draft_id"], result=result)


def _failed(job) -> None:
    services.compose_failed(
        draft_id=job.payload["draft_id"], code=job.error_code, message=job.error or ""
    )


handler(
    services.COMPOSE_JOB,
    queue="campaigns",
    lease_seconds=60,
    max_attempts=2,
    on_success=_composed,
    on_failure=_failed,
)(compose)
