"""C2PA Content Credentials with c2pa-python: signing delivered images, reading them back.

Pure (no Django). The embedded mode signs with a test CA made here once (root → intermediate →
signing certificate, ECDSA P-256, the profile C2PA requires: a CA-issued leaf with
digitalSignature and the emailProtection EKU); production uses real certificates
(docs/c2pa.md). A verifier trusts the chain only when its root is a configured trust anchor.
"""

from __future__ import annotations

import datetime
import io
import json
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

import c2pa
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

TRAINED_ALGORITHMIC_MEDIA = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
LICENSE_ASSERTION = "io.stylevault.license"
PARENT_LABEL = "parent"
_VALIDITY = datetime.timedelta(days=3650)
SIGNING_SETTINGS = {"builder": {"thumbnail": {"enabled": False}}}


@dataclass(frozen=True)
class SigningMaterial:
    chain_pem: bytes  # the signing certificate first, then intermediates (no root)
    key_pem: bytes
    root_pem: bytes | None = None


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "StyleVault (test CA)"),
        ]
    )


def _certificate(subject, issuer, public_key, signing_key, *, ca: bool, issuer_key=None, eku=None):
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + _VALIDITY)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=1 if ca else None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=not ca,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=ca,
                crl_sign=ca,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    )
    if issuer_key is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key), critical=False
        )
    if eku:
        builder = builder.add_extension(x509.ExtendedKeyUsage(eku), critical=False)
    return builder.sign(signing_key, hashes.SHA256())


def _pem(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)


def _write_private(path: Path, data: bytes) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.replace(temporary, path)


_ca_lock = threading.Lock()


def make_test_ca(directory: Path) -> SigningMaterial:
    """The embedded mode's CA and signing certificate in `directory`, made on first use."""
    directory = Path(directory)
    files = {n: directory / n for n in ("root.pem", "chain.pem", "signing-key.pem")}
    with _ca_lock:
        if not all(f.exists() for f in files.values()):
            root_key, middle_key, leaf_key = (
                ec.generate_private_key(ec.SECP256R1()) for _ in range(3)
            )
            root_name = _name("StyleVault Test Root CA")
            root = _certificate(root_name, root_name, root_key.public_key(), root_key, ca=True)
            middle = _certificate(
                _name("StyleVault Test Intermediate CA"),
                root_name,
                middle_key.public_key(),
                root_key,
                ca=True,
                issuer_key=root_key.public_key(),
            )
            leaf = _certificate(
                _name("StyleVault Content Credentials"),
                middle.subject,
                leaf_key.public_key(),
                middle_key,
                ca=False,
                issuer_key=middle_key.public_key(),
                eku=[ExtendedKeyUsageOID.EMAIL_PROTECTION],
            )
            key = leaf_key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            # The key and chain first: the root's presence marks the set as complete.
            _write_private(files["signing-key.pem"], key)
            _write_private(files["chain.pem"], _pem(leaf) + _pem(middle))
            _write_private(files["root.pem"], _pem(root))
    return SigningMaterial(
        chain_pem=files["chain.pem"].read_bytes(),
        key_pem=files["signing-key.pem"].read_bytes(),
        root_pem=files["root.pem"].read_bytes(),
    )


@dataclass(frozen=True)
class LicenseClaim:
    artist: str
    style: str
    license: str
    certificate_url: str
    image_id: str


class ManifestSigner:
    """Signs image bytes with a manifest: created by a trained algorithm, with the licence."""

    def __init__(self, material: SigningMaterial, *, algorithm: str = "es256") -> None:
        self.material = material
        self.algorithm = algorithm
        self._lock = threading.Lock()
        info = c2pa.C2paSignerInfo(algorithm.encode(), material.chain_pem, material.key_pem, None)
        self._signer = c2pa.Signer.from_info(info)
        # No embedded thumbnail: the image is its own preview, and rendering one cost ~45 ms
        # per image, most of the post-processing budget.
        self._context = c2pa.Context(c2pa.Settings.from_dict(SIGNING_SETTINGS))

    @classmethod
    def from_files(cls, chain: Path, key: Path) -> ManifestSigner:
        return cls(
            SigningMaterial(chain_pem=Path(chain).read_bytes(), key_pem=Path(key).read_bytes())
        )

    @classmethod
    def from_material(cls, material: SigningMaterial) -> ManifestSigner:
        return cls(material)

    def sign(
        self,
        data: bytes,
        *,
        mime_type: str,
        title: str,
        claim: LicenseClaim,
        ingredient: tuple[bytes, str, str] | None = None,
        edits: tuple[str, ...] = (),
    ) -> bytes:
        """`ingredient` (bytes, mime type, title): the image this one was made from, listed
        as its parent; `edits`: what was done to it, each recorded as a c2pa.edited action."""
        actions = [{"action": "c2pa.created", "digitalSourceType": TRAINED_ALGORITHMIC_MEDIA}]
        if ingredient is not None:
            actions = [
                {"action": "c2pa.opened", "parameters": {"ingredientIds": [PARENT_LABEL]}},
                *({"action": "c2pa.edited", "description": edit} for edit in edits),
            ]
        manifest = {
            "claim_generator_info": [{"name": "StyleVault", "version": "1"}],
            "title": title,
            "format": mime_type,
            "assertions": [
                {
                    "label": "c2pa.actions",
                    "data": {"actions": actions},
                },
                {"label": LICENSE_ASSERTION, "data": claim.__dict__},
            ],
        }
        output = io.BytesIO()
        with self._lock, c2pa.Builder(manifest, context=self._context) as builder:
            if ingredient is not None:
                source, source_type, source_title = ingredient
                builder.add_ingredient(
                    {"title": source_title, "relationship": "parentOf", "label": PARENT_LABEL},
                    source_type,
                    io.BytesIO(source),
                )
            builder.sign(self._signer, mime_type, io.BytesIO(data), output)
        return output.getvalue()


@dataclass(frozen=True)
class ManifestInfo:
    present: bool
    valid: bool = False
    trusted: bool = False
    state: str | None = None
    license: dict | None = None
    source_type: str | None = None
    codes: list[str] = field(default_factory=list)


def _context(trust_anchors_pem: str | None) -> c2pa.Context | None:
    if not trust_anchors_pem:
        return None
    settings = {"trust": {"trust_anchors": trust_anchors_pem}, "verify": {"verify_trust": True}}
    return c2pa.Context(c2pa.Settings.from_dict(settings))


def read_manifest(
    data: bytes, mime_type: str, trust_anchors_pem: str | None = None
) -> ManifestInfo:
    """The active manifest of `data`, validated (and trusted when its root is an anchor)."""
    try:
        reader = c2pa.Reader.try_create(
            mime_type, io.BytesIO(data), context=_context(trust_anchors_pem)
        )
    except c2pa.C2paError:
        return ManifestInfo(present=True, state="Invalid")
    if reader is None:
        return ManifestInfo(present=False)
    with reader:
        state = reader.get_validation_state()
        manifest = reader.get_active_manifest() or {}
        results = reader.get_validation_results() or {}
    assertions = {a.get("label", ""): a.get("data") for a in manifest.get("assertions", [])}
    actions = next((v for k, v in assertions.items() if k.startswith("c2pa.actions")), None) or {}
    created = next((a for a in actions.get("actions", []) if a.get("action") == "c2pa.created"), {})
    failures = (results.get("activeManifest") or {}).get("failure", [])
    return ManifestInfo(
        present=True,
        valid=state in ("Valid", "Trusted"),
        trusted=state == "Trusted",
        state=state,
        license=assertions.get(LICENSE_ASSERTION),
        source_type=created.get("digitalSourceType"),
        codes=[f["code"] for f in failures],
    )


def manifest_json(data: bytes, mime_type: str) -> str | None:
    """The raw manifest store as JSON, for display; None when there is none."""
    reader = c2pa.Reader.try_create(mime_type, io.BytesIO(data))
    if reader is None:
        return None
    with reader:
        return json.dumps(json.loads(reader.json()), indent=2)
