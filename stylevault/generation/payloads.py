"""The API's generation and image bodies (API.md §Generation), built as dicts on the hot path
and shared by the pages (the progress panel shows the API's own payload). tests/generation/
test_payload_schema.py holds them to the `*Out` serializers the schema documents
(docs/decisions/020-hot-path-payloads.md)."""

from __future__ import annotations

from django.utils.translation import gettext as _

from stylevault.generation.models import GenerationStatus
from stylevault.provenance.manifests import certificate_path

ERROR_MESSAGES = {
    "CANCELLED": lambda: _("You cancelled this generation; your credits were returned."),
    "EXPIRED": lambda: _("No worker was free in time; your credits were returned."),
}


def error_message(code: str) -> str:
    known = ERROR_MESSAGES.get(code)
    return known() if known else _("The image could not be made; your credits were returned.")


def image_summary(image) -> dict:
    return {
        "id": image.pk,
        "url": f"/api/v1/images/{image.pk}/file",
        "width": image.width,
        "height": image.height,
    }


def image_payload(image) -> dict:
    return {
        **image_summary(image),
        "generation_id": image.generation_id,
        "prompt": image.prompt,
        "seed": image.seed,
        "style": {"id": image.style_id, "name": image.style.name},
        "artist": {"id": image.artist_id, "username": image.artist.username},
        "visibility": image.visibility,
        "description": image.description,
        "like_count": image.like_count,
        "comment_count": image.comment_count,
        "certificate_url": certificate_path(image.mark),
        "created_at": image.created_at,
    }


def generation_payload(generation) -> dict:
    progress = (generation.job.progress if generation.job_id and generation.job else None) or {}
    total = generation.steps * len(generation.prompts)
    done = generation.status == GenerationStatus.SUCCEEDED
    data = {
        "id": generation.pk,
        "status": generation.status,
        "progress": {
            "step": total if done else int(progress.get("step", 0)),
            "total": int(progress.get("total", total)),
        },
        "cost": generation.cost,
        "styles": [{"id": b.style_id, "weight": b.weight} for b in generation.blend.all()],
        "prompts": generation.prompts,
        "aspect_ratio": generation.aspect_ratio,
        "seed": generation.seed,
        "count": generation.count,
        "steps": generation.steps,
        "images": [image_summary(i) for i in generation.images.all() if not i.withheld],
        "created_at": generation.created_at,
    }
    if generation.error_code:
        data["error"] = {
            "code": generation.error_code,
            "message": error_message(generation.error_code),
        }
    return data
