"""Content Credentials for delivered images: the C2PA signer this deployment uses, and the
licence text and certificate link each manifest carries.

Real certificates come from STYLEVAULT_C2PA_CERT_CHAIN and STYLEVAULT_C2PA_PRIVATE_KEY (PEM
file paths); without them the embedded mode signs with a test CA made once in the data
directory (see docs/c2pa.md). Production refuses to make one up.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from stylevault.core import keyfiles

CHAIN_ENV, KEY_ENV, ANCHORS_ENV = (
    "STYLEVAULT_C2PA_CERT_CHAIN",
    "STYLEVAULT_C2PA_PRIVATE_KEY",
    "STYLEVAULT_C2PA_TRUST_ANCHORS",
)
_lock = threading.Lock()
_cache: dict[str, object] = {}


def _test_ca_dir() -> Path:
    return keyfiles.key_path("c2pa")


def signer():
    """The ManifestSigner for this process (made once)."""
    # c2pa-python loads its native library on import; only a process that signs needs it.
    from stylevault.engine.c2pa import ManifestSigner, make_test_ca

    with _lock:
        if "signer" not in _cache:
            chain, key = os.environ.get(CHAIN_ENV, ""), os.environ.get(KEY_ENV, "")
            if chain and key:
                _cache["signer"] = ManifestSigner.from_files(Path(chain), Path(key))
            elif getattr(settings, "PRODUCTION", False):
                raise ImproperlyConfigured(
                    f"C2PA signing needs {CHAIN_ENV} and {KEY_ENV} in production (docs/c2pa.md)"
                )
            else:
                _cache["signer"] = ManifestSigner.from_material(make_test_ca(_test_ca_dir()))
        return _cache["signer"]


def trust_anchors_pem() -> str | None:
    """The roots a verifier trusts: the configured file, else the embedded test CA's root."""
    path = os.environ.get(ANCHORS_ENV, "")
    if path:
        return Path(path).read_text()
    root = _test_ca_dir() / "root.pem"
    return root.read_text() if root.exists() else None


def license_text(buyer: str) -> str:
    return f"StyleVault standard licence, per image, granted to {buyer}"


def certificate_path(mark: int) -> str:
    return f"/certificates/{mark:012x}"


def certificate_url(mark: int) -> str:
    return settings.STYLEVAULT_PUBLIC_URL.rstrip("/") + certificate_path(mark)
