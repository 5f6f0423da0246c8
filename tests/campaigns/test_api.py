"""The campaign API's documented errors and its privacy: bad logos, huge logos, a brief of
10,000 characters, unknown ratios, and other people's brands, sessions and ads → 404."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from stylevault.campaigns import services
from stylevault.campaigns.models import Draft
from tests.conftest import assert_error, png_upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def plain_brand(owner):
    return services.create_brand(
        owner=owner, data={"name": "Bean There", "business_type": "cafe", "language": "en"}
    )


def _brand_form(**extra) -> dict:
    return {"name": "Bean There", "business_type": "cafe", "language": "en", **extra}


def test_logo_that_is_not_an_image_is_refused(owner, token_client):
    fake = SimpleUploadedFile("logo.png", b"%PDF-1.7 not a picture", content_type="image/png")
    response = token_client(owner).post(
        "/api/v1/brands", _brand_form(logo=fake), format="multipart"
    )
    assert_error(response, 415, "UNSUPPORTED_MEDIA_TYPE")


def test_huge_logo_is_refused(owner, token_client):
    big = SimpleUploadedFile("logo.png", b"\x89PNG\r\n\x1a\n" + b"\0" * (3 * 1024 * 1024))
    response = token_client(owner).post("/api/v1/brands", _brand_form(logo=big), format="multipart")
    assert_error(response, 413, "FILE_TOO_LARGE")
    many_pixels = png_upload(Image.new("RGB", (2500, 2000), "white"), "wide.png")
    response = token_client(owner).post(
        "/api/v1/brands", _brand_form(logo=many_pixels), format="multipart"
    )
    assert_error(response, 400, "VALIDATION_ERROR")


def test_bad_brand_fields(owner, token_client):
    client = token_client(owner)
    assert_error(
        client.post("/api/v1/brands", _brand_form(language="fr"), format="json"),
        400,
        "VALIDATION_ERROR",
    )
    assert_error(
        client.post("/api/v1/brands", _brand_form(primary_color="red"), format="json"),
        400,
        "VALIDATION_ERROR",
    )
    assert_error(
        client.post("/api/v1/brands", _brand_form(default_style_id=999), format="json"),
        404,
        "NOT_FOUND",
    )


def test_brand_crud_keeps_transparency(owner, token_client):
    client = token_client(owner)
    logo = Image.new("RGBA", (80, 40), (0, 0, 0, 0))
    created = client.post("/api/v1/brands", _brand_form(logo=png_upload(logo)), format="multipart")
    assert created.status_code == 201, created.content
    brand_id = created.json()["id"]
    stored = b"".join(client.get(f"/api/v1/brands/{brand_id}/logo").streaming_content)
    assert Image.open(io.BytesIO(stored)).getpixel((0, 0))[3] == 0
    patched = client.patch(f"/api/v1/brands/{brand_id}", {"tone": "premium"}, format="json")
    assert patched.status_code == 200 and patched.json()["tone"] == "premium"
    assert [b["id"] for b in client.get("/api/v1/brands").json()["results"]] == [brand_id]
    assert client.delete(f"/api/v1/brands/{brand_id}").status_code == 204
    assert_error(client.get(f"/api/v1/brands/{brand_id}"), 404, "NOT_FOUND")


def test_long_brief_and_unknown_ratio_are_refused(owner, plain_brand, token_client):
    client = token_client(owner)
    session = services.create_session(owner=owner, brand_id=plain_brand.pk)
    url = f"/api/v1/campaigns/sessions/{session.pk}/messages"
    assert_error(client.post(url, {"text": "가" * 10_000}, format="json"), 400, "VALIDATION_ERROR")
    error = assert_error(
        client.post(url, {"text": "winter menu", "aspect_ratio": "2:1"}, format="json"),
        400,
        "VALIDATION_ERROR",
    )
    assert "aspect_ratio" in error["details"]["fields"]
    assert_error(client.post(url, {"text": ""}, format="json"), 400, "VALIDATION_ERROR")
    # No style chosen and none by default: said clearly, nothing held.
    error = assert_error(
        client.post(url, {"text": "winter menu"}, format="json"), 400, "VALIDATION_ERROR"
    )
    assert "style_id" in error["details"]["fields"]
    assert_error(
        client.post(url, {"text": "nude models tonight"}, format="json"), 403, "CONTENT_POLICY"
    )
    assert not Draft.objects.exists()


def test_other_peoples_brands_sessions_and_ads_are_not_found(
    owner, plain_brand, make_user, token_client
):
    session = services.create_session(owner=owner, brand_id=plain_brand.pk)
    intruder = token_client(make_user("intruder"))
    assert_error(intruder.get(f"/api/v1/brands/{plain_brand.pk}"), 404, "NOT_FOUND")
    assert_error(
        intruder.patch(f"/api/v1/brands/{plain_brand.pk}", {"name": "x"}, format="json"),
        404,
        "NOT_FOUND",
    )
    assert_error(intruder.delete(f"/api/v1/brands/{plain_brand.pk}"), 404, "NOT_FOUND")
    assert_error(
        intruder.post("/api/v1/campaigns/sessions", {"brand_id": plain_brand.pk}, format="json"),
        404,
        "NOT_FOUND",
    )
    assert_error(intruder.get(f"/api/v1/campaigns/sessions/{session.pk}"), 404, "NOT_FOUND")
    assert_error(
        intruder.post(
            f"/api/v1/campaigns/sessions/{session.pk}/messages",
            {"text": "winter menu"},
            format="json",
        ),
        404,
        "NOT_FOUND",
    )
    assert intruder.get("/api/v1/campaigns/sessions").json()["results"] == []
    draft = Draft.objects.create(
        owner=owner,
        session=session,
        brand=plain_brand,
        brief="b",
        headline="h",
        body="b",
        cta="c",
        image_prompt="p",
        aspect_ratio="1:1",
        language="en",
        tone="friendly",
        writer="template",
        style_id=_any_style(owner).pk,
    )
    for path in ("", "/ad", "/copy"):
        assert_error(intruder.get(f"/api/v1/campaigns/drafts/{draft.pk}{path}"), 404, "NOT_FOUND")
    assert_error(
        intruder.get(f"/api/v1/campaigns/recommendations?brand_id={plain_brand.pk}"),
        404,
        "NOT_FOUND",
    )


def _any_style(owner):
    from stylevault.styles.models import Style

    return Style.objects.create(artist=owner, name="s", price_per_image=1)


def test_sessions_rename_and_delete(owner, plain_brand, token_client):
    client = token_client(owner)
    created = client.post("/api/v1/campaigns/sessions", {"brand_id": plain_brand.pk}, format="json")
    assert created.status_code == 201 and created.json()["brand_id"] == plain_brand.pk
    session_id = created.json()["id"]
    renamed = client.patch(
        f"/api/v1/campaigns/sessions/{session_id}", {"title": "Winter"}, format="json"
    )
    assert renamed.json()["title"] == "Winter"
    assert client.delete(f"/api/v1/campaigns/sessions/{session_id}").status_code == 204
    assert_error(client.get(f"/api/v1/campaigns/sessions/{session_id}"), 404, "NOT_FOUND")


def test_recommendations_for_today(owner, plain_brand, token_client, monkeypatch):
    import datetime

    from django.utils import timezone

    monkeypatch.setattr(timezone, "localdate", lambda: datetime.date(2026, 11, 1))
    ideas = token_client(owner).get(f"/api/v1/campaigns/recommendations?brand_id={plain_brand.pk}")
    results = ideas.json()["results"]
    assert len(results) == 3 and all(set(r) >= {"title", "brief"} for r in results)
    assert results[0]["title"] == "Pepero Day" and "Pepero Day" in results[0]["brief"]
    assert results[1]["title"] == "Black Friday"
    assert_error(
        token_client(owner).get("/api/v1/campaigns/recommendations?brand_id=x"),
        400,
        "VALIDATION_ERROR",
    )


def test_recommendations_skip_what_the_brand_ran_lately(owner, plain_brand, monkeypatch):
    import datetime

    from stylevault.campaigns import selectors

    Draft.objects.create(
        owner=owner,
        brand=plain_brand,
        brief="Pepero Day event",
        headline="h",
        body="b",
        cta="c",
        image_prompt="p",
        aspect_ratio="1:1",
        language="en",
        tone="friendly",
        writer="template",
        style_id=_any_style(owner).pk,
    )
    ideas = selectors.recommendations(plain_brand, datetime.date(2026, 11, 1))
    # Pepero Day (ran lately) is left out; Black Friday, then the season's ideas.
    assert [i["key"] for i in ideas] == ["black_friday", "launch", "season"]
