"""The claim: one conditional UPDATE, in priority, then per-owner round-robin, order."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from stylevault.jobs import services
from stylevault.jobs.models import Job, JobStatus
from tests.jobs.helpers import claim

pytestmark = pytest.mark.django_db


def _drain(queue: str = "testq") -> list[Job]:
    """Claims until nothing is left, finishing each job so owner limits free up."""
    order = []
    while (job := claim(queue)) is not None:
        order.append(job)
        services.complete(job, result=None)
    return order


def test_claim_marks_the_job_running_with_a_lease(kinds, user):
    kind = kinds.add(lease_seconds=30)
    job = services.enqueue(kind=kind, owner=user, payload={"n": 1})

    claimed = claim(worker="host:1:0:abc")

    assert claimed.pk == job.pk
    assert claimed.status == JobStatus.RUNNING
    assert claimed.attempts == 1
    assert claimed.worker == "host:1:0:abc"
    assert claimed.payload == {"n": 1}
    left = (claimed.lease_expires_at - claimed.heartbeat_at).total_seconds()
    assert 29 <= left <= 31
    assert claim() is None, "a running job is not claimed twice"


def test_higher_priority_first_then_oldest(kinds, make_user):
    kind = kinds.add()
    low = services.enqueue(kind=kind, owner=make_user("low"), priority=0)
    high = services.enqueue(kind=kind, owner=make_user("high"), priority=20)
    mid = services.enqueue(kind=kind, owner=make_user("mid"), priority=10)
    low2 = services.enqueue(kind=kind, owner=make_user("low2"), priority=0)

    assert [j.pk for j in _drain()] == [high.pk, mid.pk, low.pk, low2.pk]


def test_one_owners_bulk_request_does_not_starve_others(kinds, make_user):
    """Round-robin across owners: A's 6 jobs, then B's 2 and C's 1, interleave."""
    kind = kinds.add()
    a, b, c = make_user("ann"), make_user("bob"), make_user("cat")
    a_jobs = [services.enqueue(kind=kind, owner=a) for _ in range(6)]
    b_jobs = [services.enqueue(kind=kind, owner=b) for _ in range(2)]
    c_jobs = [services.enqueue(kind=kind, owner=c)]

    owners = [j.owner.username for j in _drain()]

    assert owners == ["ann", "bob", "cat", "ann", "bob", "ann", "ann", "ann", "ann"]
    assert len(a_jobs) + len(b_jobs) + len(c_jobs) == len(owners)


def test_newcomer_joins_the_current_round_not_the_end(kinds, make_user):
    kind = kinds.add()
    a, b = make_user("ann"), make_user("bob")
    for _ in range(5):
        services.enqueue(kind=kind, owner=a)
    first = claim()
    services.complete(first, result=None)
    second = claim()
    services.complete(second, result=None)
    late = services.enqueue(kind=kind, owner=b)

    next_two = [claim().pk, claim().pk]
    assert late.pk in next_two, "B waits for at most one of A's jobs, not all of them"


def test_owner_limit_on_running_jobs(kinds, make_user):
    kind = kinds.add()
    a, b = make_user("ann"), make_user("bob")
    for _ in range(3):
        services.enqueue(kind=kind, owner=a, max_running=2)
    b_job = services.enqueue(kind=kind, owner=b, max_running=2)

    first, second, third = claim(), claim(), claim()

    assert {first.owner_id, second.owner_id} == {a.pk, b.pk}
    assert third.owner_id == a.pk
    assert claim() is None, "ann already runs 2 jobs: her third waits"
    assert b_job.pk in {first.pk, second.pk}
    services.complete(third, result=None)
    assert claim().owner_id == a.pk, "a finished job frees a slot"


def test_limit_counts_only_the_same_kind(kinds, user):
    render, train = kinds.add(), kinds.add()
    services.enqueue(kind=render, owner=user, max_running=1)
    services.enqueue(kind=train, owner=user, max_running=1)

    assert claim() is not None
    assert claim() is not None


def test_not_before_run_after_and_not_after_expiry(kinds, user):
    kind = kinds.add()
    services.enqueue(kind=kind, owner=user, delay=timedelta(hours=1))
    expired = services.enqueue(kind=kind, owner=user, expires_in=timedelta(hours=1))
    Job.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(hours=1))

    assert claim() is None


def test_queues_and_kinds_filter_the_claim(kinds, user):
    known = kinds.add(queue="gpu")
    services.enqueue(kind=known, owner=user)

    assert services.claim(queues=["cpu"], worker="w") is None
    assert services.claim(queues=["gpu"], worker="w", kinds=["other"]) is None
    assert services.claim(queues=["cpu", "gpu"], worker="w") is not None


def test_unknown_kind_cannot_be_enqueued():
    with pytest.raises(ValueError, match="no handler"):
        services.enqueue(kind="nobody.handles.this")


def test_claim_is_one_statement(kinds, user):
    kind = kinds.add()
    services.enqueue(kind=kind, owner=user)

    with CaptureQueriesContext(connection) as queries:
        assert claim() is not None

    statements = [q["sql"] for q in queries if "SAVEPOINT" not in q["sql"]]
    updates = [s for s in statements if s.lstrip().startswith("UPDATE")]
    assert len(updates) == 1
    # SQLite also reads first, which spares idle workers the database-wide write lock.
    assert len(statements) == (2 if connection.vendor == "sqlite" else 1)
