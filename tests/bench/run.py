"""`make bench`: runs every benchmark module's main() and prints one table."""

from __future__ import annotations

import importlib
import sys
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

MODULES = [
    "bench_api",
    "bench_ledger",
    "bench_queue",
    "bench_engine",
    "bench_styles",
    "bench_generation",
    "bench_provenance",
    "bench_community",
]
# Modules not listed above run after them, in name order, so a new benchmark needs no edit here.
MODULES += sorted(
    path.stem for path in Path(__file__).parent.glob("bench_*.py") if path.stem not in MODULES
)


NAME_KEYS = ("benchmark", "bench", "mode", "db")


def _normalised(row: dict) -> tuple[str, str, str]:
    """Each module reports its own fields; the table shows name, measurements and goal."""
    name = " ".join(str(row[key]) for key in NAME_KEYS if row.get(key))
    measured = ", ".join(
        str(value) if key == "result" else f"{key} {value}"
        for key, value in row.items()
        if key not in (*NAME_KEYS, "goal")
    )
    return name, measured, str(row.get("goal", ""))


def print_table(rows: list[dict]) -> None:
    print("| benchmark | measured | goal |")
    print("|---|---|---|")
    for row in rows:
        print("| " + " | ".join(_normalised(row)) + " |")


def main() -> int:
    rows: list[dict] = []
    failed = False
    for name in MODULES:
        path = Path(__file__).with_name(f"{name}.py")
        if not path.exists():
            continue
        print(f"running {name}...", file=sys.stderr, flush=True)
        try:
            rows += importlib.import_module(f"tests.bench.{name}").main()
        except Exception:
            failed = True
            traceback.print_exc()
            rows.append({"benchmark": name, "error": "failed, see above"})
    print_table(rows)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
