"""An artist's style from upload to publication, with real training on the tiny model."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from stylevault.engine.demo_art import procedural_artist
from stylevault.styles.models import Style, StyleStatus
from tests.conftest import png_upload, run_jobs

pytestmark = pytest.mark.django_db(transaction=True)


def works(style_seed: int, count: int = 10, *, fmt: str = "PNG", size: int = 512) -> list:
    paint = procedural_artist(style_seed, size=size)
    extension = "png" if fmt == "PNG" else "jpg"
    return [png_upload(paint(i), f"work-{i}.{extension}", fmt=fmt) for i in range(count)]


def create(client, files, **fields):
    data = {
        "name": "Ink hills",
        "description": "Quiet landscapes",
        "tags": "ink, Landscape",
        "price_per_image": 5,
        **fields,
        "images": files,
    }
    return client.post("/api/v1/styles", data, format="multipart")


@pytest.fixture
def artist_client(make_artist, token_client):
    def make(name: str = "painter"):
        artist = make_artist(name)
        return artist, token_client(artist)

    return make


def publish(client, files) -> Style:
    response = create(client, files)
    assert response.status_code == 201, response.content
    assert response.json()["status"] == "queued"
    run_jobs("training")
    return Style.objects.get(pk=response.json()["id"])


def test_upload_trains_checks_and_publishes(fast_engine, artist_client, api_client):
    _artist, client = artist_client()
    style = publish(client, works(1))
    assert style.status == StyleStatus.PUBLISHED, style.qa
    assert style.lora_sha256 and style.qa["flagged"] is False
    assert style.qa["consistency"]["flagged"] is False
    assert sorted(t.name for t in style.tags.all()) == ["ink", "landscape"]

    mine = client.get(f"/api/v1/styles/{style.pk}").json()
    assert mine["status"] == "published" and "qa" in mine
    public = api_client.get(f"/api/v1/styles/{style.pk}").json()
    assert public["name"] == "Ink hills" and "qa" not in public and "status" not in public
    sample = api_client.get(public["samples"][0]["url"])
    assert sample.status_code == 200
    assert Image.open(io.BytesIO(b"".join(sample.streaming_content))).size == (64, 64)
    listed = api_client.get("/api/v1/styles?tags=ink,landscape").json()["results"]
    assert [s["id"] for s in listed] == [style.pk]


def test_same_works_flagged_as_similar_and_duplicate(fast_engine, artist_client):
    original_artist, first = artist_client("first")
    original = publish(first, works(1))
    assert original.status == StyleStatus.PUBLISHED

    _copier, second = artist_client("copier")
    # The same pictures, re-encoded as JPEG at another size: still the same works.
    copy = publish(second, works(1, fmt="JPEG", size=600))
    assert copy.status == StyleStatus.IN_REVIEW
    assert {"duplicate_training_images", "similar_to_published_style"} <= set(copy.qa["reasons"])
    assert {d["style_id"] for d in copy.qa["duplicates"]} == {original.pk}
    assert any(s["style_id"] == original.pk and s["flagged"] for s in copy.qa["similar"])
    # Both artists are told.
    assert original_artist.notifications.filter(kind="style_similarity_flagged").count() == 1


def test_clearly_different_works_are_not_flagged(fast_engine, artist_client):
    _a, first = artist_client("first")
    publish(first, works(1))
    _b, second = artist_client("second")
    other = publish(second, works(7))
    assert other.status == StyleStatus.PUBLISHED, other.qa
    assert other.qa["duplicates"] == []
    assert not any(s["flagged"] for s in other.qa["similar"])


def test_operator_reviews_a_flagged_style(fast_engine, artist_client, make_user, token_client):
    _a, first = artist_client("first")
    publish(first, works(1))
    _b, second = artist_client("second")
    copy = publish(second, works(1))
    operator = make_user("boss", operator=True)
    staff = token_client(operator)
    refused = staff.post(f"/api/v1/styles/{copy.pk}/review", {"approve": False}, format="json")
    assert refused.status_code == 400  # a rejection needs a reason the artist can read
    assert (
        second.post(
            f"/api/v1/styles/{copy.pk}/review", {"approve": True}, format="json"
        ).status_code
        == 403
    )
    approved = staff.post(f"/api/v1/styles/{copy.pk}/review", {"approve": True}, format="json")
    assert approved.status_code == 200 and approved.json()["status"] == "published"
