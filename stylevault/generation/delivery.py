"""Finishing rendered pixels into delivered images: the provenance post-processing of every
image (engine.postprocess), its storage, and the description the success hook records."""

from __future__ import annotations

import base64

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from PIL import Image

from stylevault.accounts.models import ApplicationStatus, ArtistApplication
from stylevault.core.imaging import perceptual_hash
from stylevault.generation.models import Generation
from stylevault.generation.services import image_mark
from stylevault.provenance import manifests

EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg"}


def artist_signature(artist_id: int):

    application = (
        ArtistApplication.objects.filter(user_id=artist_id, status=ApplicationStatus.APPROVED)
        .order_by("-decided_at")
        .first()
    )
    if application is None or not application.signature:
        return None
    with application.signature.open("rb") as handle:
        return Image.open(handle).convert("RGBA")


def finish_all(
    generation: Generation, blend, raw_images, seeds: list[int] | None = None
) -> list[dict]:
    """Signs, marks and stores each image; returns what the success hook records per image.
    `seeds` names each image's seed where it is not `seed + position % count`."""
    # The engine (NumPy/OpenCV, torch behind its lazy names) loads on first use, not at web start.
    from stylevault.engine.postprocess import ImageMetadata, finish_image

    primary = blend[0]
    signature = artist_signature(primary.artist_id)
    signer = manifests.signer()
    style_names = " + ".join(f"{b.style.name} ({b.weight:g})" for b in blend)
    out = []
    for position, pixels in enumerate(raw_images):
        prompt = generation.prompts[position // generation.count]
        seed = seeds[position] if seeds else generation.seed + position % generation.count
        mark = image_mark(generation.pk, position)
        finished = finish_image(
            pixels,
            payload=mark,
            signature=signature,
            metadata=ImageMetadata(
                artist=primary.artist.username,
                style=style_names,
                license=manifests.license_text(generation.owner.username),
                certificate_url=manifests.certificate_url(mark),
                image_id=f"{generation.pk}-{position}",
            ),
            signer=signer,
        )
        extension = EXTENSIONS.get(finished.mime_type, "bin")
        name = f"images/{generation.owner_id}/{generation.pk}/{position:03d}-{finished.sha256[:16]}.{extension}"
        if not default_storage.exists(name):
            default_storage.save(name, ContentFile(finished.data))
        out.append(
            {
                "position": position,
                "prompt": prompt,
                "seed": seed,
                "width": finished.width,
                "height": finished.height,
                "path": name,
                "mime_type": finished.mime_type,
                "sha256": finished.sha256,
                "mark": mark,
                "phash": perceptual_hash(pixels),
                "fingerprints": base64.b64encode(finished.fingerprints.tobytes()).decode(),
            }
        )
    return out
