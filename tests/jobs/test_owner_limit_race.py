"""The per-owner running limit holds exactly when claims race (on PostgreSQL the claim's
own count cannot see a racing claim that has not committed; services.claim re-counts under
an advisory lock)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from stylevault.jobs import services
from stylevault.jobs.models import Job, JobStatus

pytestmark = pytest.mark.django_db(transaction=True)

CLAIMERS = 6
ROUNDS = 8


def _claim_together(queue: str) -> list[Job | None]:
    barrier = threading.Barrier(CLAIMERS)
    results: list[Job | None] = [None] * CLAIMERS
    errors: list[BaseException] = []

    def claimer(n: int) -> None:
        try:
            barrier.wait()
            results[n] = services.claim(queues=[queue], worker=f"racer-{n}")
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=claimer, args=(n,)) for n in range(CLAIMERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    return results


@pytest.mark.parametrize("limit", [1, 2])
def test_racing_claims_never_let_an_owner_past_the_limit(kinds, make_user, limit):
    kind = kinds.add(queue="raceq")
    owner, other = make_user("racer"), make_user("bystander")
    for round_ in range(ROUNDS):
        Job.objects.all().delete()
        for _ in range(CLAIMERS):
            services.enqueue(kind=kind, owner=owner, max_running=limit)
        services.enqueue(kind=kind, owner=other, max_running=limit)

        claimed = [job for job in _claim_together("raceq") if job is not None]

        running = Job.objects.filter(owner=owner, status=JobStatus.RUNNING).count()
        assert running <= limit, f"round {round_}: {running} running, limit {limit}"
        assert len({job.pk for job in claimed}) == len(claimed), "a job claimed twice"
    # The claims that lost the race left their jobs claimable: the limit fills up.
    while services.claim(queues=["raceq"], worker="late") is not None:
        pass
    assert Job.objects.filter(owner=owner, status=JobStatus.RUNNING).count() == limit
