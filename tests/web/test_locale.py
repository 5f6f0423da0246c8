"""locale/ko is complete: every translatable string of the code has a Korean translation."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import polib

ROOT = Path(__file__).resolve().parents[2]
PO = ROOT / "locale" / "ko" / "LC_MESSAGES" / "django.po"


def _extracted_msgids(tmp_path: Path) -> set[str]:
    """Runs makemessages over a copy of the code, so the committed catalogue is untouched."""
    shutil.copytree(
        ROOT / "stylevault", tmp_path / "stylevault", ignore=shutil.ignore_patterns("__pycache__")
    )
    (tmp_path / "locale").mkdir()
    subprocess.run(
        [sys.executable, "-m", "django", "makemessages", "-l", "ko", "-v", "0", "--no-obsolete"],
        cwd=tmp_path,
        check=True,
        timeout=300,
        env={"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": ""},
    )
    catalogue = polib.pofile(str(tmp_path / "locale" / "ko" / "LC_MESSAGES" / "django.po"))
    return {entry.msgid for entry in catalogue}


def test_every_string_in_the_code_is_translated_to_korean(tmp_path):
    committed = polib.pofile(str(PO))
    translated = {
        e.msgid
        for e in committed
        if not e.obsolete
        and "fuzzy" not in e.flags
        and (e.msgstr or (e.msgstr_plural and all(e.msgstr_plural.values())))
    }
    extracted = _extracted_msgids(tmp_path)
    assert len(extracted) > 100  # the extraction really ran over the code
    missing = sorted(extracted - translated)
    assert not missing, f"untranslated in locale/ko: {missing[:20]}"
