"""Platform overhead per generated image: end-to-end time (request accepted → images
delivered and paid for) minus the engine's render time, on the tiny model, one worker.

The child process sets up a throwaway SQLite database, trains a small style, starts one real
`stylevault worker` and times generations from the database's own timestamps (created_at →
finished_at, one clock), so polling by the benchmark adds nothing.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GOAL_P50_MS = 100
FAST = '{"steps": 8, "rank": 4, "resolution": 64, "learning_rate": 0.01}'


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def _child(count: int) -> dict:
    tmp = tempfile.mkdtemp(prefix="sv-bench-gen-")
    os.environ.update(
        STYLEVAULT_DATA_DIR=tmp,
        DATABASE_URL=f"sqlite:///{tmp}/bench.sqlite3",
        STYLEVAULT_LOG_FORMAT="text",
        STYLEVAULT_TRAINING=FAST,
        STYLEVAULT_STYLE_CHECKS='{"reference_steps": 3, "reference_size": 64}',
        STYLEVAULT_RATE_GENERATION="100000/m",
        DJANGO_SETTINGS_MODULE="stylevault.settings",
    )
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("demo", verbosity=0)
    from stylevault.generation import services
    from stylevault.generation.models import Generation
    from stylevault.styles import demo

    buyer = demo.ensure_people()[1]
    style = demo.ensure_style(demo.ensure_people()[0])
    worker = subprocess.Popen(
        [sys.executable, "-m", "stylevault.cli", "worker", "--queues", "generation"],
        env=dict(os.environ),
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        overheads, engines = [], []
        for n in range(count + 2):  # the first two warm the worker's pipeline and LoRA cache
            body = {
                "styles": [{"id": style.pk, "weight": 1}],
                "prompt": f"harbour {n}",
                "seed": n,
                "steps": 20,
            }
            generation = services.request_generation(user=buyer, body=body)
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline:
                generation.refresh_from_db()
                if generation.finished_at is not None:
                    break
                time.sleep(0.05)
            assert generation.status == "succeeded", generation.error_message
            if n < 2:
                continue
            generation = Generation.objects.select_related("job").get(pk=generation.pk)
            total = (generation.finished_at - generation.created_at).total_seconds()
            engine = generation.job.result["engine_seconds"]
            overheads.append((total - engine) * 1000)
            engines.append(engine * 1000)
    finally:
        worker.terminate()
        worker.wait(timeout=20)
    p50 = _percentile(overheads, 50)
    return {
        "benchmark": "generation overhead per image (tiny model, 1 worker, SQLite)",
        "p50_ms": round(p50, 1),
        "p95_ms": round(_percentile(overheads, 95), 1),
        "engine_p50_ms": round(_percentile(engines, 50), 1),
        "images": count,
        "goal": f"p50 <= {GOAL_P50_MS} ms",
        "met": "yes" if p50 <= GOAL_P50_MS else "NO",
    }


def main(count: int = 20) -> list[dict]:
    from tests.bench.child import run_child

    result, stderr = run_child(__file__, [str(count)])
    return [result if result is not None else {"benchmark": "generation overhead", "error": stderr}]


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    if sys.argv[1:2] == ["--child"]:
        import json

        print(json.dumps(_child(int(sys.argv[2]))))
    else:
        from tests.bench.run import print_table

        print_table(main())
