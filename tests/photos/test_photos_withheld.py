"""Unpicked variants are no images of anyone's: not in my images (API and page), not public-able
through the images API, not in the feed, not certified or verified; only the pick becomes one."""

from __future__ import annotations

import io

import pytest
from django.core.files.storage import default_storage
from django.test import Client

from stylevault.ledger.selectors import wallet_of
from stylevault.photos.models import Photo
from tests.conftest import assert_error, run_jobs
from tests.photos.conftest import astronaut, jpeg_with_gps

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _few_steps(settings):
    settings.STYLEVAULT_PHOTO_STEPS = 5
    settings.RATE_GENERATION = "1000/m"


def _variants(client, style) -> tuple[int, list[dict]]:
    created = client.post(
        "/api/v1/photos",
        {"image": io.BytesIO(jpeg_with_gps(astronaut())), "style_id": style.pk},
        format="multipart",
    )
    assert created.status_code == 202, created.content
    assert run_jobs("generation") == ["succeeded"]
    photo = client.get(f"/api/v1/photos/{created.json()['id']}").json()
    return photo["id"], photo["variants"]


def _my_image_ids(client) -> set[int]:
    return {row["id"] for row in client.get("/api/v1/me/images").json()["results"]}


def test_unpicked_variants_are_nobodys_images(published_style, buyer, token_client):
    client = token_client(buyer)
    photo_id, variants = _variants(client, published_style)
    ids = [v["id"] for v in variants]
    assert _my_image_ids(client) == set()
    for image_id in ids:
        for response in (
            client.patch(f"/api/v1/images/{image_id}", {"visibility": "public"}, format="json"),
            client.get(f"/api/v1/images/{image_id}"),
            client.get(f"/api/v1/images/{image_id}/file"),
            client.get(f"/api/v1/provenance/images/{image_id}"),
            client.post(f"/api/v1/images/{image_id}/like"),
        ):
            assert_error(response, 404, "NOT_FOUND")
    # Their own studio still shows them to their owner.
    assert client.get(variants[0]["url"]).status_code == 200
    generation = client.get(f"/api/v1/photos/{photo_id}").json()["generation_id"]
    assert client.get(f"/api/v1/generations/{generation}").json()["images"] == []
    # A variant's file does not verify: it is no image of the platform's yet.
    variant = b"".join(client.get(variants[1]["url"]).streaming_content)
    verified = client.post("/api/v1/verify", {"image": io.BytesIO(variant)}, format="multipart")
    assert verified.status_code == 200 and verified.json() == {"match": False}

    picked = client.post(f"/api/v1/photos/{photo_id}/pick", {"variant_id": ids[2]}, format="json")
    assert picked.status_code == 200
    assert _my_image_ids(client) == {ids[2]}
    public = client.patch(f"/api/v1/images/{ids[2]}", {"visibility": "public"}, format="json")
    assert public.status_code == 200 and public.json()["visibility"] == "public"
    feed = {row["id"] for row in client.get("/api/v1/feed").json()["results"]}
    assert feed == {ids[2]}
    # The pick is final: another variant cannot replace (and so purge) a published image.
    again = client.post(f"/api/v1/photos/{photo_id}/pick", {"variant_id": ids[0]}, format="json")
    assert_error(again, 409, "CONFLICT")
    same = client.post(f"/api/v1/photos/{photo_id}/pick", {"variant_id": ids[2]}, format="json")
    assert same.status_code == 200 and _my_image_ids(client) == {ids[2]}


def test_a_double_clicked_upload_is_one_hold(published_style, buyer, token_client):
    client = token_client(buyer)
    data = jpeg_with_gps(astronaut())
    sent = [
        client.post(
            "/api/v1/photos",
            {"image": io.BytesIO(data), "style_id": published_style.pk},
            format="multipart",
        )
        for _ in range(2)
    ]
    assert [r.status_code for r in sent] == [202, 202]
    assert sent[0].json()["id"] == sent[1].json()["id"]
    cost = sent[0].json()["cost"]
    assert wallet_of(buyer) == {"balance": 100 - cost, "held": cost}
    photo = Photo.objects.get()
    assert default_storage.listdir(f"private/photos/{buyer.pk}")[1] == [photo.path.split("/")[-1]]


def test_my_images_page_lists_only_the_pick(published_style, buyer, token_client):
    photo_id, variants = _variants(token_client(buyer), published_style)
    page = Client()
    page.force_login(buyer)
    ids = [v["id"] for v in variants]
    listed = page.get("/en/me/images/").content.decode()
    assert not any(f"/api/v1/images/{i}/file" in listed for i in ids)
    for image_id in ids:
        edit = page.post(f"/en/me/images/{image_id}/", {"visibility": "public"})
        assert edit.status_code == 404
        assert page.get(f"/en/images/{image_id}/").status_code == 404
        assert page.get(f"/en/images/{image_id}/certificate/").status_code == 404
    picked = page.post(f"/en/photos/{photo_id}/pick/", {"variant_id": ids[1]})
    assert picked.status_code == 302
    listed = page.get("/en/me/images/").content.decode()
    assert f"/api/v1/images/{ids[1]}/file" in listed
    assert not any(f"/api/v1/images/{i}/file" in listed for i in ids if i != ids[1])
    refused = page.post(f"/en/photos/{photo_id}/pick/", {"variant_id": ids[0]}, follow=True)
    assert refused.status_code == 200 and "already picked" in refused.content.decode()


@pytest.mark.parametrize(
    "body",
    [
        {"style_id": "abc"},
        {"style_id": 10**30},
        {"style_id": 1, "strength": "strong"},
        {"style_id": 1, "strength": 5},
        {},
    ],
)
def test_wrong_upload_fields_are_validation_errors(buyer, token_client, body):
    client = token_client(buyer)
    sent = client.post(
        "/api/v1/photos",
        {"image": io.BytesIO(jpeg_with_gps(astronaut())), **body},
        format="multipart",
    )
    assert_error(sent, 400, "VALIDATION_ERROR")
    assert not Photo.objects.exists() and wallet_of(buyer)["held"] == 0


@pytest.mark.parametrize("variant_id", ["x", None, 10**30, [1], 0])
def test_wrong_pick_ids_are_validation_errors(buyer, token_client, variant_id):
    sent = token_client(buyer).post(
        "/api/v1/photos/1/pick", {"variant_id": variant_id}, format="json"
    )
    assert_error(sent, 400, "VALIDATION_ERROR")
