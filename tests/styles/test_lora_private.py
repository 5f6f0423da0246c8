"""LoRA weights never leave the servers: no URL, for anyone, returns their bytes."""

from __future__ import annotations

import re

import pytest
from django.core.files.storage import default_storage
from django.urls import URLPattern, URLResolver, get_resolver

from stylevault.styles import vault
from tests.conftest import run_jobs
from tests.generation.conftest import train_style

pytestmark = pytest.mark.django_db(transaction=True)


def _routes(patterns, prefix: str = "") -> list[str]:
    routes = []
    for entry in patterns:
        pattern = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            routes += _routes(entry.url_patterns, pattern)
        elif isinstance(entry, URLPattern):
            routes.append(pattern)
    return routes


def _fill(route: str, values: dict[str, str]) -> str | None:
    route = route.lstrip("^").rstrip("$")
    if "(?P" in route or "\\" in route:
        return None  # regex routes: admin internals, covered by the admin's own permissions
    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", lambda m: values.get(m.group(1), "1"), route)


def test_no_url_serves_lora_bytes(
    fast_engine, make_artist, make_user, token_client, api_client, client
):
    artist = make_artist("painter")
    style = train_style(artist)
    plaintext = vault.load_lora(style.lora_path, style_id=style.pk)
    with default_storage.open(style.lora_path, "rb") as handle:
        ciphertext = handle.read()
    secrets = [plaintext[8:200], ciphertext[16:200]]

    operator = make_user("boss", operator=True)
    client.force_login(operator)
    clients = [
        api_client,
        token_client(artist),
        token_client(make_user("buyer")),
        token_client(operator),
        client,
    ]
    values = {"style_id": str(style.pk), "position": "0", "path": style.lora_path, "seq": "0"}
    urls = {u for u in (_fill(r, values) for r in _routes(get_resolver().url_patterns)) if u}
    urls |= {
        f"/media/{style.lora_path}",
        f"/static/../var/media/{style.lora_path}",
        f"/en/admin/styles/style/{style.pk}/change/",
    }
    assert len(urls) > 40
    for http in clients:
        for url in sorted(urls):
            if url.endswith("/events") or "logout" in url:
                continue
            response = http.get(url)
            body = b"".join(response.streaming_content) if response.streaming else response.content
            for secret in secrets:
                assert secret not in body, (url, response.status_code)
    run_jobs("training")
