"""Code run in separate processes by the concurrency tests (spawned: a fresh interpreter that
sets Django up itself against the test database file of the parent)."""

from __future__ import annotations

import os


def reserve_many(db_name: str, user_id: int, count: int, amount: int, barrier, results) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "stylevault.settings")
    import django

    django.setup()
    from django.db import connection

    connection.settings_dict["NAME"] = db_name
    from stylevault.core import errors
    from stylevault.ledger import services

    outcome = {"ok": 0, "insufficient": 0, "other": []}
    barrier.wait(timeout=120)
    for _ in range(count):
        try:
            services.reserve(user=user_id, amount=amount)
            outcome["ok"] += 1
        except errors.InsufficientCredits:
            outcome["insufficient"] += 1
        except Exception as exc:  # reported to the parent, which fails the test
            outcome["other"].append(repr(exc))
    connection.close()
    results.put(outcome)
