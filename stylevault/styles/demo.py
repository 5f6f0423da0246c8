"""The demo: an artist, a buyer and an operator, and three styles of clearly different looks
trained from the project's own procedural artworks. Idempotent: running it again changes nothing
that exists."""

from __future__ import annotations

import io
import os

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from PIL import Image, ImageDraw

from stylevault.accounts import services as accounts
from stylevault.accounts.models import ApplicationStatus, User
from stylevault.ledger import services as ledger
from stylevault.styles import services as styles
from stylevault.styles.models import Style, StyleStatus

ARTIST, BUYER, OPERATOR = "demo-artist", "demo-buyer", "demo-operator"
STYLE_NAME = "Ink Hills"
BUYER_CREDITS = 1000


def demo_password() -> str:
    return os.environ.get("STYLEVAULT_DEMO_PASSWORD", "stylevault-demo")


def _upload(image, name: str) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


def _user(username: str, **roles) -> User:
    found = User.objects.filter(username=username).first()
    return found or accounts.create_user(username=username, password=demo_password(), **roles)


def _signature():

    picture = Image.new("RGB", (360, 120), "white")
    draw = ImageDraw.Draw(picture)
    draw.line([(20, 80), (90, 30), (140, 90), (210, 35), (300, 85)], fill=(46, 52, 82), width=6)
    draw.text((40, 95), "Demo Artist", fill=(46, 52, 82))
    return picture


@transaction.atomic
def ensure_people() -> tuple[User, User, User]:
    operator = _user(OPERATOR, operator=True)
    artist = _user(ARTIST)
    if not artist.is_artist:
        pending = artist.artist_applications.filter(status=ApplicationStatus.PENDING).first()
        application = pending or accounts.apply_for_artist(
            user=artist,
            contact_email="demo-artist@example.com",
            signature=_upload(_signature(), "signature.png"),
        )
        accounts.decide_application(operator=operator, application_id=application.pk, approve=True)
        artist.refresh_from_db()
    buyer = _user(BUYER)
    ledger.grant_credits(
        user=buyer,
        amount=BUYER_CREDITS,
        reason="demo credits",
        idempotency_key="demo:buyer-credits",
    )
    return artist, buyer, operator


# The demo styles by engine/demo_art.DEMO_STYLES key: three clearly different looks to blend.
DEMO_STYLES = {
    "ink": {
        "name": STYLE_NAME,
        "description": "Layered hills in sage and teal under an ochre sun, indigo ink on cream paper.",
        "tags": "landscape, ink, watercolour, demo",
    },
    "pixel": {
        "name": "Pixel Harbour",
        "description": "Chunky flat pixels in orange, pink, purple and yellow on a midnight blue.",
        "tags": "pixel, flat, retro, demo",
    },
    "crayon": {
        "name": "Crayon Garden",
        "description": "Waxy slanted crayon strokes in red, orange and pink on kraft paper.",
        "tags": "crayon, children's drawing, demo",
    },
}


def ensure_style(artist: User, key: str = "ink") -> Style:
    """Demo style `key`, created (and its training queued) unless a live one exists."""
    # The engine (NumPy/OpenCV, torch behind its lazy names) loads on first use, not at web start.
    from stylevault.engine.demo_art import DEMO_STYLES as LOOKS

    about = DEMO_STYLES[key]
    existing = (
        Style.objects.filter(artist=artist, name=about["name"])
        .exclude(status__in=[StyleStatus.FAILED, StyleStatus.REJECTED])
        .first()
    )
    if existing is not None:
        return existing
    look = next(look for look in LOOKS if look.key == key)
    works = look.paint(12, 512, 0)
    return styles.create_style(
        artist=artist,
        name=about["name"],
        description=about["description"],
        tags=about["tags"],
        price_per_image=2,
        images=[_upload(image, f"{key}-{i:02d}.png") for i, (image, _caption) in enumerate(works)],
        captions=[f"{look.trigger}, {caption}" for _image, caption in works],
    )


def ensure_styles(artist: User) -> list[Style]:
    """Every demo style, in DEMO_STYLES order."""
    return [ensure_style(artist, key) for key in DEMO_STYLES]


def is_empty() -> bool:
    return not User.objects.exists()
