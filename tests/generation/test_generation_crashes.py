"""Nothing lost: a worker killed mid-render, and many requests racing for the same credits."""

from __future__ import annotations

import base64
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import close_old_connections
from django.utils import timezone

from stylevault.generation import services
from stylevault.generation.models import Generation
from stylevault.jobs import services as jobs
from stylevault.jobs.models import Job
from stylevault.ledger.models import Hold
from stylevault.ledger.selectors import wallet_of
from stylevault.styles import vault
from tests.jobs.workers import WorkerPool, worker_env

pytestmark = pytest.mark.django_db(transaction=True)
PROMPTS = [f"a lighthouse, study {i}" for i in range(6)]


def _worker_pool(tmp_path) -> WorkerPool:
    env = worker_env()
    # The worker shares this test's files (tmp media) and the key its LoRA was encrypted with.
    env.update(
        STYLEVAULT_DATA_DIR=str(tmp_path),
        STYLEVAULT_LORA_KEY=base64.b64encode(vault.encryption_key()).decode(),
    )
    return WorkerPool(
        args=["--queues", "generation", "--maintenance-interval", "0.5"],
        env=env,
        log_dir=tmp_path / "logs",
    )


def _wait(predicate, timeout: float, pool: WorkerPool):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"timed out\n{pool.logs_tail()}")


def _ledger_check() -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "stylevault.cli", "ledger", "check"],
        env=worker_env(),
        capture_output=True,
        text=True,
        check=False,
    )


def _killed_mid_render(published_style, buyer, tmp_path, *, attempts: int):
    generation = services.request_generation(
        user=buyer,
        body={
            "styles": [{"id": published_style.pk, "weight": 1}],
            "prompts": PROMPTS,
            "steps": 20,
            "seed": 1,
        },
    )
    Job.objects.filter(pk=generation.job_id).update(max_attempts=attempts)
    pool = _worker_pool(tmp_path)
    try:
        victim = pool.start()
        _wait(
            lambda: (Job.objects.get(pk=generation.job_id).progress or {}).get("step", 0) >= 3,
            240,
            pool,
        )
        pool.kill(victim)
        # The lease runs out (time is moved on rather than waited for); the reaper acts.
        Job.objects.filter(pk=generation.job_id).update(lease_expires_at=timezone.now())
        jobs.reap()
        pool.start()
        _wait(
            lambda: Generation.objects.get(pk=generation.pk).status in ("succeeded", "failed"),
            240,
            pool,
        )
    finally:
        pool.stop()
    return Generation.objects.get(pk=generation.pk)


def test_worker_killed_mid_render_is_retried_and_charged_once(published_style, buyer, tmp_path):
    generation = _killed_mid_render(published_style, buyer, tmp_path, attempts=3)
    assert generation.status == "succeeded"
    assert Job.objects.get(pk=generation.job_id).attempts == 2
    assert generation.images.count() == len(PROMPTS)
    assert Hold.objects.get(pk=generation.hold_id).state == "captured"
    assert wallet_of(buyer) == {"balance": 100 - generation.cost, "held": 0}
    check = _ledger_check()
    assert check.returncode == 0, check.stdout + check.stderr


def test_worker_killed_on_the_last_attempt_releases_once(published_style, buyer, tmp_path):
    generation = _killed_mid_render(published_style, buyer, tmp_path, attempts=1)
    assert generation.status == "failed" and generation.images.count() == 0
    assert Hold.objects.get(pk=generation.hold_id).state == "released"
    assert wallet_of(buyer) == {"balance": 100, "held": 0}
    check = _ledger_check()
    assert check.returncode == 0, check.stdout + check.stderr


def test_fifty_concurrent_requests_on_credits_for_ten(
    published_style, make_user, token_client, settings
):
    from stylevault.ledger import services as ledger

    settings.RATE_GENERATION = "1000/m"
    settings.RATE_API = "1000/m"
    buyer = make_user("racer")
    ledger.grant_credits(user=buyer, amount=50, reason="test")  # price 5: ten images
    client_token = token_client(buyer)._credentials["HTTP_AUTHORIZATION"]

    def attempt(n: int) -> int:
        from rest_framework.test import APIClient

        try:
            client = APIClient()
            client.credentials(HTTP_AUTHORIZATION=client_token)
            body = {
                "styles": [{"id": published_style.pk, "weight": 1}],
                "prompt": f"race {n}",
                "steps": 2,
            }
            return client.post("/api/v1/generations", body, format="json").status_code
        finally:
            close_old_connections()

    with ThreadPoolExecutor(max_workers=10) as pool:
        statuses = list(pool.map(attempt, range(50)))
    assert statuses.count(202) == 10, statuses
    assert statuses.count(402) == 40, statuses
    assert Generation.objects.filter(owner=buyer).count() == 10
    assert wallet_of(buyer) == {"balance": 0, "held": 50}
