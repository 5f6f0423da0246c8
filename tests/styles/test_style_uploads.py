"""Every file rule of a style upload, each with a real malformed file; and who may upload."""

from __future__ import annotations

import functools
import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from stylevault.engine.demo_art import procedural_artist
from stylevault.jobs.models import Job
from stylevault.styles.models import Style
from tests.conftest import assert_error, png_upload

pytestmark = pytest.mark.django_db


@functools.lru_cache(maxsize=1)
def _work_bytes() -> tuple[bytes, ...]:
    paint = procedural_artist(3, size=512)
    return tuple(png_upload(paint(i)).read() for i in range(10))


def good_works(count: int = 10) -> list:
    return [
        SimpleUploadedFile(f"work-{i}.png", _work_bytes()[i % 10], content_type="image/png")
        for i in range(count)
    ]


def post(client, files, **fields):
    data = {"name": "Ink", "price_per_image": 5, **fields, "images": files}
    return client.post("/api/v1/styles", data, format="multipart")


@pytest.fixture
def artist(make_artist, token_client):
    return token_client(make_artist("painter"))


def _png_bytes(size=(512, 512)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 10, 10)).save(buffer, format="PNG")
    return buffer.getvalue()


def _bomb() -> bytes:
    # A 1-bit 20000x20000 PNG: a few KB on disk, 400 million pixels decoded.
    buffer = io.BytesIO()
    Image.new("1", (20000, 20000)).save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("a.png", _png_bytes())
    return buffer.getvalue()


def _gif() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (600, 600)).save(buffer, format="GIF")
    return buffer.getvalue()


BAD_FILES = {
    "fake extension": (b"just some text, not a picture at all" * 10, 415, "UNSUPPORTED_MEDIA_TYPE"),
    "truncated": (_png_bytes()[:400], 400, "VALIDATION_ERROR"),
    "bomb": (_bomb(), 400, "VALIDATION_ERROR"),
    "gif": (_gif(), 415, "UNSUPPORTED_MEDIA_TYPE"),
    "zip": (_zip(), 415, "UNSUPPORTED_MEDIA_TYPE"),
    "too small": (_png_bytes((511, 700)), 400, "VALIDATION_ERROR"),
    "too large": (b"\x89PNG\r\n\x1a\n" + b"\0" * (10 * 1024 * 1024 + 1), 413, "FILE_TOO_LARGE"),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_each_bad_file_is_refused_by_name(case, artist):
    data, status, code = BAD_FILES[case]
    files = [*good_works(9), SimpleUploadedFile("bad-one.png", data, content_type="image/png")]
    error = assert_error(post(artist, files), status, code)
    assert "bad-one.png" in error["message"]
    assert not Style.objects.exists() and not Job.objects.exists()


@pytest.mark.parametrize("count", [9, 101])
def test_too_few_or_too_many_files(count, artist):
    paint = procedural_artist(3, size=512)
    picture = png_upload(paint(0)).read()
    files = [
        SimpleUploadedFile(f"w{i}.png", picture, content_type="image/png") for i in range(count)
    ]
    response = post(artist, files)
    assert response.status_code == 400 and response.json()["error"]["code"] == "VALIDATION_ERROR"
    assert not Style.objects.exists()


def test_message_follows_the_users_language(artist):
    files = [*good_works(9), SimpleUploadedFile("나쁜.png", b"not an image" * 20)]
    error = assert_error(
        post(
            artist,
            files,
        ),
        415,
        "UNSUPPORTED_MEDIA_TYPE",
    )
    korean = assert_error(
        artist.post(
            "/api/v1/styles",
            {
                "name": "Ink",
                "price_per_image": 5,
                "images": [*good_works(9), SimpleUploadedFile("나쁜.png", b"not an image" * 20)],
            },
            format="multipart",
            HTTP_ACCEPT_LANGUAGE="ko",
        ),
        415,
        "UNSUPPORTED_MEDIA_TYPE",
    )
    assert error["message"] != korean["message"] and "나쁜.png" in korean["message"]


@pytest.mark.parametrize(
    "fields",
    [
        {"price_per_image": 0},
        {"price_per_image": 10001},
        {"price_per_image": "cheap"},
        {"name": ""},
        {"tags": ",".join(f"t{i}" for i in range(21))},
        {"nsfw_allowed": "maybe"},
    ],
)
def test_bad_fields(fields, artist):
    assert_error(post(artist, good_works(), **fields), 400, "VALIDATION_ERROR")


def test_only_artists_upload(make_user, token_client, api_client):
    assert_error(post(token_client(make_user("buyer")), good_works()), 403, "FORBIDDEN")
    assert_error(post(api_client, good_works()), 401, "UNAUTHORIZED")


def test_unknown_and_unpublished_styles_are_not_found(artist, make_user, token_client, api_client):
    created = post(artist, good_works())
    assert created.status_code == 201
    style_id = created.json()["id"]
    assert artist.get(f"/api/v1/styles/{style_id}").json()["status"] == "queued"
    for client in (api_client, token_client(make_user("someone"))):
        assert_error(client.get(f"/api/v1/styles/{style_id}"), 404, "NOT_FOUND")
    assert_error(artist.get("/api/v1/styles/987654"), 404, "NOT_FOUND")


def test_price_editing(artist, make_user, token_client):
    style_id = post(artist, good_works()).json()["id"]
    changed = artist.patch(f"/api/v1/styles/{style_id}", {"price_per_image": 10000}, format="json")
    assert changed.status_code == 200 and changed.json()["price_per_image"] == 10000
    assert_error(
        artist.patch(f"/api/v1/styles/{style_id}", {"price_per_image": 0}, format="json"),
        400,
        "VALIDATION_ERROR",
    )
    other = token_client(make_user("other"))
    assert_error(
        other.patch(f"/api/v1/styles/{style_id}", {"price_per_image": 1}, format="json"),
        404,
        "NOT_FOUND",
    )
