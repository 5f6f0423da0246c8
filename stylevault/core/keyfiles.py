"""Secret files in the data directory (embedded mode): made once, atomically, mode 0600.

Used by every key the embedded mode generates for itself (provenance signing, LoRA encryption).
In production those keys come from the environment instead; see each key's module.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from django.conf import settings


def key_path(name: str) -> Path:
    return Path(settings.DATA_DIR) / "keys" / name


def create_once(path: Path, content: bytes) -> None:
    """Writes `content` to `path` unless a file is there: written aside, then linked into place,
    so concurrent processes agree on one key and nobody reads a half-written file."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".key-")  # mode 0600
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        with contextlib.suppress(FileExistsError):  # another process was first: use its key
            os.link(tmp, path)
    finally:
        os.unlink(tmp)
