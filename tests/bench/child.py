"""Benchmarks run their measuring half in a fresh child process (its own Django setup and
database); the child prints its result as the last JSON line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_child(script: str, args: list[str]) -> tuple[dict | None, str]:
    """Runs `python script --child ARGS`; returns (its JSON result or None, the end of stderr)."""
    proc = subprocess.run(
        [sys.executable, script, "--child", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        return None, proc.stderr.strip()[-2000:]
    return json.loads(lines[-1]), ""
