"""Google sign-in through allauth's authorization-code flow (with PKCE). Google's servers are
faked at the HTTP boundary only: the token and userinfo endpoints answer over `requests`."""

from __future__ import annotations

import base64
import json
import time
from urllib.parse import parse_qs, urlparse

import pytest
import responses

from stylevault.accounts.models import User

pytestmark = pytest.mark.django_db

CLIENT_ID = "stylevault-test.apps.googleusercontent.com"


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def fake_id_token(sub: str, email: str) -> str:
    claims = {
        "iss": "https://accounts.google.com",
        "aud": CLIENT_ID,
        "sub": sub,
        "email": email,
        "email_verified": True,
        "iat": int(time.time()),
        "exp": int(time.time()) + 600,
    }
    return f"{_b64({'alg': 'RS256', 'kid': 'k1'})}.{_b64(claims)}.c2ln"


@pytest.fixture
def google(settings):
    providers = {**settings.SOCIALACCOUNT_PROVIDERS}
    providers["google"] = {
        **providers["google"],
        "APPS": [{"client_id": CLIENT_ID, "secret": "s3cret"}],
    }
    settings.SOCIALACCOUNT_PROVIDERS = providers
    settings.GOOGLE_SIGNIN_ENABLED = True


def _start(client) -> dict[str, str]:
    response = client.post("/accounts/google/login/")
    assert response.status_code == 302
    location = urlparse(response["Location"])
    assert location.netloc == "accounts.google.com"
    query = {k: v[0] for k, v in parse_qs(location.query).items()}
    assert query["client_id"] == CLIENT_ID and query["code_challenge_method"] == "S256"
    return query


@responses.activate
def test_google_sign_in_creates_and_logs_in_a_user(client, google):
    query = _start(client)
    token_call = responses.post(
        "https://oauth2.googleapis.com/token",
        json={
            "access_token": "ya29.fake",
            "expires_in": 3600,
            "token_type": "Bearer",
            "id_token": fake_id_token("10001", "jisoo@example.com"),
        },
    )
    responses.get(
        "https://www.googleapis.com/oauth2/v2/userinfo",
        json={"id": "10001", "email": "jisoo@example.com", "verified_email": True, "name": "Jisoo"},
    )
    response = client.get(
        "/accounts/google/login/callback/", {"code": "auth-code", "state": query["state"]}
    )
    assert response.status_code == 302, response.content[:500]
    sent = parse_qs(token_call.calls[0].request.body)
    assert sent["code"] == ["auth-code"] and "code_verifier" in sent
    user = User.objects.get(email="jisoo@example.com")
    assert user.role == "user"
    assert client.get("/api/v1/me").json()["id"] == user.pk


@responses.activate
def test_forged_state_is_refused(client, google):
    _start(client)
    client.get("/accounts/google/login/callback/", {"code": "x", "state": "forged"})
    assert not User.objects.exists()
    assert client.get("/api/v1/me").status_code == 401
    assert len(responses.calls) == 0  # nothing was sent to Google
