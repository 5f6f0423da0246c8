"""Verification of an uploaded image: did the platform make it, and under which licence?

C2PA first (a trusted manifest names the image), then the invisible watermark (it carries the
image's mark), then the fingerprint index. A match answers with the certificate: the event
chain back to the training data and the Merkle inclusion proof.
"""

from __future__ import annotations

from stylevault.core.imaging import check_image, heavy_work
from stylevault.generation import selectors as generation_selectors
from stylevault.generation.models import Image
from stylevault.provenance import fingerprints, manifests
from stylevault.verification import certificates

MAX_VERIFY_BYTES = 20 * 1024 * 1024
# The side the uploaded picture is analysed at: above every size the platform renders (1344)
# and the watermark's detection scale, so marks and fingerprints are read as before, while a
# picture at the pixel cap costs a few MB instead of hundreds.
ANALYSIS_SIDE = 2048
MIME_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}


def _image_for(found) -> Image | None:
    # A withheld working copy (a photo's unpicked variant) is no image of the platform's yet.
    images = generation_selectors.images().select_related("style", "artist", "owner")
    if found.method == "c2pa":
        generation_id, _dash, position = (found.manifest_image_id or "").partition("-")
        if not (generation_id.isdigit() and position.isdigit()):
            return None
        return images.filter(generation_id=int(generation_id), position=int(position)).first()
    if found.method == "watermark":
        return images.filter(mark=found.mark).first()
    return images.filter(pk=found.image_id).first()


def verify_image(upload) -> dict:
    """{"match": False} or the certificate of the image with "match": True and the method."""
    # engine.postprocess loads OpenCV and SciPy (watermark, fingerprints): a web process pays
    # for them on its first check, not at start.
    from stylevault.engine.postprocess import identify

    with heavy_work():
        checked = check_image(
            upload,
            max_bytes=MAX_VERIFY_BYTES,
            formats=tuple(MIME_TYPES),
            min_side=16,
            analysis_side=ANALYSIS_SIDE,
        )
        found = identify(
            checked.data,
            MIME_TYPES[checked.format],
            index=fingerprints.index(),
            trust_anchors_pem=manifests.trust_anchors_pem(),
            picture=checked.picture,
        )
    image = _image_for(found) if found is not None else None
    if image is None:
        return {"match": False}
    certificate = certificates.certificate(image)
    return {"match": True, "method": found.method, **certificate}
