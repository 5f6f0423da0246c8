"""API paths always answer with the error envelope; pages with HTML; headers are set."""

from __future__ import annotations

import re

import pytest

from tests.conftest import assert_error

pytestmark = pytest.mark.django_db


def test_unknown_api_path_is_a_json_404(client):
    assert_error(client.get("/api/v1/does-not-exist"), 404, "NOT_FOUND")


def test_wrong_method_is_a_json_405(client):
    assert_error(client.get("/api/v1/auth/login"), 405, "METHOD_NOT_ALLOWED")


def test_options_describes_every_api_path_without_failing(user, token_client):
    """OPTIONS is answered by every DRF view (HTTP clients and proxies send it)."""
    from django.urls import URLPattern, URLResolver, get_resolver

    def paths(patterns, prefix=""):
        for pattern in patterns:
            route = prefix + str(pattern.pattern).lstrip("^").rstrip("$")
            if isinstance(pattern, URLResolver):
                yield from paths(pattern.url_patterns, route)
            elif isinstance(pattern, URLPattern) and route.startswith("api/v1/"):
                yield "/" + re.sub(r"<[^>]+>", "1", route)

    client = token_client(user)
    checked = 0
    for path in paths(get_resolver().url_patterns):
        response = client.options(path)
        assert response.status_code < 500, (path, response.content[:300])
        checked += 1
    assert checked > 30


def test_unexpected_failure_is_a_json_500_without_a_trace(user, token_client, monkeypatch):
    from stylevault.accounts import api

    def explode(*args, **kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(api, "me_payload", explode)
    response = token_client(user).get("/api/v1/me")
    error = assert_error(response, 500, "INTERNAL_ERROR")
    assert "secret internals" not in response.content.decode()
    assert "Traceback" not in error["message"]


def test_pages_are_served_in_english_and_korean(client):
    english = client.get("/en/").content.decode()
    korean = client.get("/ko/").content.decode()
    assert 'lang="en"' in english and "Log in" in english
    assert 'lang="ko"' in korean and "로그인" in korean


def test_security_headers(client):
    response = client.get("/en/")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert "default-src 'self'" in response["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]


def test_forms_require_csrf(db):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    response = client.post("/en/signup/", {"username": "x", "password": "y"})
    assert response.status_code == 403
