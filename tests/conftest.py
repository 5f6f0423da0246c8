"""Fixtures shared by every app's tests. The same suite runs on SQLite and PostgreSQL
(DATABASE_URL decides); `on_postgres` / `on_sqlite` tell tests which one is under them."""

from __future__ import annotations

import time

import pytest
from django.db import connection
from rest_framework.test import APIClient

PASSWORD = "correct horse battery 9"


@pytest.fixture(autouse=True)
def _private_media(settings, tmp_path):
    """Each test writes files into its own folder, never into the developer's data dir."""
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "media")},
        },
    }
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _fresh_rate_limits(request):
    """Rate-limit counters must not leak between tests (they live in the database, and what
    this process counted ahead in its memory)."""
    from stylevault.core import ratelimit

    ratelimit.forget_spare()
    yield
    if request.node.get_closest_marker("django_db") or {"db", "transactional_db"} & set(
        request.fixturenames
    ):
        from stylevault.ops.models import RateCounter

        RateCounter.objects.all().delete()


@pytest.fixture
def steady_rate_clock(monkeypatch):
    """Holds the rate limiter's clock in the middle of a minute and of a five-minute window,
    so a test that counts up to a limit never sees its window roll over half-way."""
    from stylevault.core import ratelimit

    monkeypatch.setattr(ratelimit, "_now", lambda: 1_800_000_150.0)


@pytest.fixture(autouse=True)
def _fresh_process_indexes():
    """Per-process lookup indexes are rebuilt from rows; each test starts from empty tables."""
    from stylevault.core import readcache
    from stylevault.provenance import fingerprints
    from stylevault.styles import selectors

    fingerprints.forget_index()
    selectors.forget_indexes()
    readcache.clear_all()
    yield


def on_postgres() -> bool:
    return connection.vendor == "postgresql"


def on_sqlite() -> bool:
    return connection.vendor == "sqlite"


def eventually(check, seconds: float = 5.0, pause: float = 0.02) -> None:
    """Waits until `check()` is true, failing the test after `seconds`."""
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "did not happen in time"
        time.sleep(pause)


@pytest.fixture
def make_user(db):
    from stylevault.accounts import services

    def make(username: str = "alice", *, artist: bool = False, operator: bool = False):
        return services.create_user(
            username=username, password=PASSWORD, artist=artist, operator=operator
        )

    return make


@pytest.fixture
def user(make_user):
    return make_user("alice")


@pytest.fixture
def api_client() -> APIClient:
    return APIClient(enforce_csrf_checks=True)


@pytest.fixture
def token_client(db):
    """An API client authenticated with a fresh personal token of the given user."""
    from stylevault.accounts import services

    def make(user) -> APIClient:
        _token, raw = services.create_token(user=user, name="test")
        client = APIClient(enforce_csrf_checks=True)
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
        return client

    return make


def assert_error(response, status: int, code: str) -> dict:
    """API.md's envelope with the documented code; returns the error object."""
    assert response.status_code == status, (response.status_code, response.content[:500])
    body = response.json()
    assert set(body) == {"error"}, body
    assert body["error"]["code"] == code, body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"], body
    return body["error"]


# -- styles and generation: a fast engine, artists with signatures, jobs run in this process --

FAST_TRAINING = {"steps": 8, "rank": 4, "resolution": 64, "learning_rate": 1e-2}
FAST_CHECKS = {
    "reference_steps": 3,
    "reference_size": 64,
    "reference_prompts": ["a cat on a roof", "a red house"],
}


@pytest.fixture
def fast_engine(settings):
    """Tiny training and checks, so a style trains and publishes in seconds on a CPU."""
    settings.STYLEVAULT_TRAINING = FAST_TRAINING
    settings.STYLEVAULT_STYLE_CHECKS = FAST_CHECKS
    return settings


def png_upload(image, name: str = "work.png", fmt: str = "PNG"):
    import io

    from django.core.files.uploadedfile import SimpleUploadedFile

    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    content_type = "image/png" if fmt == "PNG" else "image/jpeg"
    return SimpleUploadedFile(name, buffer.getvalue(), content_type=content_type)


@pytest.fixture
def make_artist(make_user):
    """An approved artist with a signature on file, as the artist application leaves them."""
    from PIL import Image, ImageDraw

    from stylevault.accounts import services

    def make(username: str = "painter"):
        operator = services.create_user(username=f"op-{username}", password=PASSWORD, operator=True)
        applicant = make_user(username)
        signature = Image.new("RGB", (240, 80), "white")
        ImageDraw.Draw(signature).text((10, 30), username, fill="black")
        application = services.apply_for_artist(
            user=applicant,
            contact_email=f"{username}@example.com",
            signature=png_upload(signature, "sig.png"),
        )
        services.decide_application(operator=operator, application_id=application.pk, approve=True)
        applicant.refresh_from_db()
        return applicant

    return make


def run_jobs(*queues: str, limit: int = 20) -> list[str]:
    """Claims and runs queued jobs of these queues in this process until none is left."""
    from stylevault.jobs import runner, services

    outcomes = []
    for _ in range(limit):
        job = services.claim(queues=list(queues), worker="test-worker")
        if job is None:
            break
        outcomes.append(runner.execute(job))
    return outcomes
