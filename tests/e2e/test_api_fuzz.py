"""Schemathesis over /api/v1/schema/ against the running server: no 5xx, and every documented
response matches the schema. Runs with a real bearer token, so authenticated paths are reached."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.conftest import PASSWORD
from tests.e2e.conftest import ARTIFACTS

pytestmark = pytest.mark.e2e


def bearer_token(url: str, username: str) -> str:
    with httpx.Client(base_url=url) as client:
        client.post("/api/v1/auth/signup", json={"username": username, "password": PASSWORD})
        client.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD})
        client.get("/en/me/")  # sets the CSRF cookie
        response = client.post(
            "/api/v1/auth/tokens",
            json={"name": "fuzz"},
            headers={"X-CSRFToken": client.cookies["csrftoken"], "Referer": url},
        )
        response.raise_for_status()
        return response.json()["token"]


def test_the_whole_api_survives_schemathesis(live_server_url):
    token = bearer_token(live_server_url, "fuzzer")
    ARTIFACTS.mkdir(exist_ok=True)
    result = subprocess.run(
        [
            sys.executable,
            str(Path(__file__).with_name("schemathesis_cli.py")),
            "run",
            f"{live_server_url}/api/v1/schema/?format=json",
            "--url",
            live_server_url,
            "--checks",
            "not_a_server_error,response_schema_conformance,content_type_conformance",
            "--header",
            f"Authorization: Bearer {token}",
            # Revoking its own token or logging out would end the run's authentication.
            "--exclude-path-regex",
            "auth/(tokens/|logout)",
            "--phases",
            "examples,coverage,fuzzing",
            "--max-time",
            "90",
            "--workers",
            "2",
            "--request-timeout",
            "30",
            "--report",
            "junit",
            "--report-dir",
            str(ARTIFACTS / "schemathesis"),
        ],
        capture_output=True,
        text=True,
        timeout=400,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
