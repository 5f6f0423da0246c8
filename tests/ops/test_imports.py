"""Every module a process may load first imports on its own: no import cycles hidden by the
order in which a test run happens to load things (a management command that begins with the
CSRF failure view once failed this way)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ENTRY_MODULES = sorted(
    {"stylevault.core.api", "stylevault.urls"}
    | {
        f"stylevault.{path.parent.name}.{path.stem}"
        for pattern in ("*/api.py", "*/views.py")
        for path in (ROOT / "stylevault").glob(pattern)
    }
)


@pytest.mark.parametrize("module", ENTRY_MODULES)
def test_module_imports_first(module, tmp_path):
    script = f"import django; django.setup(); import {module}"
    result = subprocess.run(
        [sys.executable, "-c", script],
        env={
            "PATH": "/usr/bin:/bin",
            "DJANGO_SETTINGS_MODULE": "stylevault.settings",
            "STYLEVAULT_DATA_DIR": str(tmp_path),
        },
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
