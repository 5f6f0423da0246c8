"""A real `stylevault serve` (embedded mode, SQLite) on a seeded data directory, driven over
real sockets the way an attacker would."""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "correct horse battery 9"

# Run in a child with the server's environment: accounts, a published style (no worker runs,
# so nothing is rendered), one queued generation, an artist application, a token.
_SEED = """
import io, json, django
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
call_command("createcachetable", verbosity=0)
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image
from stylevault.accounts import services as accounts
from stylevault.generation import services as generation
from stylevault.ledger import services as ledger
from stylevault.styles.models import Style
P = %(password)r
buyer = accounts.create_user(username="buyer", password=P)
accounts.create_user(username="operator", password=P, operator=True)
artist = accounts.create_user(username="demo-artist", password=P, artist=True)
applicant = accounts.create_user(username="applicant", password=P)
call_command("grant-credits", "buyer", "1000", reason="abuse suite")
style = Style.objects.create(
    artist=artist, name="Ink", price_per_image=1, status="published", published_at=timezone.now()
)
made = generation.request_generation(
    user=buyer, body={"styles": [{"id": style.pk}], "prompt": "a red house"}
)
png = io.BytesIO()
Image.new("RGB", (300, 120), (20, 20, 20)).save(png, "PNG")
application = accounts.apply_for_artist(
    user=applicant,
    contact_email="applicant@example.com",
    signature=SimpleUploadedFile("sig.png", png.getvalue(), content_type="image/png"),
)
print(json.dumps({
    "token": accounts.create_token(user=buyer, name="abuse")[1],
    "style_id": style.pk,
    "generation_id": made.pk,
    "application_id": application.pk,
}))
"""


@dataclass
class Live:
    url: str
    port: int
    pid: int
    data_dir: Path
    seeded: dict

    def db(self) -> sqlite3.Connection:
        return sqlite3.connect(self.data_dir / "stylevault.sqlite3", timeout=30)

    def forget_rate_counts(self) -> None:
        with contextlib.closing(self.db()) as db, db:
            db.execute("DELETE FROM ops_ratecounter")

    def rss_kb(self, field: str = "VmRSS") -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
        raise LookupError(field)

    def open_database_files(self) -> int:
        """Descriptors the server holds on its SQLite database file."""
        count = 0
        for fd in Path(f"/proc/{self.pid}/fd").iterdir():
            with contextlib.suppress(OSError):
                if os.readlink(fd).endswith("stylevault.sqlite3"):
                    count += 1
        return count


def _environment(data_dir: Path, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "stylevault.settings",
        "STYLEVAULT_DATA_DIR": str(data_dir),
        "DATABASE_URL": "",
        "STYLEVAULT_REDIS_URL": "",
        "STYLEVAULT_BROKER_URL": "",
        "STYLEVAULT_LOG_FORMAT": "text",
        "STYLEVAULT_TRUSTED_PROXIES": "",
        **extra,
    }


@pytest.fixture(scope="session")
def seeded_dir(tmp_path_factory) -> tuple[Path, dict]:
    """One seeded data directory; each server starts on a copy of it."""
    data_dir = tmp_path_factory.mktemp("abuse-seed")
    out = subprocess.run(
        [sys.executable, "-c", _SEED % {"password": PASSWORD}],
        env=_environment(data_dir),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return data_dir, json.loads(out.stdout.strip().splitlines()[-1])


@contextlib.contextmanager
def serve(seed: tuple[Path, dict], where: Path, **env: str):
    source, seeded = seed
    data_dir = where / "data"
    shutil.copytree(source, data_dir)
    port = free_port()
    log = (where / "serve.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "stylevault.cli", "serve", "--port", str(port)],
        env=_environment(data_dir, **env),
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, (where / "serve.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "the server did not answer in 60 s"
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        yield Live(url, port, server.pid, data_dir, seeded)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=15)
        log.close()


@pytest.fixture(scope="module")
def live(seeded_dir, tmp_path_factory):
    """The server as shipped: no trusted proxy, the documented limits."""
    with serve(seeded_dir, tmp_path_factory.mktemp("abuse")) as server:
        yield server


@pytest.fixture
def fresh_limits(live):
    """Each test starts with no request counted (they share the server and 127.0.0.1)."""
    live.forget_rate_counts()
    yield live
    live.forget_rate_counts()


def png_bytes(width: int, height: int, mode: str = "L") -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new(mode, (width, height), 255).save(out, "PNG", optimize=True)
    return out.getvalue()
