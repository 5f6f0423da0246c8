"""The manifest beside the tiny model's weights: what made them, and each file's SHA-256."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

MANIFEST = "manifest.json"


def file_hashes(folder: Path) -> dict[str, str]:
    """SHA-256 of every file under `folder` but the manifest, by POSIX path relative to it."""
    hashes = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file() and path.name != MANIFEST:
            hashes[path.relative_to(folder).as_posix()] = hashlib.sha256(
                path.read_bytes()
            ).hexdigest()
    return hashes


def write_manifest(folder: Path, **facts: object) -> Path:
    path = folder / MANIFEST
    manifest = {**facts, "files": file_hashes(folder)}
    path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path


def read_manifest(folder: Path) -> dict:
    return json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
