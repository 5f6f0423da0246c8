"""Hostile input to the campaign API: logos that lie about what they are, wrong JSON types,
huge ids; always a documented error envelope, never a 500."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from stylevault.campaigns import services
from tests.conftest import assert_error

pytestmark = pytest.mark.django_db

SVG = (
    b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
)


def _png_then_html() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGBA", (64, 64), (0, 0, 0, 0)).save(buffer, format="PNG")
    return buffer.getvalue() + b"<html><script>alert(1)</script></html>"


@pytest.fixture
def plain_brand(owner):
    return services.create_brand(
        owner=owner, data={"name": "Bean There", "business_type": "cafe", "language": "en"}
    )


def _form(**extra) -> dict:
    return {"name": "Bean There", "business_type": "cafe", "language": "en", **extra}


def _jpeg_with_gps() -> bytes:
    exif = Image.Exif()
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "N", (37.0, 33.0, 59.0)
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), (200, 30, 30)).save(buffer, format="JPEG", exif=exif)
    return buffer.getvalue()


def test_a_logo_keeps_no_exif_gps(owner, token_client):
    client = token_client(owner)
    logo = SimpleUploadedFile("logo.jpg", _jpeg_with_gps(), content_type="image/jpeg")
    created = client.post("/api/v1/brands", _form(logo=logo), format="multipart")
    assert created.status_code == 201, created.content
    served = b"".join(client.get(created.json()["logo_url"]).streaming_content)
    assert b"Exif" not in served and Image.open(io.BytesIO(served)).getexif().get_ifd(0x8825) == {}


def test_an_svg_named_png_is_refused_and_a_polyglot_is_stored_clean(owner, token_client):
    client = token_client(owner)
    svg = SimpleUploadedFile("logo.png", SVG, content_type="image/png")
    assert_error(
        client.post("/api/v1/brands", _form(logo=svg), format="multipart"),
        415,
        "UNSUPPORTED_MEDIA_TYPE",
    )
    polyglot = SimpleUploadedFile("logo.html", _png_then_html(), content_type="text/html")
    created = client.post("/api/v1/brands", _form(logo=polyglot), format="multipart")
    assert created.status_code == 201, created.content
    served = client.get(created.json()["logo_url"])
    assert served.status_code == 200 and served["Content-Type"] == "image/png"
    assert b"<script>" not in b"".join(served.streaming_content)


@pytest.mark.parametrize(
    "body",
    [
        {"text": ["a list"]},
        {"text": None},
        {"text": 5},
        {"text": "winter menu", "style_id": "abc"},
        {"text": "winter menu", "style_id": 10**30},
        {"text": "winter menu", "aspect_ratio": ["1:1"]},
        {"text": "winter menu", "aspect_ratio": 7},
        {},
    ],
)
def test_wrong_types_in_a_turn_are_validation_errors(owner, plain_brand, token_client, body):
    client = token_client(owner)
    session = services.create_session(owner=owner, brand_id=plain_brand.pk)
    response = client.post(f"/api/v1/campaigns/sessions/{session.pk}/messages", body, format="json")
    assert_error(response, 400, "VALIDATION_ERROR")


@pytest.mark.parametrize(
    ("method", "url", "body"),
    [
        ("post", "/api/v1/campaigns/sessions", {"brand_id": "one"}),
        ("post", "/api/v1/campaigns/sessions", {"brand_id": 10**30}),
        ("post", "/api/v1/campaigns/sessions", ["not", "an", "object"]),
        ("patch", "/api/v1/brands/{brand}", {"default_style_id": "abc"}),
        ("patch", "/api/v1/brands/{brand}", {"primary_color": 5}),
        ("patch", "/api/v1/brands/{brand}", {"logo": "not a file"}),
        ("get", "/api/v1/campaigns/recommendations?brand_id=abc", None),
        ("get", "/api/v1/campaigns/recommendations?brand_id=99999999999999999999999", None),
    ],
)
def test_wrong_types_elsewhere_are_validation_errors(
    owner, plain_brand, token_client, method, url, body
):
    client = token_client(owner)
    call = getattr(client, method)
    url = url.format(brand=plain_brand.pk)
    response = call(url, body, format="json") if body is not None else call(url)
    assert response.status_code in (400, 404), response.content
    assert response.json()["error"]["code"] in ("VALIDATION_ERROR", "NOT_FOUND")


@pytest.mark.parametrize("style_id", ["1.0", "x", "-1", "99999999999999999999"])
def test_a_multipart_style_id_that_is_no_whole_number_is_a_validation_error(
    owner, token_client, plain_brand, style_id
):
    client = token_client(owner)
    response = client.patch(
        f"/api/v1/brands/{plain_brand.pk}", {"default_style_id": style_id}, format="multipart"
    )
    assert_error(response, 400, "VALIDATION_ERROR")
