"""The photo studio end to end: a real portrait in, four paid variants out, pick, delete,
purge, and privacy (no EXIF GPS anywhere, nothing visible to anyone else)."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.utils import timezone
from PIL import Image

from stylevault.generation.models import Image as GeneratedImage
from stylevault.ledger.models import Hold, Transfer
from stylevault.ledger.selectors import check_books, wallet_of
from stylevault.photos.models import Photo
from stylevault.photos.services import read_original
from stylevault.provenance.models import Event
from stylevault.provenance.selectors import verify_log
from tests.conftest import assert_error, run_jobs
from tests.photos.conftest import astronaut, jpeg_with_gps, no_face, small_face, two_faces

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _few_steps(settings):
    settings.STYLEVAULT_PHOTO_STEPS = 5
    settings.RATE_GENERATION = "1000/m"


def _post(client, style, data: bytes, name: str = "me.jpg"):
    return client.post(
        "/api/v1/photos",
        {"image": io.BytesIO(data), "style_id": style.pk},
        format="multipart",
    )


def _file(client, url: str) -> bytes:
    response = client.get(url)
    assert response.status_code == 200, url
    return b"".join(response.streaming_content)


def _jpeg(image: Image.Image) -> bytes:
    return jpeg_with_gps(image)


def test_portrait_becomes_four_variants_and_a_final(published_style, buyer, token_client):
    client = token_client(buyer)
    # Stored sideways with an EXIF orientation of 6, as a phone held upright writes it.
    sideways = astronaut().rotate(90, expand=True)
    response = _post(client, published_style, jpeg_with_gps(sideways, orientation=6))
    assert response.status_code == 202, response.content
    created = response.json()
    assert created["status"] == "queued" and len(created["faces"]) == 1
    assert created["cost"] == 4 * published_style.price_per_image
    assert wallet_of(buyer) == {"balance": 100 - created["cost"], "held": created["cost"]}

    photo = Photo.objects.get(pk=created["id"])
    stored = default_storage.open(photo.path, "rb").read()
    assert not stored.startswith(b"\xff\xd8") and b"GPS" not in stored and b"Exif" not in stored
    original = read_original(photo)
    assert original.size == (512, 512)  # the orientation was applied before anything else

    assert run_jobs("generation") == ["succeeded"]
    done = client.get(f"/api/v1/photos/{photo.pk}").json()
    assert done["status"] == "succeeded" and done["final_image_id"] is None
    assert len(done["variants"]) == 4
    files = [_file(client, v["url"]) for v in done["variants"]]
    pixels = [Image.open(io.BytesIO(f)).convert("RGB").tobytes() for f in files]
    assert len(set(pixels)) == 4  # each variant differs
    for data in files:
        assert Image.open(io.BytesIO(data)).getexif().get_ifd(0x8825) == {}
        assert b"GPSLatitude" not in data
    assert wallet_of(buyer) == {"balance": 100 - created["cost"], "held": 0}
    assert check_books().clean

    chosen = done["variants"][2]["id"]
    picked = client.post(f"/api/v1/photos/{photo.pk}/pick", {"variant_id": chosen}, format="json")
    assert picked.status_code == 200 and picked.json() == {"image_id": chosen}
    assert client.get(f"/api/v1/photos/{photo.pk}").json()["final_image_id"] == chosen
    assert client.get(f"/api/v1/images/{chosen}").status_code == 200

    kinds = list(Event.objects.filter(subject_type="photos.photo").values_list("kind", flat=True))
    assert kinds == ["photo_uploaded", "photo_variants_made"]
    assert all(
        e.payload["photo_sha256"] == photo.sha256
        for e in Event.objects.filter(subject_type="photos.photo")
    )


def test_refused_photos_hold_no_credits(published_style, buyer, token_client):
    client = token_client(buyer)
    transfers, holds = Transfer.objects.count(), Hold.objects.count()
    for picture, code in (
        (two_faces(), "MULTIPLE_FACES"),
        (no_face(), "NO_FACE"),
        (small_face(), "FACE_TOO_SMALL"),
    ):
        response = _post(client, published_style, _jpeg(picture))
        error = assert_error(response, 422, code)
        assert error["message"]
        assert "faces" in error["details"]
        if code != "NO_FACE":
            assert all(len(f["box"]) == 4 for f in error["details"]["faces"])
    assert wallet_of(buyer) == {"balance": 100, "held": 0}
    assert (Transfer.objects.count(), Hold.objects.count()) == (transfers, holds)
    assert not Photo.objects.exists()
    assert (
        not default_storage.exists("private/photos")
        or not default_storage.listdir("private/photos")[1]
    )


def test_refusal_is_in_the_users_language(published_style, buyer, token_client):
    client = token_client(buyer)
    response = client.post(
        "/api/v1/photos",
        {"image": io.BytesIO(_jpeg(no_face())), "style_id": published_style.pk},
        format="multipart",
        HTTP_ACCEPT_LANGUAGE="ko",
    )
    message = assert_error(response, 422, "NO_FACE")["message"]
    assert any("\uac00" <= ch <= "\ud7a3" for ch in message)


def test_wrong_files_get_the_documented_codes(published_style, buyer, token_client):
    client = token_client(buyer)
    assert_error(
        _post(client, published_style, b"GIF89a" + b"\0" * 100), 415, "UNSUPPORTED_MEDIA_TYPE"
    )
    assert_error(_post(client, published_style, _jpeg(astronaut())[:2000]), 400, "VALIDATION_ERROR")
    tiny = io.BytesIO()
    astronaut().resize((100, 100)).save(tiny, "PNG")
    assert_error(_post(client, published_style, tiny.getvalue()), 400, "VALIDATION_ERROR")
    assert wallet_of(buyer) == {"balance": 100, "held": 0}


def test_heic_from_a_phone_is_accepted(published_style, buyer, token_client):
    from pillow_heif import register_heif_opener

    register_heif_opener()
    buffer = io.BytesIO()
    astronaut().save(buffer, format="HEIF", quality=90)
    response = _post(token_client(buyer), published_style, buffer.getvalue(), "me.heic")
    assert response.status_code == 202, response.content


def test_nobody_else_sees_the_photo_or_its_variants(
    published_style, buyer, make_user, token_client
):
    owner = token_client(buyer)
    created = _post(owner, published_style, _jpeg(astronaut())).json()
    run_jobs("generation")
    variant = owner.get(f"/api/v1/photos/{created['id']}").json()["variants"][0]
    other = token_client(make_user("mallory"))
    base = f"/api/v1/photos/{created['id']}"
    assert_error(other.get(base), 404, "NOT_FOUND")
    assert_error(other.get(variant["url"]), 404, "NOT_FOUND")
    assert_error(other.get(f"/api/v1/images/{variant['id']}/file"), 404, "NOT_FOUND")
    assert_error(
        other.post(f"{base}/pick", {"variant_id": variant["id"]}, format="json"), 404, "NOT_FOUND"
    )
    assert_error(other.delete(base), 404, "NOT_FOUND")
    assert other.get(f"{base}/events").status_code == 404
    assert other.get("/api/v1/photos").json()["results"] == []
    assert owner.get("/api/v1/feed").json()["results"] == []


def test_delete_and_purge_remove_files_and_rows_and_the_log_verifies(
    published_style, buyer, token_client
):
    client = token_client(buyer)
    kept = _post(client, published_style, _jpeg(astronaut())).json()
    gone = _post(
        client, published_style, _jpeg(astronaut().transpose(Image.Transpose.FLIP_LEFT_RIGHT))
    ).json()
    run_jobs("generation")
    variants = client.get(f"/api/v1/photos/{kept['id']}").json()["variants"]
    final = variants[1]["id"]
    client.post(f"/api/v1/photos/{kept['id']}/pick", {"variant_id": final}, format="json")
    photo = Photo.objects.get(pk=kept["id"])
    paths = [
        photo.path,
        *GeneratedImage.objects.filter(generation_id=photo.generation_id)
        .exclude(pk=final)
        .values_list("path", flat=True),
    ]

    # On request: at once.
    gone_paths = [Photo.objects.get(pk=gone["id"]).path]
    assert client.delete(f"/api/v1/photos/{gone['id']}").status_code == 204
    assert_error(client.get(f"/api/v1/photos/{gone['id']}"), 404, "NOT_FOUND")
    assert not any(default_storage.exists(p) for p in gone_paths)

    # After 30 days: `stylevault photos purge`.
    call_command("photos", "purge", stdout=io.StringIO())
    assert Photo.objects.filter(pk=kept["id"]).exists()  # not yet due
    Photo.objects.filter(pk=kept["id"]).update(expires_at=timezone.now() - timedelta(seconds=1))
    call_command("photos", "purge", stdout=io.StringIO())
    assert not Photo.objects.exists()
    assert not any(default_storage.exists(p) for p in paths)
    remaining = GeneratedImage.objects.filter(owner=buyer)
    assert list(remaining.values_list("pk", flat=True)) == [final]  # the final is a normal image
    assert client.get(f"/api/v1/images/{final}/file").status_code == 200
    deleted = Event.objects.filter(kind="photo_deleted").order_by("seq")
    assert [e.payload["reason"] for e in deleted] == ["request", "expired"]
    assert verify_log().clean
    out = io.StringIO()
    call_command("provenance", "verify", stdout=out)
