"""The provenance events generation records: one typed builder per kind."""

from __future__ import annotations

from collections.abc import Sequence

from stylevault.generation.models import Generation, GenerationStyle, Image
from stylevault.provenance.models import EventKind
from stylevault.provenance.services import NewEvent


def license_bought(
    *, generation: Generation, blend: Sequence[GenerationStyle], images: int, credits: int
) -> NewEvent:
    """The buyer paid `credits` for `images` images of the blend."""
    return NewEvent(
        kind=EventKind.LICENSE_BOUGHT,
        subject=generation,
        actor=generation.owner_id,
        payload={
            "generation_id": generation.pk,
            "images": images,
            "credits": credits,
            "styles": [
                {"style_id": b.style_id, "weight": b.weight, "price_per_image": b.price_per_image}
                for b in blend
            ],
        },
    )


def image_generated(
    *, image: Image, generation: Generation, blend: Sequence[GenerationStyle]
) -> NewEvent:
    """One delivered image: its bytes' hash, the request that made it and the models used."""
    return NewEvent(
        kind=EventKind.IMAGE_GENERATED,
        subject=image,
        actor=generation.owner_id,
        payload={
            "image_id": image.pk,
            "generation_id": generation.pk,
            "output_sha256": image.sha256,
            "request": {
                "prompt": image.prompt,
                "negative_prompt": generation.negative_prompt,
                "seed": image.seed,
                "steps": generation.steps,
                "width": image.width,
                "height": image.height,
            },
            "styles": [
                {
                    "style_id": b.style_id,
                    "weight": b.weight,
                    "model_sha256": b.style.lora_sha256,
                }
                for b in blend
            ],
        },
    )
