"""The studio pages (/en|ko/photos/) and the upload page's live check."""

from __future__ import annotations

import io

import pytest
from django.test import Client

from stylevault.ledger.selectors import wallet_of
from stylevault.photos.models import Photo
from tests.conftest import assert_error
from tests.photos.conftest import astronaut, jpeg_with_gps, two_faces

pytestmark = pytest.mark.django_db(transaction=True)


def _file(image, name: str = "me.jpg"):
    data = io.BytesIO(jpeg_with_gps(image))
    data.name = name
    return data


def test_live_check_answers_without_storing_or_holding(published_style, buyer, token_client):
    client = token_client(buyer)
    ok = client.post("/api/v1/photos/check", {"image": _file(astronaut())}, format="multipart")
    assert ok.status_code == 200
    assert len(ok.json()["faces"]) == 1 and ok.json()["width"] == 512
    refused = client.post("/api/v1/photos/check", {"image": _file(two_faces())}, format="multipart")
    assert len(assert_error(refused, 422, "MULTIPLE_FACES")["details"]["faces"]) == 2
    assert not Photo.objects.exists() and wallet_of(buyer) == {"balance": 100, "held": 0}


def test_studio_upload_refusal_pick_page_and_privacy(published_style, buyer, make_user):
    client = Client()
    client.force_login(buyer)
    page = client.get("/ko/photos/")
    assert page.status_code == 200 and "포토 스튜디오" in page.content.decode()
    refused = client.post("/en/photos/", {"image": _file(two_faces()), "style": published_style.pk})
    assert refused.status_code == 422
    assert refused.content.decode().count('data-test="face-box"') == 2
    assert wallet_of(buyer)["held"] == 0
    done = client.post("/en/photos/", {"image": _file(astronaut()), "style": published_style.pk})
    assert done.status_code == 302
    photo = Photo.objects.get()
    assert done["Location"] == f"/en/photos/{photo.pk}/"
    detail = client.get(done["Location"])
    assert detail.status_code == 200 and 'data-events="/api/v1/photos/' in detail.content.decode()
    stranger = Client()
    stranger.force_login(make_user("mallory"))
    assert stranger.get(f"/en/photos/{photo.pk}/").status_code == 404
    assert stranger.post(f"/en/photos/{photo.pk}/delete/").status_code == 404
    assert client.post(f"/en/photos/{photo.pk}/delete/").status_code == 302
    assert not Photo.objects.exists()
    assert wallet_of(buyer) == {"balance": 100, "held": 0}  # the queued variants cancelled
