"""Provenance fixtures: a signing key per test (never the developer's), and a way to get
past the append-only triggers the way an attacker with database rights would."""

from __future__ import annotations

import base64
import contextlib

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.db import connection

from stylevault.provenance import keys


@pytest.fixture(autouse=True)
def signing_key(monkeypatch, settings, tmp_path) -> Ed25519PrivateKey:
    """A fresh platform key from the environment, and a data dir of the test's own."""
    key = Ed25519PrivateKey.generate()
    raw = key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    monkeypatch.setenv(keys.ENV_VAR, base64.b64encode(raw).decode())
    settings.DATA_DIR = tmp_path / "data"
    return key


@contextlib.contextmanager
def triggers_disabled(table: str):
    """What a superuser could do: switch the table's guard off, then back on."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
            yield cursor
            cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")
            return
        cursor.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = %s",
            [table],
        )
        saved = cursor.fetchall()
        assert saved, f"no triggers on {table}"
        for name, _sql in saved:
            cursor.execute(f'DROP TRIGGER "{name}"')
        yield cursor
        for _name, sql in saved:
            cursor.execute(sql)
