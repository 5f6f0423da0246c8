"""`stylevault backup DIR` and `stylevault restore DIR`: a consistent copy of a running
instance (database, media, keys) and its restore into an empty data directory.

Consistent while the instance runs: the database is copied first, as one snapshot (SQLite's
online backup API; `pg_dump`, one transaction, on PostgreSQL), then the media files (only
ever added, so every file a row of the snapshot names is there) and the keys (made once,
never changed). Keys that come from the environment are not copied: the manifest keeps their
SHA-256, and restore refuses to go on unless the environment holds the same keys, since
without them no LoRA can be decrypted and the provenance log cannot be verified.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import connection
from django.utils.translation import gettext as _

from stylevault.core import errors
from stylevault.provenance import keys as provenance_keys
from stylevault.provenance import manifests
from stylevault.styles import vault

MANIFEST = "stylevault-backup.json"
SQLITE_FILE = "stylevault.sqlite3"
PG_FILE = "database.pgdump"
FORMAT = 1
# Data-directory files that are secrets of the instance (in embedded mode).
SECRET_FILE = Path("secret_key")
# The keys without which a restored instance cannot read or prove what it holds.
ENVIRONMENT_KEYS = (vault.ENV_VAR, provenance_keys.ENV_VAR, manifests.KEY_ENV)


@dataclass
class BackupReport:
    database: str
    media_files: int = 0
    key_files: list[str] = field(default_factory=list)
    environment_keys: list[str] = field(default_factory=list)


def _data_dir() -> Path:
    return Path(settings.DATA_DIR)


def _media_root() -> Path | None:
    """The media folder when images live on this disk; None with object storage (S3)."""
    backend = settings.STORAGES["default"]["BACKEND"]
    if not backend.endswith("FileSystemStorage"):
        return None
    return Path(
        settings.STORAGES["default"].get("OPTIONS", {}).get("location", settings.MEDIA_ROOT)
    )


def _fingerprint(value: str) -> str:
    return hashlib.sha256(value.strip().encode()).hexdigest()


def backup(target: Path) -> BackupReport:
    """Writes a backup of this instance into `target` (new or empty)."""
    target = Path(target)
    if target.exists() and any(target.iterdir()):
        raise errors.Conflict(_("The backup folder must be new or empty."))
    target.mkdir(parents=True, exist_ok=True, mode=0o700)
    report = BackupReport(database=connection.vendor)
    _dump_database(target)
    media = _media_root()
    if media is not None and media.is_dir():
        shutil.copytree(media, target / "media", dirs_exist_ok=True)
        report.media_files = sum(1 for p in (target / "media").rglob("*") if p.is_file())
    report.key_files = _copy_keys(_data_dir(), target)
    environment = {
        name: _fingerprint(os.environ[name])
        for name in ENVIRONMENT_KEYS
        if os.environ.get(name, "").strip()
    }
    report.environment_keys = sorted(environment)
    manifest = {
        "format": FORMAT,
        "database": report.database,
        "media": "copied" if media is not None else "object storage (not copied)",
        "media_files": report.media_files,
        "key_files": report.key_files,
        "environment_keys_sha256": environment,
    }
    (target / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    return report


def _dump_database(target: Path) -> None:
    if connection.vendor == "sqlite":
        source = sqlite3.connect(settings.DATABASES["default"]["NAME"], timeout=30)
        copy = sqlite3.connect(target / SQLITE_FILE)
        try:
            source.backup(copy)  # one consistent snapshot, writers go on meanwhile
        finally:
            copy.close()
            source.close()
        return
    _run_pg(["pg_dump", "--format=custom", "--no-owner", "--file", str(target / PG_FILE)])


def _run_pg(command: list[str]) -> None:
    """pg_dump / pg_restore against this instance's database (libpq's PG* variables)."""
    db = settings.DATABASES["default"]
    env = {
        **os.environ,
        "PGHOST": db.get("HOST") or "127.0.0.1",
        "PGPORT": str(db.get("PORT") or 5432),
        "PGUSER": db.get("USER") or "",
        "PGPASSWORD": db.get("PASSWORD") or "",
        "PGDATABASE": db["NAME"],
    }
    if shutil.which(command[0]) is None:
        raise errors.Conflict(
            _("%(tool)s is not installed; see docs/operations.md, Backups.") % {"tool": command[0]}
        )
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise errors.Conflict(
            _("%(tool)s failed: %(error)s") % {"tool": command[0], "error": result.stderr[-500:]}
        )


def _copy_keys(source: Path, target: Path) -> list[str]:
    copied = []
    keys = source / "keys"
    if keys.is_dir():
        shutil.copytree(keys, target / "keys", dirs_exist_ok=True)
        copied += [f"keys/{p.relative_to(keys)}" for p in keys.rglob("*") if p.is_file()]
    if (source / SECRET_FILE).is_file():
        shutil.copy2(source / SECRET_FILE, target / SECRET_FILE)
        copied.append(str(SECRET_FILE))
    return sorted(copied)


def restore(source: Path) -> dict:
    """Restores a backup into this instance's data directory and database, which must hold
    nothing yet (this command's own start may have made a fresh secret_key: it is replaced)."""
    source = Path(source)
    manifest_file = source / MANIFEST
    if not manifest_file.is_file():
        raise errors.NotFound(_("No StyleVault backup in that folder."))
    manifest = json.loads(manifest_file.read_text())
    if manifest.get("database") != connection.vendor:
        raise errors.Conflict(
            _("This backup is of a %(backup)s database; this instance uses %(here)s.")
            % {"backup": manifest.get("database"), "here": connection.vendor}
        )
    _check_environment_keys(manifest.get("environment_keys_sha256", {}))
    _check_empty()
    _restore_database(source)
    data = _data_dir()
    media = _media_root()
    if media is not None and (source / "media").is_dir():
        shutil.copytree(source / "media", media, dirs_exist_ok=True)
    if (source / "keys").is_dir():
        shutil.copytree(source / "keys", data / "keys", dirs_exist_ok=True)
        os.chmod(data / "keys", 0o700)
    if (source / SECRET_FILE).is_file():
        shutil.copy2(source / SECRET_FILE, data / SECRET_FILE)
    return manifest


def _check_environment_keys(expected: dict[str, str]) -> None:
    for name, digest in sorted(expected.items()):
        value = os.environ.get(name, "")
        if not value.strip() or _fingerprint(value) != digest:
            raise errors.Conflict(
                _(
                    "The backup was made with %(name)s from the environment: set the same key "
                    "before restoring, or encrypted styles and the provenance log are unreadable."
                )
                % {"name": name}
            )


def _check_empty() -> None:
    tables = set(connection.introspection.table_names())
    if "django_migrations" in tables:
        raise errors.Conflict(_("This instance already has a database: restore into an empty one."))
    for folder in (_data_dir() / "keys", _media_root()):
        if folder is not None and folder.is_dir() and any(folder.iterdir()):
            raise errors.Conflict(
                _("The data directory already holds keys or media: use an empty one.")
            )


def _restore_database(source: Path) -> None:
    if connection.vendor == "sqlite":
        connection.close()
        backup_db = sqlite3.connect(source / SQLITE_FILE)
        live = sqlite3.connect(settings.DATABASES["default"]["NAME"], timeout=30)
        try:
            backup_db.backup(live)
        finally:
            live.close()
            backup_db.close()
        return
    connection.close()
    name = settings.DATABASES["default"]["NAME"]
    _run_pg(
        ["pg_restore", "--no-owner", "--exit-on-error", "--dbname", name, str(source / PG_FILE)]
    )
