"""`make bench`: runs every benchmark module's main() and prints one table."""

from __future__ import annotations

import importlib
import sys
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

MODULES = ["bench_api", "bench_ledger", "bench_queue", "bench_engine"]


def print_table(rows: list[dict]) -> None:
    columns: list[str] = []
    for row in rows:
        columns += [key for key in row if key not in columns]
    print("| " + " | ".join(columns) + " |")
    print("|" + "|".join("---" for _ in columns) + "|")
    for row in rows:
        print("| " + " | ".join(str(row.get(col, "")) for col in columns) + " |")


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
