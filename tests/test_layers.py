"""The layer map (.importlinter, docs/architecture.md) holds on the real tree, and `lint-imports`
(run by `make lint`) refuses a tree with one wrong import added."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_real_tree_keeps_every_contract():
    result = _lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "line", "contract", "shown"),
    [
        (
            "engine/sizes.py",
            "import django.conf",
            "The engine imports neither Django nor any app",
            "stylevault.engine.sizes -> django",
        ),
        (
            "engine/watermark.py",
            "from stylevault.provenance import models",
            "The engine imports neither Django nor any app",
            "stylevault.engine.watermark -> stylevault.provenance.models",
        ),
        (
            "ledger/models.py",
            "from stylevault.styles import models as styles",
            "The apps, top to bottom",
            "stylevault.ledger.models -> stylevault.styles.models",
        ),
        (
            "provenance/services.py",
            "from stylevault.generation import selectors",
            "The apps, top to bottom",
            "stylevault.provenance.services -> stylevault.generation.selectors",
        ),
        (
            "styles/selectors.py",
            "from stylevault.styles import services",
            "Inside an app",
            "stylevault.styles.selectors -> stylevault.styles.services",
        ),
        (
            "generation/api.py",
            "from stylevault.generation import views",
            "Inside an app",
            "stylevault.generation.api -> stylevault.generation.views",
        ),
    ],
)
def test_one_wrong_import_breaks_its_contract(tmp_path, module, line, contract, shown):
    shutil.copy(ROOT / ".importlinter", tmp_path / ".importlinter")
    shutil.copytree(
        ROOT / "stylevault",
        tmp_path / "stylevault",
        ignore=shutil.ignore_patterns("__pycache__", "templates", "static", "tiny"),
    )
    target = tmp_path / "stylevault" / module
    target.write_text(target.read_text() + f"\n{line}  # noqa\n")

    result = _lint(tmp_path)

    assert result.returncode == 1, result.stdout + result.stderr
    broken = result.stdout.split("Broken contracts", 1)[-1]
    assert contract in broken
    assert shown in broken
