"""Checks uploaded images by their bytes: magic numbers, decodability, size limits, bombs.

Shared by every upload (signatures, training sets, portraits, logos, verification).

Decoding a picture at the pixel cap takes over a hundred MB, analysing it at full size several
hundred: at most IMAGE_SLOTS of them run at once per process (`heavy_work`), others wait their
turn, and the memory is handed back to the system after each. A caller that only analyses the
picture asks for it at a bounded size (`analysis_side`): JPEGs are then decoded at a reduced
scale (draft mode), other formats reduced right after decoding.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import hashlib
import io
import math
import os
import struct
import threading
import warnings
from collections.abc import Iterator
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
# HEIF/HEIC (phones): an ISO-BMFF `ftyp` box at byte 4 whose major brand is one of these.
HEIF_BRANDS = (b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1")
# More pixels than any legitimate upload needs; beyond it decoding is refused as a bomb.
MAX_PIXELS = 40_000_000
IMAGE_SLOTS = max(1, int(os.environ.get("STYLEVAULT_IMAGE_SLOTS", "2")))

_slots = threading.BoundedSemaphore(IMAGE_SLOTS)
_held = threading.local()


@contextlib.contextmanager
def heavy_work() -> Iterator[None]:
    """One of the process's IMAGE_SLOTS for decoding or analysing a large picture (re-entrant
    in a thread); the freed memory goes back to the system when the outermost one ends."""
    depth = getattr(_held, "depth", 0)
    if depth:
        _held.depth = depth + 1
        try:
            yield
        finally:
            _held.depth = depth
        return
    with _slots:
        _held.depth = 1
        try:
            yield
        finally:
            _held.depth = 0
            _return_memory()


def _return_memory() -> None:
    """glibc keeps freed blocks of big pictures for reuse (its mmap threshold grows after
    each); malloc_trim hands them back, so a burst of uploads does not stay resident."""
    with contextlib.suppress(OSError, AttributeError):
        _libc().malloc_trim(0)


@functools.cache
def _libc():
    return ctypes.CDLL("libc.so.6")


@dataclass(frozen=True)
class CheckedImage:
    name: str
    format: str
    width: int
    height: int
    sha256: str
    data: bytes
    # RGB, at most `analysis_side` pixels on its longer side, when check_image was asked for it
    picture: Image.Image | None = None


def _sniff(head: bytes) -> str | None:
    if head[4:8] == b"ftyp" and head[8:12] in HEIF_BRANDS:
        return "HEIF"
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
    analysis_side: int | None = None,
) -> CheckedImage:
    """Reads an uploaded file and returns it checked, or raises the documented error; with
    `analysis_side`, also the picture at a bounded size (see the module's docstring)."""
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
    if fmt == "HEIF" and fmt in formats:
        _register_heif()
    if fmt not in formats:
        raise errors.UnsupportedMediaType(
            _("%(name)s is not a %(formats)s image (checked by its content, not its name).")
            % {"name": name, "formats": "/".join(formats)},
            details={"file": name, "allowed": list(formats)},
        )
    width, height, picture = _decode(data, name, max_pixels, analysis_side)
    if min(width, height) < min_side:
        raise errors.ValidationFailed(
            _("%(name)s is %(w)s×%(h)s pixels; at least %(min)s×%(min)s is needed.")
            % {"name": name, "w": width, "h": height, "min": min_side},
            details={"file": name, "width": width, "height": height, "min_side": min_side},
        )
    digest = hashlib.sha256(data).hexdigest()
    return CheckedImage(name, fmt, width, height, digest, data, picture)


def _register_heif() -> None:
    """Teaches Pillow to open HEIF/HEIC, on the first upload that needs it."""
    from pillow_heif import register_heif_opener

    register_heif_opener()


def _too_large(name: str, max_bytes: int) -> errors.FileTooLarge:
    return errors.FileTooLarge(
        _("%(name)s is larger than %(mb)s MB.") % {"name": name, "mb": max_bytes // (1024 * 1024)},
        details={"file": name, "max_bytes": max_bytes},
    )


def _decode(
    data: bytes, name: str, max_pixels: int, analysis_side: int | None
) -> tuple[int, int, Image.Image | None]:
    """Fully decodes the image so truncated files and bombs are caught before we keep them."""
    broken = errors.ValidationFailed(
        _("%(name)s is damaged or incomplete and cannot be read.") % {"name": name},
        details={"file": name},
    )
    try:
        with warnings.catch_warnings(), heavy_work():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                width, height = image.size
                if width * height > max_pixels:
                    raise Image.DecompressionBombError("too many pixels")
                if analysis_side is not None:
                    image.draft("RGB", (analysis_side, analysis_side))  # JPEG only: 1/2..1/8
                image.load()
                picture = None if analysis_side is None else _bounded(image, analysis_side)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise errors.ValidationFailed(
            _("%(name)s has too many pixels to be processed safely.") % {"name": name},
            details={"file": name, "max_pixels": max_pixels},
        ) from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise broken from exc
    return width, height, picture


def _bounded(image: Image.Image, side: int) -> Image.Image:
    """An RGB copy with at most `side` pixels on its longer side, reduced (box average) before
    it is converted, so no full-size copy is made in a wider mode."""
    if image.mode not in ("L", "LA", "RGB", "RGBA", "I", "F"):
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    factor = math.ceil(max(image.size) / side)
    if factor > 1:
        image = image.reduce(factor)
    return image.convert("RGB")


def perceptual_hash(image: Image.Image) -> int:
    """64-bit DCT perceptual hash as a signed integer: stable under re-encoding and resizing."""
    bits = imagehash.phash(image.convert("RGB")).hash.flatten()
    unsigned = int("".join("1" if b else "0" for b in bits), 2)
    return struct.unpack("<q", struct.pack("<Q", unsigned))[0]
