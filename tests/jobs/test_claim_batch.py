"""Claiming compatible jobs together: the best job leads, companions share its batch key and
follow the claim order, owner limits hold, and a gathering hands each job its own result."""

from __future__ import annotations

import threading
import time

import pytest

from stylevault.jobs import runner, services
from stylevault.jobs.models import Job, JobStatus

pytestmark = pytest.mark.django_db(transaction=True)


def take(size: int = 8, wait: float = 0.0) -> list[Job]:
    return services.claim_batch(queues=["testq"], worker="w1", size=size, wait=wait)


def test_companions_share_the_kind_and_batch_key_in_claim_order(kinds, make_user):
    kind = kinds.add(batchable=True)
    ann, bob = make_user("ann"), make_user("bob")
    for _ in range(4):
        services.enqueue(kind=kind, owner=ann, payload={"batch_key": "1:1/20"})
    bob_job = services.enqueue(kind=kind, owner=bob, payload={"batch_key": "1:1/20"})
    other_size = services.enqueue(kind=kind, owner=bob, payload={"batch_key": "16:9/20"})
    urgent = services.enqueue(kind=kind, owner=bob, priority=5, payload={"batch_key": "1:1/20"})

    batch = take(size=3, wait=0.01)

    assert batch[0].pk == urgent.pk, "the best job leads"
    assert bob_job.pk in {job.pk for job in batch}, "round-robin: bob rides before ann's second"
    assert len(batch) == 3 and other_size.pk not in {job.pk for job in batch}
    assert all(job.status == JobStatus.RUNNING and job.worker == "w1" for job in batch)
    assert all(job.lease_expires_at is not None and job.attempts == 1 for job in batch)


def test_owner_limit_holds_within_a_batch(kinds, make_user):
    kind = kinds.add(batchable=True)
    ann = make_user("ann")
    for _ in range(5):
        services.enqueue(kind=kind, owner=ann, max_running=2, payload={"batch_key": "k"})
    assert len(take(wait=0.01)) == 2
    assert take(wait=0.01) == [], "ann runs 2 already"


def test_batching_off_or_kind_not_batchable_claims_one(kinds, user):
    plain = kinds.add()
    batchable = kinds.add(batchable=True)
    for kind in (plain, plain, batchable, batchable):
        services.enqueue(kind=kind, owner=user, payload={"batch_key": "k"})
    assert len(take()) == 1, "a kind that is not batchable"
    assert len(take()) == 1, "wait 0: batching off"
    assert len(take(size=1, wait=0.05)) == 1, "size 1: batching off"


def test_a_lone_job_waits_briefly_for_companions(kinds, user):
    kind = kinds.add(batchable=True)
    services.enqueue(kind=kind, owner=user, payload={"batch_key": "k"})
    started = time.monotonic()
    assert len(take(wait=0.05)) == 1
    assert 0.05 <= time.monotonic() - started < 0.5


def test_gathered_jobs_do_their_work_once_and_end_separately(kinds, user):
    combined: list[list[int]] = []

    def combine(offers) -> None:
        combined.append(sorted(offer.item for offer in offers))
        for offer in offers:
            if offer.item % 2:
                offer.settle(error=RuntimeError("odd"))
            else:
                offer.settle({"doubled": offer.item * 2})

    def handler(ctx):
        number = ctx.job.payload["n"]
        if number == 3:
            raise RuntimeError("fails before it offers")  # leaves its seat: no one waits on it
        return ctx.seat.gather(number, combine)

    kind = kinds.add(handler, batchable=True)
    jobs = [
        services.enqueue(kind=kind, owner=user, payload={"batch_key": "k", "n": n})
        for n in range(4)
    ]
    outcomes = runner.execute_batch(take(wait=0.01))
    assert combined == [[0, 1, 2]]
    assert outcomes == ["succeeded", "failed", "succeeded", "failed"]
    rows = {job.pk: Job.objects.get(pk=job.pk) for job in jobs}
    assert rows[jobs[2].pk].result == {"doubled": 4}
    assert "odd" in rows[jobs[1].pk].error and "before it offers" in rows[jobs[3].pk].error


def test_one_job_settled_early_ends_while_the_others_still_work(kinds, user):
    release = threading.Event()
    ended: dict[int, float] = {}

    def combine(offers) -> None:
        offers[0].settle({"early": True})
        release.wait(5)
        for offer in offers:
            offer.settle({"early": False})

    def handler(ctx):
        result = ctx.seat.gather(ctx.job.pk, combine)
        ended[ctx.job.pk] = time.monotonic()
        if result["early"]:
            release.set()
        return result

    kind = kinds.add(handler, batchable=True)
    for _ in range(2):
        services.enqueue(kind=kind, owner=user, payload={"batch_key": "k"})
    assert runner.execute_batch(take(wait=0.01)) == ["succeeded", "succeeded"]
    early = [j for j in Job.objects.all() if j.result["early"]]
    assert len(early) == 1 and ended[early[0].pk] == min(ended.values())
