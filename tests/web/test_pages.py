"""Account pages: sign-up, log-in, tokens, language, artist application (server-side)."""

from __future__ import annotations

import pytest

from stylevault.accounts.models import ApiToken, ArtistApplication
from tests.accounts.test_api import png_bytes, upload
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def test_sign_up_page_creates_the_account_and_logs_in(client):
    response = client.post("/en/signup/", {"username": "jin", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/en/me/"
    assert "jin" in client.get("/en/me/").content.decode()


def test_sign_up_page_shows_the_rule_in_korean(client):
    response = client.post("/ko/signup/", {"username": "x y", "password": PASSWORD})
    assert response.status_code == 400
    assert "글자" in response.content.decode()


def test_log_in_page_rate_limit(client, user, steady_rate_clock):
    for _ in range(5):
        client.post("/en/login/", {"username": "alice", "password": "bad"})
    response = client.post("/en/login/", {"username": "alice", "password": PASSWORD})
    assert response.status_code == 429 and int(response["Retry-After"]) > 0


def test_my_page_creates_and_revokes_tokens(client, user):
    client.force_login(user)
    response = client.post("/en/me/", {"token-name": "godot"})
    page = response.content.decode()
    token = ApiToken.objects.get(user=user)
    assert "svt_" in page and token.prefix in page
    client.post(f"/en/me/tokens/{token.pk}/revoke/")
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_language_preference_is_saved(client, user):
    client.force_login(user)
    response = client.post("/en/me/locale/", {"locale-locale": "ko"})
    assert response.status_code == 302 and response["Location"].endswith("/ko/me/")
    user.refresh_from_db()
    assert user.locale == "ko"


def test_artist_application_page(client, user):
    client.force_login(user)
    bad = client.post(
        "/en/artist/apply/", {"email": "a@example.com", "signature": upload("s.png", b"GIF89a")}
    )
    assert bad.status_code == 400 and "s.png" in bad.content.decode()
    good = client.post(
        "/en/artist/apply/", {"email": "a@example.com", "signature": upload("s.png", png_bytes())}
    )
    assert good.status_code == 302
    assert ArtistApplication.objects.filter(user=user, status="pending").count() == 1


def test_artist_application_page_previews_the_signature(client, user):
    client.force_login(user)
    page = client.get("/ko/artist/apply/").content.decode()
    assert 'hx-post="/ko/artist/apply/preview/"' in page
    preview = client.post("/en/artist/apply/preview/", {"signature": upload("s.png", png_bytes())})
    assert preview.status_code == 200
    assert 'src="data:image/png;base64,' in preview.content.decode()
    assert "18% of the shorter side" in preview.content.decode()
    refused = client.post("/en/artist/apply/preview/", {"signature": upload("s.png", b"GIF89a")})
    assert 'role="alert"' in refused.content.decode() and "s.png" in refused.content.decode()


def test_pages_need_login(client):
    response = client.get("/en/me/")
    assert response.status_code == 302 and "/en/login/" in response["Location"]


def test_operator_console_lists_applications(client, make_user):
    operator = make_user("operator1", operator=True)
    client.force_login(operator)
    assert client.get("/admin/accounts/artistapplication/").status_code == 200


def test_operator_approves_in_the_console(client, make_user):
    from stylevault.accounts import services

    applicant = make_user("painter")
    application = services.apply_for_artist(
        user=applicant, contact_email="p@example.com", signature=upload("s.png", png_bytes())
    )
    client.force_login(make_user("operator1", operator=True))
    client.post(
        "/admin/accounts/artistapplication/",
        {"action": "approve", "_selected_action": [application.pk]},
    )
    applicant.refresh_from_db()
    assert applicant.role == "artist"
