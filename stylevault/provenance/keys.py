"""The platform's Ed25519 signing key for tree heads.

``STYLEVAULT_SIGNING_KEY`` holds it: a PKCS#8 PEM private key, or the raw 32-byte private
key in base64. Without it, the key is read from ``<data dir>/keys/provenance-ed25519.pem``,
which is generated once (mode 0600) in embedded mode. In production that file is not made
up on the fly: every web and worker process must sign with the same key, so the key comes
from the environment (or a file an operator placed there); otherwise signing refuses with a
clear configuration error (and ``stylevault check --deploy`` reports it).
"""

from __future__ import annotations

import base64
import binascii
import os
import threading
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from stylevault.core import keyfiles
from stylevault.provenance import signing

ENV_VAR = "STYLEVAULT_SIGNING_KEY"
FILE_NAME = "provenance-ed25519.pem"

_lock = threading.Lock()
_cache: dict[tuple[str, str], Ed25519PrivateKey] = {}


def key_path() -> Path:
    return keyfiles.key_path(FILE_NAME)


def parse_private_key(text: str) -> Ed25519PrivateKey:
    """A PEM (PKCS#8) Ed25519 private key, or its raw 32 bytes in (URL-safe) base64."""
    text = text.strip()
    if text.startswith("-----BEGIN"):
        try:
            key = serialization.load_pem_private_key(text.encode(), password=None)
        except (ValueError, TypeError) as exc:
            raise ImproperlyConfigured(f"{ENV_VAR} is not a readable PEM private key") from exc
        if not isinstance(key, Ed25519PrivateKey):
            raise ImproperlyConfigured(f"{ENV_VAR} must be an Ed25519 key")
        return key
    try:
        raw = base64.b64decode(text.replace("-", "+").replace("_", "/"), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ImproperlyConfigured(
            f"{ENV_VAR} must be a PEM private key or 32 bytes in base64"
        ) from exc
    if len(raw) != 32:
        raise ImproperlyConfigured(f"{ENV_VAR} must hold 32 bytes in base64, not {len(raw)}")
    return Ed25519PrivateKey.from_private_bytes(raw)


def _pem(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _load_file(path: Path) -> Ed25519PrivateKey:
    if not path.exists():
        if getattr(settings, "PRODUCTION", False):
            raise ImproperlyConfigured(
                f"No provenance signing key: set {ENV_VAR} (an Ed25519 private key, PEM or "
                f"base64) or place the key at {path}"
            )
        keyfiles.create_once(path, _pem(Ed25519PrivateKey.generate()))
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured(f"{path} is not a readable PEM private key") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise ImproperlyConfigured(f"{path} must hold an Ed25519 key")
    return key


def signing_key() -> Ed25519PrivateKey:
    env = os.environ.get(ENV_VAR, "").strip()
    path = key_path()
    cache_key = (env, str(path))
    with _lock:
        key = _cache.get(cache_key)
        if key is None:
            key = parse_private_key(env) if env else _load_file(path)
            _cache[cache_key] = key
        return key


def public_key() -> Ed25519PublicKey:
    return signing_key().public_key()


def public_key_pem() -> str:
    return (
        public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def public_key_raw() -> bytes:
    return public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id() -> str:
    return signing.key_id(public_key())


def configured() -> bool:
    """Whether signing can work without making up a key (for the deployment check)."""
    return bool(os.environ.get(ENV_VAR, "").strip()) or key_path().exists()
