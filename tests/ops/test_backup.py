"""`stylevault backup` of an instance under load, restored elsewhere: the books balance, the
provenance log verifies, encrypted files decrypt with the restored keys, and a restore never
lands on top of an instance that holds data."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LOAD_SECONDS = 25

SETUP = """
import hashlib, json
from django.core.management import call_command
call_command("migrate", interactive=False, verbosity=0)
from stylevault.accounts.services import create_user
from stylevault.ledger import services as ledger
from stylevault.provenance import services as provenance
from stylevault.styles import vault
user = create_user(username="collector", password="correct horse battery 9")
ledger.grant_credits(user=user, amount=50, reason="backup test")
provenance.record_event(kind="backup_test", subject=user, payload={"n": 0})
provenance.sign_tree_head()
weights = b"lora weights " * 1000
path = vault.store_lora(weights, style_id=7, sha256=hashlib.sha256(weights).hexdigest())
print(json.dumps({"path": path, "user": user.pk}))
"""

# Writes until a file appears: credit grants (ledger) and events (provenance), each a commit.
LOAD = """
import pathlib, time
from django.db import transaction
from stylevault.accounts.models import User
from stylevault.ledger import services as ledger
from stylevault.provenance import services as provenance
user, n, stop = User.objects.get(username="collector"), 0, pathlib.Path({stop!r})
deadline = time.monotonic() + {seconds}
while not stop.exists() and time.monotonic() < deadline:
    n += 1
    ledger.grant_credits(user=user, amount=1, reason=f"load {{n}}")
    with transaction.atomic():
        provenance.record_event(kind="backup_test", subject=user, payload={{"n": n}})
    if n % 20 == 0:
        provenance.sign_tree_head()
print(n)
"""

CHECK = """
import json
from stylevault.accounts.models import User
from stylevault.provenance.models import Event
from stylevault.styles import vault
found = {{
    "weights": vault.load_lora({path!r}, style_id=7) == b"lora weights " * 1000,
    "users": list(User.objects.values_list("username", flat=True)),
    "events": Event.objects.filter(kind="backup_test").count(),
}}
print(json.dumps(found))
"""


@dataclass(frozen=True)
class Instance:
    data_dir: Path
    database_url: str = ""  # '': SQLite in the data directory


def _env(instance: Instance) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STYLEVAULT_", "DATABASE_URL"))}
    return {
        **env,
        "DATABASE_URL": instance.database_url,
        "STYLEVAULT_DATA_DIR": str(instance.data_dir),
    }


@pytest.fixture(params=["sqlite", "postgresql"])
def instances(request, tmp_path):
    """Makes instances with a database of their own: SQLite files, or (in the PostgreSQL
    phase) fresh PostgreSQL databases, dropped afterwards."""
    made: list[str] = []
    server = os.environ.get("DATABASE_URL", "")
    if request.param == "postgresql" and not server.startswith("postgres"):
        pytest.skip("the PostgreSQL phase of `make test` runs it")

    def make(name: str) -> Instance:
        if request.param == "sqlite":
            return Instance(tmp_path / name)
        database = f"sv_ops_backup_{uuid.uuid4().hex[:8]}"
        _psql(server, f'CREATE DATABASE "{database}"')
        made.append(database)
        return Instance(tmp_path / name, f"{server.rsplit('/', 1)[0]}/{database}")

    yield make
    for database in made:
        _psql(server, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def _psql(server: str, statement: str) -> None:
    subprocess.run(
        ["psql", f"{server.rsplit('/', 1)[0]}/postgres", "-qc", statement],
        check=True,
        capture_output=True,
    )


def _run(instance: Instance, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, "-m", "stylevault.cli", *args],
        env=_env(instance),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )
    if check:
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    return result


def _shell(instance: Instance, code: str) -> str:
    return _run(instance, "shell", "--no-imports", "-c", code).stdout.strip().splitlines()[-1]


def test_a_backup_under_load_restores_elsewhere_with_books_log_and_keys_intact(tmp_path, instances):
    source, restored, backup = instances("source"), instances("restored"), tmp_path / "backup"
    made = json.loads(_shell(source, SETUP))
    stop = tmp_path / "stop-load"
    load = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "stylevault.cli",
            "shell",
            "--no-imports",
            "-c",
            LOAD.format(stop=str(stop), seconds=LOAD_SECONDS),
        ],
        env=_env(source),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        time.sleep(4)  # the writer is running (Django's start, then commits)
        assert load.poll() is None, load.communicate()
        out = _run(source, "backup", str(backup)).stdout
        assert load.poll() is None, "the backup was taken while the writer wrote"
    finally:
        stop.touch()
        written, errors = load.communicate(timeout=60)
    assert load.returncode == 0, errors[-3000:]
    assert "media files" in out

    manifest = json.loads((backup / "stylevault-backup.json").read_text())
    assert manifest["database"] == ("postgresql" if source.database_url else "sqlite")
    assert manifest["media_files"] == 1
    assert {"keys/lora-aes256.key", "keys/provenance-ed25519.pem"} <= set(manifest["key_files"])

    _run(restored, "restore", str(backup))
    assert "OK" in _run(restored, "ledger", "check").stdout
    assert "provenance verify OK" in _run(restored, "provenance", "verify").stdout
    found = json.loads(_shell(restored, CHECK.format(path=made["path"])))
    assert found["weights"], "the LoRA decrypts with the restored key"
    assert found["users"] == ["collector"]
    assert 1 < found["events"] < 1 + int(written), "a snapshot from the middle of the load"

    refused = _run(restored, "restore", str(backup), check=False)
    assert refused.returncode == 1
    assert "already has a database" in refused.stderr


def test_restore_refuses_a_folder_that_is_no_backup_and_backup_a_full_folder(tmp_path):
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "something").write_text("x")
    instance = Instance(tmp_path / "data")
    refused = _run(instance, "backup", str(tmp_path / "full"), check=False)
    assert (refused.returncode, "new or empty" in refused.stderr) == (1, True)
    refused = _run(instance, "restore", str(tmp_path / "nothing"), check=False)
    assert (refused.returncode, "No StyleVault backup" in refused.stderr) == (1, True)


def test_restore_refuses_without_the_environment_keys_the_backup_was_made_with(tmp_path):
    key_env = "STYLEVAULT_LORA_KEY"
    backup = tmp_path / "backup"
    backup.mkdir()
    (backup / "stylevault-backup.json").write_text(
        json.dumps({"database": "sqlite", "environment_keys_sha256": {key_env: "0" * 64}})
    )
    refused = _run(Instance(tmp_path / "data"), "restore", str(backup), check=False)
    assert refused.returncode == 1
    assert f"made with {key_env} from the environment" in refused.stderr
