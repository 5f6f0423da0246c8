"""A worker killed while drawing the four variants: the job is retried, the variants are
delivered exactly once and the credits are captured once."""

from __future__ import annotations

import base64
import time

import pytest
from django.utils import timezone

from stylevault.generation.models import Generation
from stylevault.jobs import services as jobs
from stylevault.jobs.models import Job
from stylevault.ledger.models import Hold
from stylevault.ledger.selectors import check_books, wallet_of
from stylevault.photos import services
from stylevault.styles import vault
from tests.jobs.workers import WorkerPool, worker_env
from tests.photos.conftest import astronaut, jpeg_with_gps

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def _wait(predicate, timeout: float, pool: WorkerPool):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out\n{pool.logs_tail()}")


def test_worker_killed_mid_batch_delivers_the_four_variants_once(
    published_style, buyer, upload, tmp_path
):
    photo = services.upload_photo(
        user=buyer, upload=upload(jpeg_with_gps(astronaut())), style_id=published_style.pk
    )
    generation_id = photo.generation_id
    job_id = Generation.objects.get(pk=generation_id).job_id
    env = worker_env()
    env.update(
        STYLEVAULT_DATA_DIR=str(tmp_path),
        STYLEVAULT_LORA_KEY=base64.b64encode(vault.encryption_key()).decode(),
    )
    pool = WorkerPool(
        args=["--queues", "generation", "--maintenance-interval", "0.5"],
        env=env,
        log_dir=tmp_path / "logs",
    )
    try:
        victim = pool.start()
        _wait(lambda: (Job.objects.get(pk=job_id).progress or {}).get("step", 0) >= 2, 240, pool)
        pool.kill(victim)
        Job.objects.filter(pk=job_id).update(lease_expires_at=timezone.now())
        jobs.reap()
        pool.start()
        _wait(
            lambda: Generation.objects.get(pk=generation_id).status in ("succeeded", "failed"),
            240,
            pool,
        )
    finally:
        pool.stop()
    generation = Generation.objects.get(pk=generation_id)
    assert generation.status == "succeeded"
    assert Job.objects.get(pk=job_id).attempts == 2
    assert sorted(generation.images.values_list("position", flat=True)) == [0, 1, 2, 3]
    assert Hold.objects.get(pk=generation.hold_id).state == "captured"
    assert wallet_of(buyer) == {"balance": 100 - generation.cost, "held": 0}
    assert check_books().clean
