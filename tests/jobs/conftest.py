"""Fixtures for the job runtime: throwaway job kinds and an in-process worker."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest

from stylevault.jobs import registry, runner

_numbers = itertools.count()


class Kinds:
    """Registers handlers under unique kind names and removes them after the test."""

    def __init__(self) -> None:
        self.registered: list[str] = []

    def add(self, func: Callable | None = None, **options) -> str:
        kind = f"test.kind{next(_numbers)}"
        options.setdefault("queue", "testq")
        registry.handler(kind, **options)(func or (lambda ctx: {"ok": True}))
        self.registered.append(kind)
        return kind

    def cleanup(self) -> None:
        for kind in self.registered:
            registry.unregister(kind)


@pytest.fixture
def kinds():
    made = Kinds()
    yield made
    made.cleanup()


@pytest.fixture(autouse=True)
def _no_broker(settings):
    """Unit tests run without a broker and without Redis, whatever the environment says."""
    settings.STYLEVAULT_BROKER_URL = ""
    settings.STYLEVAULT_REDIS_URL = ""


@pytest.fixture(autouse=True)
def _fresh_shutdown():
    runner.SHUTDOWN.reset()
    yield
    runner.SHUTDOWN.reset()
