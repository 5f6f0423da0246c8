"""Checks uploaded images by their bytes: magic numbers, decodability, size limits, bombs.

Shared by every upload (signatures, training sets, portraits, logos, verification).
"""

from __future__ import annotations

import hashlib
import io
import struct
import warnings
from dataclasses import dataclass

import imagehash
from django.utils.translation import gettext as _
from PIL import Image

from stylevault.core import errors

MAGIC = {
    "PNG": (b"\x89PNG\r\n\x1a\n",),
    "JPEG": (b"\xff\xd8\xff",),
    "WEBP": (b"RIFF",),
}
# More pixels than any legitimate upload needs; beyond it decoding is refused as a bomb.
MAX_PIXELS = 40_000_000


@dataclass(frozen=True)
class CheckedImage:
    name: str
    format: str
    width: int
    height: int
    sha256: str
    data: bytes


def _sniff(head: bytes) -> str | None:
    for fmt, signatures in MAGIC.items():
        if any(head.startswith(sig) for sig in signatures):
            if fmt == "WEBP" and head[8:12] != b"WEBP":
                continue
            return fmt
    return None


def check_image(
    upload,
    *,
    max_bytes: int,
    formats: tuple[str, ...] = ("PNG", "JPEG"),
    min_side: int = 1,
    max_pixels: int = MAX_PIXELS,
) -> CheckedImage:
    """Reads an uploaded file and returns it checked, or raises the documented error."""
    name = getattr(upload, "name", None) or "upload"
    size = getattr(upload, "size", None)
    if size is not None and size > max_bytes:
        raise _too_large(name, max_bytes)
    data = upload.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise _too_large(name, max_bytes)
    if not data:
        raise errors.ValidationFailed(
            _("%(name)s is empty.") % {"name": name}, details={"file": name}
        )
    fmt = _sniff(data[:16])
    if fmt not in formats:
        raise errors.UnsupportedMediaType(
            _("%(name)s is not a %(formats)s image (checked by its content, not its name).")
            % {"name": name, "formats": "/".join(formats)},
            details={"file": name, "allowed": list(formats)},
        )
    width, height = _decode(data, name, max_pixels)
    if min(width, height) < min_side:
        raise errors.ValidationFailed(
            _("%(name)s is %(w)s×%(h)s pixels; at least %(min)s×%(min)s is needed.")
            % {"name": name, "w": width, "h": height, "min": min_side},
            details={"file": name, "width": width, "height": height, "min_side": min_side},
        )
    return CheckedImage(name, fmt, width, height, hashlib.sha256(data).hexdigest(), data)


def _too_large(name: str, max_bytes: int) -> errors.FileTooLarge:
    return errors.FileTooLarge(
        _("%(name)s is larger than %(mb)s MB.") % {"name": name, "mb": max_bytes // (1024 * 1024)},
        details={"file": name, "max_bytes": max_bytes},
    )


def _decode(data: bytes, name: str, max_pixels: int) -> tuple[int, int]:
    """Fully decodes the image so truncated files and bombs are caught before we keep them."""
    broken = errors.ValidationFailed(
        _("%(name)s is damaged or incomplete and cannot be read.") % {"name": name},
        details={"file": name},
    )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                width, height = image.size
                if width * height > max_pixels:
                    raise Image.DecompressionBombError("too many pixels")
                image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise errors.ValidationFailed(
            _("%(name)s has too many pixels to be processed safely.") % {"name": name},
            details={"file": name, "max_pixels": max_pixels},
        ) from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise broken from exc
    return width, height


def perceptual_hash(image: Image.Image) -> int:
    """64-bit DCT perceptual hash as a signed integer: stable under re-encoding and resizing."""
    bits = imagehash.phash(image.convert("RGB")).hash.flatten()
    unsigned = int("".join("1" if b else "0" for b in bits), 2)
    return struct.unpack("<q", struct.pack("<Q", unsigned))[0]
