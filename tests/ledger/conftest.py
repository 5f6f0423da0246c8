"""Ledger fixtures: on PostgreSQL some tests run both ways (server-side functions, and the
portable statements SQLite uses), so both implementations are held to the same proofs."""

from __future__ import annotations

import pytest


def _paths() -> list[str]:
    from django.conf import settings

    engine = settings.DATABASES["default"]["ENGINE"]
    return ["functions", "portable"] if engine.endswith("postgresql") else ["portable"]


@pytest.fixture(params=_paths())
def ledger_path(request, monkeypatch):
    from stylevault.ledger import services

    monkeypatch.setattr(services, "USE_DB_FUNCTIONS", request.param == "functions")
    return request.param
