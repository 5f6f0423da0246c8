"""LoRA weights at rest: AES-256-GCM, bound to their style, in private storage.

The key is `STYLEVAULT_LORA_KEY` (32 bytes, base64). Without it the embedded mode generates
`<data dir>/keys/lora-aes256.key` once; production refuses to make one up, since every worker
must decrypt what any other encrypted. No view reads these files: only workers, through
`load_lora`, ever see the plaintext.
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from stylevault.core import keyfiles

ENV_VAR = "STYLEVAULT_LORA_KEY"
FILE_NAME = "lora-aes256.key"
_VERSION = b"SVL1"  # file header: format version, then the 12-byte nonce, then ciphertext
_NONCE_BYTES = 12


class LoraUnreadable(Exception):
    """The stored weights do not decrypt: a wrong key, or a corrupted or swapped file."""


def _decode_key(text: str, source: str) -> bytes:
    try:
        raw = base64.b64decode(text.strip().replace("-", "+").replace("_", "/"), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ImproperlyConfigured(f"{source} must hold 32 bytes in base64") from exc
    if len(raw) != 32:
        raise ImproperlyConfigured(f"{source} must hold 32 bytes in base64, not {len(raw)}")
    return raw


@lru_cache(maxsize=4)
def _key(env_value: str, path: str) -> bytes:
    if env_value:
        return _decode_key(env_value, ENV_VAR)
    file = keyfiles.key_path(FILE_NAME)
    if not file.exists():
        if getattr(settings, "PRODUCTION", False):
            raise ImproperlyConfigured(
                f"No LoRA encryption key: set {ENV_VAR} (32 bytes, base64) or place it at {file}"
            )
        keyfiles.create_once(file, base64.b64encode(secrets.token_bytes(32)))
    return _decode_key(file.read_text(), str(file))


def encryption_key() -> bytes:
    return _key(os.environ.get(ENV_VAR, "").strip(), str(settings.DATA_DIR))


def _aad(style_id: int) -> bytes:
    # Binding the ciphertext to its style stops one style's file being swapped for another's.
    return f"stylevault-lora:{style_id}".encode()


def seal(data: bytes, *, aad: bytes) -> bytes:
    """Encrypts private bytes at rest with this key, bound to `aad` (what they belong to).
    LoRA weights use it, and so do other private files such as uploaded portraits."""
    nonce = secrets.token_bytes(_NONCE_BYTES)
    return _VERSION + nonce + AESGCM(encryption_key()).encrypt(nonce, data, aad)


def unseal(blob: bytes, *, aad: bytes) -> bytes:
    """The plaintext of `seal`'s output; raises LoraUnreadable for a wrong key, AAD or file."""
    if not blob.startswith(_VERSION) or len(blob) < len(_VERSION) + _NONCE_BYTES + 16:
        raise LoraUnreadable("not an encrypted StyleVault file")
    nonce = blob[len(_VERSION) : len(_VERSION) + _NONCE_BYTES]
    try:
        return AESGCM(encryption_key()).decrypt(nonce, blob[len(_VERSION) + _NONCE_BYTES :], aad)
    except InvalidTag as exc:
        raise LoraUnreadable("the file does not decrypt with this key") from exc


def encrypt(weights: bytes, *, style_id: int) -> bytes:
    return seal(weights, aad=_aad(style_id))


def decrypt(blob: bytes, *, style_id: int) -> bytes:
    return unseal(blob, aad=_aad(style_id))


def store_lora(weights: bytes, *, style_id: int, sha256: str) -> str:
    """Encrypts and stores the weights; returns the private storage path."""
    name = f"private/loras/{style_id}/{sha256}.svl"
    if default_storage.exists(name):
        default_storage.delete(name)
    return default_storage.save(name, ContentFile(encrypt(weights, style_id=style_id)))


def load_lora(path: str, *, style_id: int) -> bytes:
    with default_storage.open(path, "rb") as handle:
        return decrypt(handle.read(), style_id=style_id)
