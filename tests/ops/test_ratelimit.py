"""Rate limits count ahead per process (stylevault.core.ratelimit): a limit must still hold across
processes and threads, on the database (embedded mode) and on Redis (distributed mode)."""

from __future__ import annotations

import dataclasses
import random
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connections

from stylevault.core import ratelimit

pytestmark = pytest.mark.django_db(transaction=True)
REDIS_URL = "redis://127.0.0.1:6379/12"


@pytest.fixture(params=["database", "redis"])
def counter(request, settings, monkeypatch):
    """Where the shared count lives, and a clock fixed inside one window."""
    if request.param == "redis":
        import redis

        try:
            redis.Redis.from_url(REDIS_URL).ping()
        except redis.RedisError as error:
            pytest.fail(f"Redis at {REDIS_URL} does not answer ({error}): run `make services`")
        settings.CACHES = {
            "default": {
                "BACKEND": "django.core.cache.backends.redis.RedisCache",
                "LOCATION": REDIS_URL,
            }
        }
        settings.CONFIG = dataclasses.replace(settings.CONFIG, cache_url=REDIS_URL)
        ratelimit._redis_counter.cache_clear()
    monkeypatch.setattr(ratelimit, "_now", lambda: 1_800_000_000.0)
    yield request.param
    ratelimit._redis_counter.cache_clear()


def _hit_in(monkeypatch, spare, key: str, rate: str) -> bool:
    """A request to one of several server processes, each with what it counted ahead."""
    monkeypatch.setattr(ratelimit, "_spare", spare)
    return ratelimit.hit("api", key, rate) is None


def test_one_process_lets_exactly_the_limit_through(counter):
    key = f"user:{uuid.uuid4().hex}"
    allowed = [ratelimit.hit("api", key, "100/m") is None for _ in range(130)]
    assert allowed == [True] * 100 + [False] * 30


def test_processes_together_never_pass_the_limit(counter, monkeypatch):
    monkeypatch.setenv("STYLEVAULT_WEB_PROCESSES", "3")
    key, rng = f"user:{uuid.uuid4().hex}", random.Random(7)
    spares = [ratelimit._Spare() for _ in range(3)]
    allowed = sum(_hit_in(monkeypatch, rng.choice(spares), key, "100/m") for _ in range(400))
    assert allowed == 100, "spread over three processes, spare counts get spent"


@pytest.mark.parametrize("limit", [100, 1000])
@pytest.mark.parametrize("spread", ["random", "pinned"])
def test_a_client_gets_seven_eighths_of_its_limit_at_least(counter, monkeypatch, spread, limit):
    """Eight processes; the client sends exactly its limit, spread at random, or a few
    requests to each process and then all to one (a keep-alive connection)."""
    monkeypatch.setenv("STYLEVAULT_WEB_PROCESSES", "8")
    key, rng = f"user:{uuid.uuid4().hex}", random.Random(11)
    spares = [ratelimit._Spare() for _ in range(8)]
    if spread == "random":
        order = [rng.choice(spares) for _ in range(limit)]
    else:
        order = [spare for spare in spares for _ in range(3)]
        order += [spares[0]] * (limit - len(order))
    allowed = sum(_hit_in(monkeypatch, spare, key, f"{limit}/m") for spare in order)
    assert limit * 7 // 8 <= allowed <= limit


def test_each_process_counts_the_shared_total_every_few_requests(counter, monkeypatch):
    """Far from the limit, a busy client costs one shared count per several requests; near
    it, every request is counted (the login form's 5 per 5 minutes counts each)."""
    calls = []
    real = ratelimit._count_in_redis if counter == "redis" else ratelimit._count_in_database

    def counting(*args):
        calls.append(args[-1])
        return real(*args)

    monkeypatch.setattr(
        ratelimit, "_count_in_redis" if counter == "redis" else "_count_in_database", counting
    )
    key = f"user:{uuid.uuid4().hex}"
    assert all(ratelimit.hit("api", key, "1000/m") is None for _ in range(200))
    assert len(calls) <= 20 and sum(calls) >= 200
    calls.clear()
    login = f"ip:{uuid.uuid4().hex}"
    assert [ratelimit.hit("login", login, "5/5m") is None for _ in range(7)] == [True] * 5 + [
        False
    ] * 2
    assert calls == [1] * 7


def test_a_new_window_starts_afresh(counter, monkeypatch):
    key = f"user:{uuid.uuid4().hex}"
    assert [ratelimit.hit("api", key, "3/m") for _ in range(4)][-1] is not None
    monkeypatch.setattr(ratelimit, "_now", lambda: 1_800_000_060.0)
    assert [ratelimit.hit("api", key, "3/m") is None for _ in range(4)] == [True] * 3 + [False]


def test_threads_of_one_process_keep_all_they_counted(counter):
    key = f"user:{uuid.uuid4().hex}"

    def request(_) -> bool:
        try:
            return ratelimit.hit("api", key, "200/m") is None
        finally:
            connections.close_all()  # this thread's own

    with ThreadPoolExecutor(8) as pool:
        allowed = list(pool.map(request, range(400)))
    assert allowed.count(True) == 200


def test_a_late_request_of_a_past_window_never_rewinds_the_count(counter, monkeypatch):
    """Processes' clocks differ a little: one may still count in the window just ended."""
    key = f"user:{uuid.uuid4().hex}"
    monkeypatch.setattr(ratelimit, "_now", lambda: 1_800_000_060.0)
    assert [ratelimit.hit("api", key, "3/m") is None for _ in range(3)] == [True] * 3
    monkeypatch.setattr(ratelimit, "_now", lambda: 1_800_000_059.9)
    assert ratelimit.hit("api", key, "3/m") is None, "it passes, as the last of its window"
    monkeypatch.setattr(ratelimit, "_now", lambda: 1_800_000_060.1)
    assert ratelimit.hit("api", key, "3/m") is not None, "the current window is still spent"
