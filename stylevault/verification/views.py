"""Verification pages: an image's printable licence certificate (for whoever may see the image,
or by its watermark mark for anyone holding the file) and the public verification page. Thin:
the certificate is certificates.certificate(), the check is services.verify_image()."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_http_methods

from stylevault.core import errors
from stylevault.core.pages import apply_service_error
from stylevault.generation import selectors as generation_selectors
from stylevault.generation.models import Image
from stylevault.provenance.models import EventKind
from stylevault.verification.certificates import certificate
from stylevault.verification.forms import VerifyForm
from stylevault.verification.services import verify_image

MARK = re.compile(r"[0-9a-f]{12}")  # manifests.certificate_path: 48 bits, 12 hex digits
# The payload fields a reader checks, in the order shown; the training files get a table.
KEY_FIELDS = (
    ("model_sha256", _("Model hash (SHA-256)")),
    ("output_sha256", _("Output hash (SHA-256)")),
    ("style_id", _("Style")),
    ("generation_id", _("Generation")),
    ("image_id", _("Image")),
    ("credits", _("Credits")),
    ("price_per_image", _("Price per image (credits)")),
)
METHODS = {
    "c2pa": _("its Content Credentials (C2PA manifest)"),
    "watermark": _("its invisible watermark"),
    "fingerprint": _("its perceptual fingerprint"),
}


def _when(value: datetime | str | None) -> datetime | None:
    return parse_datetime(value) if isinstance(value, str) else value


def _event_row(event: dict) -> dict:
    kind, payload = event["kind"], event.get("payload") or {}
    return {
        **event,
        "label": EventKind(kind).label if kind in EventKind.values else kind.replace("_", " "),
        "created_at": _when(event.get("created_at")),
        "files": payload.get("files") or [],
        "fields": [(label, payload[key]) for key, label in KEY_FIELDS if key in payload],
    }


def _proof(proof: dict | None) -> dict | None:
    head = (proof or {}).get("head")
    if head:
        signed_at = datetime.fromtimestamp(head["timestamp"] / 1000, tz=UTC)
        proof = {**proof, "head": {**head, "signed_at": signed_at}}
    return proof


def certificate_context(request: HttpRequest, cert: dict) -> dict:
    """A certificate (or a verification match) as the page shows it; the image itself only to
    those who may see it."""
    visible = generation_selectors.image_for(request.user, cert["image_id"]) is not None
    return {
        "cert": {**cert, "created_at": _when(cert.get("created_at"))},
        "events": [_event_row(e) for e in cert.get("events") or []],
        "proof": _proof(cert.get("proof")),
        "show_image": visible,
    }


def _certificate_page(request: HttpRequest, image: Image) -> HttpResponse:
    context = certificate_context(request, certificate(image))
    return render(request, "verification/certificate.html", context)


@require_GET
def image_certificate(request: HttpRequest, image_id: int) -> HttpResponse:
    image = generation_selectors.image_for(request.user, image_id)
    if image is None:
        raise Http404
    return _certificate_page(request, image)


@require_GET
def mark_certificate(request: HttpRequest, mark_hex: str) -> HttpResponse:
    """Whoever holds the file may verify it: its mark leads to its certificate."""
    if not MARK.fullmatch(mark_hex.lower()):
        raise Http404
    image = (
        generation_selectors.images()
        .select_related("style", "artist", "owner")
        .filter(mark=int(mark_hex, 16))
        .first()
    )
    if image is None:
        raise Http404
    return _certificate_page(request, image)


@require_http_methods(["GET", "POST"])
def verify(request: HttpRequest) -> HttpResponse:
    form = VerifyForm(request.POST or None, request.FILES or None)
    context: dict = {"form": form, "result": None}
    if request.method == "POST" and form.is_valid():
        try:
            result = verify_image(form.cleaned_data["image"])
        except errors.DomainError as exc:
            apply_service_error(form, exc)
        else:
            context["result"] = result
            if result.get("match"):
                context.update(certificate_context(request, result))
                context["method"] = METHODS.get(result.get("method"), result.get("method"))
    status = 400 if form.errors else 200
    return render(request, "verification/verify.html", context, status=status)
