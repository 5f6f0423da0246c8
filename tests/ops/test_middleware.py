"""The drop-in middleware: the site-wide CSP built once but following settings, and
messages whose storage exists only when used."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_csp_header_follows_a_changed_policy(client, settings):
    assert "object-src 'none'" in client.get("/healthz")["Content-Security-Policy"]
    settings.CONTENT_SECURITY_POLICY = {"DIRECTIVES": {"default-src": ["'none'"]}}
    assert client.get("/healthz")["Content-Security-Policy"] == "default-src 'none'"


def test_an_api_request_sets_no_message_cookie(token_client, user):
    response = token_client(user).get("/api/v1/me")
    assert response.status_code == 200 and "messages" not in response.cookies


def test_messages_still_reach_the_next_page(client, user):
    from stylevault.accounts import services

    token, _raw = services.create_token(user=user, name="old laptop")
    client.force_login(user)
    response = client.post(f"/en/me/tokens/{token.pk}/revoke/", follow=True)
    assert response.status_code == 200
    assert "The token was revoked." in response.content.decode()
