"""Over HTTP on a running `stylevault up`: the demo style, a generation streamed to the end,
the delivered file, and the money on both sides."""

from __future__ import annotations

import io
import json
import time

import httpx
import pytest
from PIL import Image

pytestmark = pytest.mark.e2e
DEMO_PASSWORD = "stylevault-demo"


def _token(url: str, username: str) -> dict:
    with httpx.Client(base_url=url) as client:
        login = client.post(
            "/api/v1/auth/login", json={"username": username, "password": DEMO_PASSWORD}
        )
        assert login.status_code == 200, login.text
        csrf = client.cookies.get("csrftoken", "")
        made = client.post(
            "/api/v1/auth/tokens",
            json={"name": "e2e"},
            headers={"X-CSRFToken": csrf, "Referer": url},
        )
        assert made.status_code == 201, made.text
        return {"Authorization": f"Bearer {made.json()['token']}"}


def _demo_style(url: str) -> dict:
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        found = httpx.get(f"{url}/api/v1/styles", params={"q": "Ink Hills"}).json()["results"]
        if found:
            return found[0]
        time.sleep(1)
    raise AssertionError("the demo style was not published within 5 minutes")


def _events(url: str, headers: dict, generation_id: int) -> list[tuple[str, dict]]:
    events, name = [], None
    with httpx.stream(
        "GET", f"{url}/api/v1/generations/{generation_id}/events", headers=headers, timeout=300
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        for line in response.iter_lines():
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: "):
                events.append((name, json.loads(line[6:])))
                if name == "status":
                    break
    return events


def test_generation_end_to_end(live_server_url):
    style = _demo_style(live_server_url)
    buyer = _token(live_server_url, "demo-buyer")
    artist = _token(live_server_url, "demo-artist")
    balance = httpx.get(f"{live_server_url}/api/v1/wallet", headers=buyer).json()["balance"]
    earned = httpx.get(f"{live_server_url}/api/v1/earnings", headers=artist).json()["balance"]

    body = {
        "styles": [{"id": style["id"], "weight": 1}],
        "prompt": "a harbour at dusk",
        "aspect_ratio": "3:4",
        "steps": 12,
    }
    created = httpx.post(f"{live_server_url}/api/v1/generations", json=body, headers=buyer)
    assert created.status_code == 202, created.text
    generation = created.json()

    events = _events(live_server_url, buyer, generation["id"])
    progress = [data for name, data in events if name == "progress"]
    assert progress and all(0 < p["step"] <= p["total"] for p in progress)
    final = events[-1]
    assert final[0] == "status" and final[1]["status"] == "succeeded", events[-1]

    image = final[1]["images"][0]
    file = httpx.get(f"{live_server_url}{image['url']}", headers=buyer)
    assert file.status_code == 200
    picture = Image.open(io.BytesIO(file.content))
    assert abs(picture.width / picture.height - 3 / 4) < 0.05
    assert httpx.get(f"{live_server_url}{image['url']}").status_code == 404  # private by default

    after = httpx.get(f"{live_server_url}/api/v1/wallet", headers=buyer).json()
    assert after == {"balance": balance - generation["cost"], "held": 0, "debt": 0}
    assert (
        httpx.get(f"{live_server_url}/api/v1/earnings", headers=artist).json()["balance"]
        == earned + generation["cost"]
    )
