"""200 concurrent holds of 10 on a wallet of 1,000: exactly 100 succeed, never below zero.

Real concurrency: threads with their own database connections, and separate processes
(spawned interpreters, each with its own Django) against the same test database."""

from __future__ import annotations

import multiprocessing
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, connections

from stylevault.core import errors
from stylevault.ledger import selectors, services
from stylevault.ledger.models import Account, Hold, HoldState

pytestmark = pytest.mark.django_db(transaction=True)

HOLDS, AMOUNT, FUNDS = 200, 10, 1000


def _fund(make_user):
    user = make_user("rich")
    services.grant_credits(user=user, amount=FUNDS, reason="concurrency test")
    return user


class _Sampler(threading.Thread):
    """Watches the wallet from its own connection while the race runs."""

    def __init__(self, code: str):
        super().__init__(daemon=True)
        self.code, self.lowest, self.samples = code, None, 0
        self.stop = threading.Event()

    def run(self):
        try:
            while not self.stop.is_set():
                account = Account.objects.get(code=self.code)
                available = account.posted - account.pending
                self.lowest = available if self.lowest is None else min(self.lowest, available)
                self.samples += 1
                time.sleep(0.002)
        finally:
            connections.close_all()


def _assert_outcome(user, ok: int, refused: int) -> None:
    assert ok == FUNDS // AMOUNT, (ok, refused)
    assert refused == HOLDS - FUNDS // AMOUNT
    assert selectors.wallet_of(user) == {"balance": 0, "held": FUNDS}
    assert Hold.objects.filter(user=user, state=HoldState.PENDING).count() == ok
    report = selectors.check_books()
    assert report.clean, report.problems


def test_threads_with_own_connections(ledger_path, make_user):
    user = _fund(make_user)
    sampler = _Sampler(services.wallet(user).code)
    sampler.start()
    threads = 40
    start = threading.Barrier(threads)

    def worker(_n: int) -> tuple[int, int, list[str]]:
        ok = refused = 0
        other: list[str] = []
        try:
            start.wait(timeout=60)
            for _ in range(HOLDS // threads):
                try:
                    services.reserve(user=user, amount=AMOUNT)
                    ok += 1
                except errors.InsufficientCredits:
                    refused += 1
                except Exception as exc:
                    other.append(repr(exc))
        finally:
            connection.close()
        return ok, refused, other

    with ThreadPoolExecutor(threads) as pool:
        results = list(pool.map(worker, range(threads)))
    sampler.stop.set()
    sampler.join()
    assert [o for _a, _b, other in results for o in other] == []
    _assert_outcome(user, sum(r[0] for r in results), sum(r[1] for r in results))
    assert sampler.samples > 0 and sampler.lowest >= 0


def test_processes_on_the_same_database(make_user):
    from tests.ledger._workers import reserve_many

    user = _fund(make_user)
    processes = 8
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(processes), ctx.Queue()
    db_name = connection.settings_dict["NAME"]
    workers = [
        ctx.Process(
            target=reserve_many,
            args=(db_name, user.pk, HOLDS // processes, AMOUNT, barrier, results),
        )
        for _ in range(processes)
    ]
    for w in workers:
        w.start()
    outcomes = [results.get(timeout=180) for _ in workers]
    for w in workers:
        w.join(timeout=60)
        assert w.exitcode == 0
    assert [o for out in outcomes for o in out["other"]] == []
    _assert_outcome(user, sum(o["ok"] for o in outcomes), sum(o["insufficient"] for o in outcomes))


def test_concurrent_capture_and_release_end_once(ledger_path, make_user):
    """Racing capture, release and expiry on the same holds: each hold ends exactly once."""
    from datetime import timedelta

    from django.utils import timezone

    user = _fund(make_user)
    artist = make_user("painter", artist=True)
    # 105 subscription credits too: holds draw on them first, one hold spans both accounts
    services.post(
        postings=[
            services.Posting(
                services.provider("dev", "USD"), services.subscription_grant(user), 105,
                "subscription_grant",
            )
        ]
    )  # fmt: skip
    holds = [services.reserve(user=user, amount=AMOUNT, ttl=timedelta(0)) for _ in range(20)]
    assert sorted({h.from_grant for h in holds}) == [0, 5, 10]
    later = timezone.now() + timedelta(seconds=1)

    def attempt(job: tuple[int, str]) -> str:
        hold_id, what = job
        try:
            if what == "capture":
                services.capture(hold=hold_id, artists=[(artist.pk, 1)])
            elif what == "release":
                services.release(hold=hold_id)
            else:
                services.expire_holds(later)
            return what
        except errors.Conflict:
            return "conflict"
        finally:
            connection.close()

    jobs = [(h.pk, what) for h in holds for what in ("capture", "release", "expire", "capture")]
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(attempt, jobs))
    captured = Hold.objects.filter(user=user, state=HoldState.CAPTURED).count()
    assert Hold.objects.filter(user=user, state=HoldState.PENDING).count() == 0
    spent_from_grant = sum(
        min(h.from_grant, AMOUNT) for h in Hold.objects.filter(user=user, state=HoldState.CAPTURED)
    )
    assert selectors.earnings_balance(artist) == captured * AMOUNT - spent_from_grant
    assert selectors.wallet_of(user) == {"balance": FUNDS + 105 - captured * AMOUNT, "held": 0}
    report = selectors.check_books()
    assert report.clean, report.problems


def test_ledger_check_command_as_a_process(make_user):
    """`stylevault ledger check` exits 0 on clean books and 1 once a balance is corrupted."""
    import os
    import subprocess
    import sys

    user = _fund(make_user)
    services.capture(hold=services.reserve(user=user, amount=30))
    env = {**os.environ, "STYLEVAULT_LOG_FORMAT": "text"}
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        env["DATABASE_URL"] = f"sqlite:///{db['NAME']}"
    else:
        env["DATABASE_URL"] = (
            f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"
        )
    command = [sys.executable, "-m", "stylevault.cli", "ledger", "check"]
    clean = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    assert clean.returncode == 0, clean.stderr
    assert "ledger check OK" in clean.stdout
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE ledger_account SET posted = posted - 1 WHERE code = %s",
            [services.wallet(user).code],
        )
    broken = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    assert broken.returncode == 1
    assert "FAILED" in broken.stderr and "user_wallet" in broken.stderr
