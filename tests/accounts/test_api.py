"""Accounts over the JSON API: sign-up, log-in, tokens, /me, artist applications."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageDraw

from stylevault.accounts.models import ApiToken, ApplicationStatus, ArtistApplication, Role
from tests.conftest import PASSWORD, assert_error

pytestmark = pytest.mark.django_db


def png_bytes(size=(64, 64), color=(20, 20, 20)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, "PNG")
    return buffer.getvalue()


def upload(name: str, data: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data, content_type="image/png")


def test_sign_up_then_log_in_with_a_session_cookie(api_client):
    response = api_client.post(
        "/api/v1/auth/signup", {"username": "bora", "password": PASSWORD}, format="json"
    )
    assert response.status_code == 201
    assert response.json()["username"] == "bora"
    response = api_client.post(
        "/api/v1/auth/login", {"username": "bora", "password": PASSWORD}, format="json"
    )
    assert response.status_code == 200
    cookie = response.cookies["sessionid"]
    assert cookie["httponly"] and int(cookie["max-age"]) == 14 * 24 * 3600
    me = api_client.get("/api/v1/me").json()
    assert me["username"] == "bora" and me["role"] == "user"
    assert set(me) >= {"id", "username", "role", "credits", "tier", "locale"}


def test_password_is_stored_with_argon2(make_user):
    user = make_user("hana")
    assert user.password.startswith("argon2$")


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({}, 400, "VALIDATION_ERROR"),
        ({"username": "ok_name"}, 400, "VALIDATION_ERROR"),
        ({"username": 12, "password": ["x"]}, 400, "VALIDATION_ERROR"),
        ({"username": "a b", "password": PASSWORD}, 400, "VALIDATION_ERROR"),
        ({"username": "weakpw", "password": "123"}, 400, "VALIDATION_ERROR"),
        ({"username": "mail", "password": PASSWORD, "email": "not-mail"}, 400, "VALIDATION_ERROR"),
    ],
)
def test_sign_up_rejects_bad_input(api_client, body, status, code):
    assert_error(api_client.post("/api/v1/auth/signup", body, format="json"), status, code)


def test_sign_up_with_a_taken_name_is_a_conflict(api_client, user):
    response = api_client.post(
        "/api/v1/auth/signup", {"username": "ALICE", "password": PASSWORD}, format="json"
    )
    assert_error(response, 409, "CONFLICT")


def test_not_json_body_is_a_validation_error(api_client):
    response = api_client.generic(
        "POST", "/api/v1/auth/signup", "{not json", content_type="application/json"
    )
    assert_error(response, 400, "VALIDATION_ERROR")


def test_log_in_refuses_html_forms_so_other_sites_cannot_log_you_in(api_client, user):
    """A cross-site <form> can only send form encodings; log-in takes JSON (no login CSRF)."""
    response = api_client.post(
        "/api/v1/auth/login", {"username": "alice", "password": PASSWORD}, format="multipart"
    )
    assert_error(response, 415, "UNSUPPORTED_MEDIA_TYPE")
    assert "sessionid" not in response.cookies


def test_wrong_password_is_unauthorized(api_client, user):
    response = api_client.post(
        "/api/v1/auth/login", {"username": "alice", "password": "nope nope"}, format="json"
    )
    assert_error(response, 401, "UNAUTHORIZED")


def test_log_in_is_limited_to_five_tries_per_five_minutes(api_client, user, steady_rate_clock):
    for _ in range(5):
        api_client.post("/api/v1/auth/login", {"username": "alice", "password": "x"}, format="json")
    response = api_client.post(
        "/api/v1/auth/login", {"username": "alice", "password": PASSWORD}, format="json"
    )
    assert_error(response, 429, "RATE_LIMITED")
    assert 0 < int(response["Retry-After"]) <= 300


def test_api_is_limited_per_user(settings, user, token_client, steady_rate_clock):
    settings.RATE_API = "3/m"
    client = token_client(user)
    assert [client.get("/api/v1/me").status_code for _ in range(3)] == [200, 200, 200]
    response = client.get("/api/v1/me")
    assert_error(response, 429, "RATE_LIMITED")
    assert int(response["Retry-After"]) >= 1


def test_token_is_shown_once_stored_hashed_and_revocable(api_client, user):
    api_client.force_login(user)
    # Session writes need the CSRF token; programs use bearer tokens instead.
    assert_error(
        api_client.post("/api/v1/auth/tokens", {"name": "unity"}, format="json"), 403, "FORBIDDEN"
    )
    api_client.get("/en/me/")
    csrf = api_client.cookies["csrftoken"].value
    response = api_client.post(
        "/api/v1/auth/tokens", {"name": "unity"}, format="json", HTTP_X_CSRFTOKEN=csrf
    )
    assert response.status_code == 201
    raw = response.json()["token"]
    row = ApiToken.objects.get(pk=response.json()["id"])
    assert raw not in (row.token_hash, row.prefix) and len(row.token_hash) == 64

    listed = api_client.get("/api/v1/auth/tokens").json()["results"]
    assert [t["name"] for t in listed] == ["unity"] and "token" not in listed[0]

    from rest_framework.test import APIClient

    program = APIClient()
    program.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert program.get("/api/v1/me").json()["username"] == "alice"

    response = api_client.delete(f"/api/v1/auth/tokens/{row.pk}", HTTP_X_CSRFTOKEN=csrf)
    assert response.status_code == 204
    assert_error(program.get("/api/v1/me"), 401, "UNAUTHORIZED")


def test_someone_elses_token_cannot_be_revoked(make_user, token_client):
    from stylevault.accounts import services

    owner, other = make_user("owner"), make_user("other")
    token, _raw = services.create_token(user=owner, name="mine")
    assert_error(token_client(other).delete(f"/api/v1/auth/tokens/{token.pk}"), 404, "NOT_FOUND")
    token.refresh_from_db()
    assert token.revoked_at is None


@pytest.mark.parametrize("header", ["Bearer", "Bearer a b", "Bearer svt_forged", "Bearer ☃"])
def test_bad_bearer_headers_are_unauthorized(api_client, db, header):
    response = api_client.get("/api/v1/me", HTTP_AUTHORIZATION=header.encode().decode("latin-1"))
    assert_error(response, 401, "UNAUTHORIZED")


def test_me_requires_authentication(api_client, db):
    response = api_client.get("/api/v1/me")
    assert_error(response, 401, "UNAUTHORIZED")
    assert response["WWW-Authenticate"] == "Bearer"


def test_me_changes_language(user, token_client):
    client = token_client(user)
    assert client.patch("/api/v1/me", {"locale": "ko"}, format="json").json()["locale"] == "ko"
    assert_error(
        client.patch("/api/v1/me", {"locale": "fr"}, format="json"), 400, "VALIDATION_ERROR"
    )


def test_errors_follow_the_request_language(api_client, db):
    response = api_client.get("/api/v1/me", HTTP_ACCEPT_LANGUAGE="ko")
    error = assert_error(response, 401, "UNAUTHORIZED")
    assert any("\uac00" <= ch <= "\ud7a3" for ch in error["message"]), error["message"]


def test_artist_application_is_approved_by_an_operator(make_user, token_client):
    from stylevault.accounts import services

    applicant, operator = make_user("painter"), make_user("operator1", operator=True)
    response = token_client(applicant).post(
        "/api/v1/artist-applications",
        {"email": "painter@example.com", "signature": upload("sig.png", png_bytes())},
        format="multipart",
    )
    assert response.status_code == 201, response.content
    assert response.json()["status"] == "pending"
    services.decide_application(
        operator=operator, application_id=response.json()["id"], approve=True
    )
    applicant.refresh_from_db()
    assert applicant.role == Role.ARTIST
    assert token_client(applicant).get("/api/v1/me").json()["role"] == "artist"


def test_only_operators_decide_applications(make_user, token_client):
    from stylevault.accounts import services
    from stylevault.accounts.models import ArtistApplication
    from stylevault.core import errors

    applicant = make_user("painter")
    token_client(applicant).post(
        "/api/v1/artist-applications",
        {"email": "p@example.com", "signature": upload("s.png", png_bytes())},
        format="multipart",
    )
    application = ArtistApplication.objects.get()
    with pytest.raises(errors.Forbidden):
        services.decide_application(operator=applicant, application_id=application.pk, approve=True)
    with pytest.raises(errors.ValidationFailed):  # a rejection must say why
        services.decide_application(
            operator=make_user("operator1", operator=True),
            application_id=application.pk,
            approve=False,
        )
    application.refresh_from_db()
    assert application.status == ApplicationStatus.PENDING


def _bomb() -> bytes:
    buffer = io.BytesIO()
    Image.new("1", (12000, 12000)).save(buffer, "PNG")  # tiny file, 144 megapixels
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("name", "data", "status", "code"),
    [
        ("sig.png", b"GIF89a" + b"\0" * 100, 415, "UNSUPPORTED_MEDIA_TYPE"),
        ("sig.png", b"PK\x03\x04" + b"\0" * 100, 415, "UNSUPPORTED_MEDIA_TYPE"),
        ("sig.png", png_bytes()[:60], 400, "VALIDATION_ERROR"),
        ("sig.png", png_bytes(size=(8, 8)), 400, "VALIDATION_ERROR"),
        ("sig.png", b"\x89PNG\r\n\x1a\n" + b"\0" * (3 * 1024 * 1024), 413, "FILE_TOO_LARGE"),
        ("sig.png", _bomb(), 400, "VALIDATION_ERROR"),
    ],
    ids=["gif", "zip", "truncated", "too-small", "too-large", "bomb"],
)
@pytest.mark.parametrize(
    "path", ["/api/v1/artist-applications", "/api/v1/artist-applications/signature-preview"]
)
def test_bad_signature_files_are_refused(user, token_client, path, name, data, status, code):
    response = token_client(user).post(
        path,
        {"email": "a@example.com", "signature": upload(name, data)},
        format="multipart",
    )
    error = assert_error(response, status, code)
    if code != "VALIDATION_ERROR" or "fields" not in error["details"]:
        assert name in error["message"]


def test_application_needs_email_and_file(user, token_client):
    response = token_client(user).post("/api/v1/artist-applications", {}, format="multipart")
    error = assert_error(response, 400, "VALIDATION_ERROR")
    assert set(error["details"]["fields"]) == {"email", "signature"}


def _signature() -> Image.Image:
    picture = Image.new("RGB", (300, 100), "white")
    ImageDraw.Draw(picture).line([(10, 80), (120, 20), (290, 70)], fill=(20, 20, 60), width=8)
    return picture


def test_signature_preview_shows_the_placement_buyers_get(user, token_client, api_client):
    from stylevault.engine.demo_art import demo_artworks
    from stylevault.engine.signature import place_signature

    buffer = io.BytesIO()
    _signature().save(buffer, "PNG")
    response = token_client(user).post(
        "/api/v1/artist-applications/signature-preview",
        {"signature": upload("sig.png", buffer.getvalue())},
        format="multipart",
    )
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    preview = np.asarray(Image.open(io.BytesIO(response.content)).convert("RGB"))
    canvas = demo_artworks(count=1, size=512)[0][0]
    assert np.array_equal(preview, np.asarray(place_signature(canvas, _signature())))
    changed = np.argwhere((preview != np.asarray(canvas)).any(axis=-1))
    assert len(changed) and changed.min(axis=0).tolist() >= [384, 384]  # bottom right only
    assert not ArtistApplication.objects.filter(user=user).exists()  # nothing stored
    anonymous = api_client.post(
        "/api/v1/artist-applications/signature-preview",
        {"signature": upload("sig.png", buffer.getvalue())},
        format="multipart",
    )
    assert_error(anonymous, 401, "UNAUTHORIZED")


def test_a_tall_strip_of_a_signature_stays_within_the_rule(user, token_client):
    strip = Image.new("RGB", (40, 3000), "white")
    ImageDraw.Draw(strip).line([(20, 0), (20, 2999)], fill=(10, 10, 10), width=12)
    buffer = io.BytesIO()
    strip.save(buffer, "PNG")
    response = token_client(user).post(
        "/api/v1/artist-applications/signature-preview",
        {"signature": upload("strip.png", buffer.getvalue())},
        format="multipart",
    )
    assert response.status_code == 200
    from stylevault.engine.demo_art import demo_artworks

    preview = np.asarray(Image.open(io.BytesIO(response.content)).convert("RGB"))
    canvas = np.asarray(demo_artworks(count=1, size=512)[0][0])
    rows = np.flatnonzero((preview != canvas).any(axis=-1).any(axis=1))
    assert 0 < rows.max() - rows.min() + 1 <= round(512 * 0.18)


def test_a_huge_signature_picture_is_refused(user, token_client):
    buffer = io.BytesIO()
    Image.new("1", (2100, 2000), 1).save(buffer, "PNG")  # 4.2 megapixels, a tiny file
    response = token_client(user).post(
        "/api/v1/artist-applications/signature-preview",
        {"signature": upload("big.png", buffer.getvalue())},
        format="multipart",
    )
    assert_error(response, 400, "VALIDATION_ERROR")
