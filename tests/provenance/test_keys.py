"""Where the platform's signing key comes from."""

from __future__ import annotations

import base64
import stat
import threading

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.exceptions import ImproperlyConfigured

from stylevault.provenance import checks, keys


def _raw(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def test_the_key_comes_from_the_environment_as_base64(signing_key):
    assert keys.public_key_raw() == _raw(signing_key)
    assert not keys.key_path().exists()


def test_the_key_comes_from_the_environment_as_pem(monkeypatch):
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    monkeypatch.setenv(keys.ENV_VAR, pem)
    assert keys.public_key_raw() == _raw(key)
    assert keys.public_key_pem().startswith("-----BEGIN PUBLIC KEY-----")


@pytest.mark.parametrize(
    "value",
    [
        "not base64!",
        base64.b64encode(b"short").decode(),
        "-----BEGIN PRIVATE KEY-----\ngarbage\n-----END PRIVATE KEY-----",
    ],
)
def test_a_malformed_key_is_a_clear_configuration_error(monkeypatch, value):
    monkeypatch.setenv(keys.ENV_VAR, value)
    with pytest.raises(ImproperlyConfigured, match=keys.ENV_VAR):
        keys.signing_key()


def test_a_non_ed25519_pem_is_refused(monkeypatch):
    from cryptography.hazmat.primitives.asymmetric import ec

    pem = (
        ec.generate_private_key(ec.SECP256R1())
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )
    monkeypatch.setenv(keys.ENV_VAR, pem)
    with pytest.raises(ImproperlyConfigured, match="Ed25519"):
        keys.signing_key()


def test_embedded_mode_generates_one_key_file_readable_only_by_its_owner(monkeypatch):
    monkeypatch.delenv(keys.ENV_VAR)
    path = keys.key_path()
    assert not path.exists()
    # Several threads asking at once agree on one key.
    found: list[bytes] = []
    threads = [
        threading.Thread(target=lambda: found.append(keys.public_key_raw())) for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(found)) == 1
    assert path.exists()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert [p.name for p in path.parent.iterdir()] == [keys.FILE_NAME]
    # Another process (an empty cache) reads the same file.
    keys._cache.clear()
    assert keys.public_key_raw() == found[0]
    loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
    assert isinstance(loaded, Ed25519PrivateKey)


def test_production_never_makes_up_a_key(monkeypatch, settings):
    monkeypatch.delenv(keys.ENV_VAR)
    settings.PRODUCTION = True
    with pytest.raises(ImproperlyConfigured, match=keys.ENV_VAR):
        keys.signing_key()
    assert not keys.key_path().exists()
    assert [e.id for e in checks.signing_key_configured()] == ["provenance.E001"]
    monkeypatch.setenv(keys.ENV_VAR, "bad")
    assert [e.id for e in checks.signing_key_configured()] == ["provenance.E002"]
    monkeypatch.setenv(
        keys.ENV_VAR, base64.b64encode(Ed25519PrivateKey.generate().private_bytes_raw()).decode()
    )
    assert checks.signing_key_configured() == []
    settings.PRODUCTION = False
    monkeypatch.delenv(keys.ENV_VAR)
    assert checks.signing_key_configured() == []
