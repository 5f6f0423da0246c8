"""The output safety hook: a flagged variant is redrawn once, then not delivered and refunded."""

from __future__ import annotations

import io

import pytest

from stylevault.ledger.selectors import check_books, wallet_of
from tests.conftest import run_jobs
from tests.photos.conftest import astronaut, jpeg_with_gps

pytestmark = pytest.mark.django_db(transaction=True)
SCORES: list[float] = []


def classifier(image) -> float:
    """Scores in the order asked: here variant 0 and its redraw, then variant 1 (not its redraw)."""
    return SCORES.pop(0) if SCORES else 0.0


def test_flagged_variants_are_redrawn_then_refunded(published_style, buyer, token_client, settings):
    settings.STYLEVAULT_PHOTO_STEPS = 5
    settings.STYLEVAULT_SAFETY_CLASSIFIER = f"{__name__}:classifier"
    SCORES[:] = [0.9, 0.8, 0.95, 0.1]
    client = token_client(buyer)
    created = client.post(
        "/api/v1/photos",
        {"image": io.BytesIO(jpeg_with_gps(astronaut())), "style_id": published_style.pk},
        format="multipart",
    ).json()
    assert run_jobs("generation") == ["succeeded"]
    done = client.get(f"/api/v1/photos/{created['id']}").json()
    assert len(done["variants"]) == 3
    price = published_style.price_per_image
    assert wallet_of(buyer) == {"balance": 100 - 3 * price, "held": 0}
    assert check_books().clean
