"""`stylevault build-tiny-model`: retrains the built-in tiny base model from its seed (CPU, ~1 h)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

# The engine trains in a child process: web code never imports torch.
WEIGHTS = Path(__file__).resolve().parents[3] / "engine" / "tiny" / "weights"


class Command(BaseCommand):
    help = (
        "Retrain the built-in tiny model on the procedural scene corpus and write it, with its "
        "manifest, to OUT (default: the committed weights folder). Never run by make run or test."
    )

    def add_arguments(self, parser):
        parser.add_argument("--out", type=Path, default=WEIGHTS, help="Folder to write.")
        parser.add_argument("--seed", type=int, help="Training seed (default: the shipped one).")

    def handle(self, *args, out: Path, seed: int | None = None, **options):
        command = [sys.executable, "-m", "stylevault.engine.tiny.train", str(out)]
        if seed is not None:
            command += ["--seed", str(seed)]
        if subprocess.run(command, check=False).returncode != 0:
            raise CommandError("training the tiny model failed; see the output above")
        self.stdout.write(f"Tiny model written to {out}; commit it with its manifest.json.")
