"""Prometheus counters of the ledger: credits moved, by transfer kind."""

from __future__ import annotations

from collections import Counter as _Tally

from django.db import transaction
from prometheus_client import Counter

from stylevault.core.metrics import REGISTRY

credits_moved = Counter(
    "stylevault_credits_moved_total",
    "Credits moved by posted ledger transfers, by transfer kind.",
    ["kind"],
    registry=REGISTRY,
)


def moved(transfers) -> None:
    """Counts posted transfers once their transaction has committed."""
    tally = _Tally()
    for transfer in transfers:
        tally[transfer.kind] += transfer.amount
    if tally:
        transaction.on_commit(
            lambda: [credits_moved.labels(kind).inc(n) for kind, n in tally.items()]
        )
