"""Outcomes, retries, cancel, the reaper and expiry: every end is written once, with its hook."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from stylevault.core import errors
from stylevault.jobs import registry, runner, services
from stylevault.jobs.models import Job, JobStatus
from tests.jobs.helpers import claim, work

pytestmark = pytest.mark.django_db


class Hooks:
    """Records hook calls: (hook, job id, status the job had when the hook ran)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, int, str]] = []

    def on_success(self, job, result) -> None:
        self.calls.append(("success", job.pk, job.status))

    def on_failure(self, job) -> None:
        self.calls.append(("failure", job.pk, job.status))

    def on_retry(self, job) -> None:
        self.calls.append(("retry", job.pk, job.status))

    def options(self) -> dict:
        return {
            "on_success": self.on_success,
            "on_failure": self.on_failure,
            "on_retry": self.on_retry,
        }


@pytest.fixture
def hooks() -> Hooks:
    return Hooks()


def _expire_lease(job: Job) -> None:
    Job.objects.filter(pk=job.pk).update(lease_expires_at=timezone.now() - timedelta(hours=1))


def _due_now(job: Job) -> None:
    Job.objects.filter(pk=job.pk).update(run_after=timezone.now() - timedelta(hours=1))


# ----------------------------------------------------------------------------- success


def test_success_records_result_and_runs_on_success_once(kinds, hooks, user):
    kind = kinds.add(lambda ctx: {"images": [ctx.job.payload["n"]]}, **hooks.options())
    job = services.enqueue(kind=kind, owner=user, payload={"n": 7})

    assert work() == JobStatus.SUCCEEDED

    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED
    assert job.result == {"images": [7]}
    assert job.finished_at is not None and job.lease_expires_at is None
    assert hooks.calls == [("success", job.pk, JobStatus.SUCCEEDED)]


def test_failing_effects_roll_back_with_the_outcome(kinds, hooks, user):
    """on_success's writes and the 'succeeded' status commit together or not at all."""

    def deliver(job, result):
        get_user_model().objects.create(username="made-by-the-hook")
        raise RuntimeError("storage is full")

    kind = kinds.add(on_success=deliver, on_failure=hooks.on_failure)
    job = services.enqueue(kind=kind, owner=user)

    assert work() == JobStatus.FAILED

    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and job.error_code == "INTERNAL_ERROR"
    assert "storage is full" in job.error
    assert not get_user_model().objects.filter(username="made-by-the-hook").exists()
    assert hooks.calls == [("failure", job.pk, JobStatus.FAILED)]


def test_handler_error_fails_without_retry(kinds, hooks, user):
    calls = []

    def broken(ctx):
        calls.append(1)
        raise KeyError("bug")

    kind = kinds.add(broken, max_attempts=5, **hooks.options())
    job = services.enqueue(kind=kind, owner=user)

    assert work() == JobStatus.FAILED
    assert work() is None
    assert len(calls) == 1
    job.refresh_from_db()
    assert (job.status, job.error_code, job.attempts) == (JobStatus.FAILED, "INTERNAL_ERROR", 1)
    assert hooks.calls == [("failure", job.pk, JobStatus.FAILED)]


def test_job_failed_carries_the_apps_error_code(kinds, hooks, user):
    def refuse(ctx):
        raise registry.JobFailed("prompt refused", code="CONTENT_POLICY")

    kind = kinds.add(refuse, **hooks.options())
    job = services.enqueue(kind=kind, owner=user)

    assert work() == JobStatus.FAILED
    job.refresh_from_db()
    assert (job.error_code, job.error) == ("CONTENT_POLICY", "prompt refused")


# ----------------------------------------------------------------------------- retries


def test_transient_errors_retry_with_exponential_backoff_then_fail(kinds, hooks, user):
    def flaky(ctx):
        raise registry.TransientError("GPU busy")

    kind = kinds.add(flaky, max_attempts=3, backoff_seconds=10, **hooks.options())
    job = services.enqueue(kind=kind, owner=user)
    waits = []

    for attempt in (1, 2):
        assert work() == JobStatus.QUEUED
        job.refresh_from_db()
        assert (job.status, job.attempts, job.error_code) == (
            JobStatus.QUEUED,
            attempt,
            "TRANSIENT",
        )
        waits.append((job.run_after - timezone.now()).total_seconds())
        assert work() is None, "not before its backoff"
        _due_now(job)
    assert work() == JobStatus.FAILED

    job.refresh_from_db()
    assert (job.status, job.attempts) == (JobStatus.FAILED, 3)
    assert 7 <= waits[0] <= 12 and 15 <= waits[1] <= 24, waits  # 10 s, then 20 s, ±20%
    assert hooks.calls == [("failure", job.pk, JobStatus.FAILED)]


def test_transient_then_success(kinds, hooks, user):
    def once_flaky(ctx):
        if ctx.job.attempts == 1:
            raise registry.TransientError("network blip")
        return {"attempt": ctx.job.attempts}

    kind = kinds.add(once_flaky, backoff_seconds=0.01, **hooks.options())
    job = services.enqueue(kind=kind, owner=user)
    work()
    _due_now(job)

    assert work() == JobStatus.SUCCEEDED
    job.refresh_from_db()
    assert job.result == {"attempt": 2}
    assert hooks.calls == [("success", job.pk, JobStatus.SUCCEEDED)]


# ----------------------------------------------------------------------------- cancel


def test_cancel_queued_job_at_once_with_hook_once(kinds, hooks, user):
    kind = kinds.add(**hooks.options())
    job = services.enqueue(kind=kind, owner=user)

    services.cancel_job(job_id=job.pk)
    services.cancel_job(job_id=job.pk)  # idempotent

    job.refresh_from_db()
    assert job.status == JobStatus.CANCELLED
    assert hooks.calls == [("failure", job.pk, JobStatus.CANCELLED)]
    assert work() is None


def test_cancel_running_job_stops_at_its_next_step(kinds, hooks, user, monkeypatch):
    monkeypatch.setattr(runner, "PROGRESS_MIN_INTERVAL", 0)  # steps here take no time
    steps = []

    def long_render(ctx):
        for step in range(1, 101):
            steps.append(step)
            if step == 3:  # meanwhile the owner presses "cancel" in the browser
                services.cancel_job(job_id=ctx.job.pk)
            if not ctx.report_progress(step, 100):
                raise registry.JobStopped()
        return {}

    kind = kinds.add(long_render, **hooks.options())
    job = services.enqueue(kind=kind, owner=user)

    assert work() == JobStatus.CANCELLED

    job.refresh_from_db()
    assert job.status == JobStatus.CANCELLED and job.cancel_requested
    assert len(steps) == 3, "the handler saw should_stop() at the next progress report"
    assert hooks.calls == [("failure", job.pk, JobStatus.CANCELLED)]


def test_engine_style_cancel_exception_counts_as_the_cancel(kinds, hooks, user):
    class RenderCancelled(Exception):
        pass

    def render(ctx):
        services.cancel_job(job_id=ctx.job.pk)
        ctx.report_progress(1, 10)
        if ctx.should_stop():
            raise RenderCancelled()
        return {}

    kind = kinds.add(render, **hooks.options())
    services.enqueue(kind=kind, owner=user)

    assert work() == JobStatus.CANCELLED
    assert [c[0] for c in hooks.calls] == ["failure"]


def test_a_cancel_that_arrives_before_the_outcome_wins(kinds, hooks, user):
    def quick(ctx):
        services.cancel_job(job_id=ctx.job.pk)  # never looks at should_stop()
        return {"done": True}

    kind = kinds.add(quick, **hooks.options())
    job = services.enqueue(kind=kind, owner=user)

    assert work() == JobStatus.CANCELLED
    assert hooks.calls == [("failure", job.pk, JobStatus.CANCELLED)]


def test_cancel_of_a_finished_job_is_a_conflict(kinds, user):
    kind = kinds.add()
    job = services.enqueue(kind=kind, owner=user)
    work()

    with pytest.raises(errors.Conflict):
        services.cancel_job(job_id=job.pk)
    with pytest.raises(errors.NotFound):
        services.cancel_job(job_id=job.pk + 1000)


# ----------------------------------------------------------------------------- reaper


def test_reaper_requeues_an_expired_lease_counting_the_attempt(kinds, hooks, user):
    kind = kinds.add(max_attempts=3, backoff_seconds=0.01, **hooks.options())
    job = services.enqueue(kind=kind, owner=user)
    claimed = claim(worker="dead-worker")
    _expire_lease(claimed)

    report = services.reap()

    job.refresh_from_db()
    assert report == {JobStatus.QUEUED: 1}
    assert (job.status, job.attempts, job.worker) == (JobStatus.QUEUED, 1, "")
    assert job.error_code == "LEASE_EXPIRED"
    assert hooks.calls == []
    _due_now(job)
    assert work() == JobStatus.SUCCEEDED
    job.refresh_from_db()
    assert job.attempts == 2


def test_reaper_fails_after_the_last_attempt_with_hook_once(kinds, hooks, user):
    kind = kinds.add(max_attempts=1, **hooks.options())
    job = services.enqueue(kind=kind, owner=user)
    _expire_lease(claim())

    services.reap()
    services.reap()

    job.refresh_from_db()
    assert (job.status, job.error_code) == (JobStatus.FAILED, "LEASE_EXPIRED")
    assert hooks.calls == [("failure", job.pk, JobStatus.FAILED)]


def test_reaper_leaves_live_leases_alone(kinds, user):
    kind = kinds.add()
    services.enqueue(kind=kind, owner=user)
    claim()

    assert services.reap() == {}


def test_reaped_cancel_requested_job_ends_cancelled(kinds, hooks, user):
    kind = kinds.add(**hooks.options())
    job = services.enqueue(kind=kind, owner=user)
    claimed = claim()
    services.cancel_job(job_id=job.pk)
    _expire_lease(claimed)

    services.reap()

    job.refresh_from_db()
    assert job.status == JobStatus.CANCELLED
    assert hooks.calls == [("failure", job.pk, JobStatus.CANCELLED)]


def test_a_worker_whose_lease_was_taken_over_cannot_commit(kinds, hooks, user):
    """The slow worker's result is thrown away: only the new holder's outcome counts."""
    effects = []

    def slow(ctx):
        if ctx.job.attempts == 1:
            _expire_lease(ctx.job)
            services.reap()  # the reaper hands the job back...
            _due_now(ctx.job)
            assert claim(worker="w2") is not None  # ...and another worker claims it
            assert ctx.report_progress(1, 2) is False, "progress tells it the lease is lost"
        return {"by": ctx.job.worker}

    def deliver(job, result):
        effects.append(result)

    kind = kinds.add(slow, on_success=deliver)
    job = services.enqueue(kind=kind, owner=user)

    assert work(worker="w1") is None
    job.refresh_from_db()
    assert (job.status, job.worker, job.attempts) == (JobStatus.RUNNING, "w2", 2)
    assert effects == []
    assert services.complete(job, result={"by": "w2"}) == JobStatus.SUCCEEDED
    assert effects == [{"by": "w2"}]


# ----------------------------------------------------------------------------- expiry


def test_queued_job_past_its_deadline_expires_with_hook_once(kinds, hooks, user):
    kind = kinds.add(**hooks.options())
    job = services.enqueue(kind=kind, owner=user, expires_in=timedelta(minutes=5))
    fresh = services.enqueue(kind=kind, owner=user, expires_in=timedelta(minutes=5))
    Job.objects.filter(pk=job.pk).update(expires_at=timezone.now() - timedelta(hours=1))

    assert services.reap() == {JobStatus.EXPIRED: 1}
    assert services.reap() == {}

    job.refresh_from_db()
    assert (job.status, job.error_code) == (JobStatus.EXPIRED, "EXPIRED")
    assert hooks.calls == [("failure", job.pk, JobStatus.EXPIRED)]
    assert Job.objects.get(pk=fresh.pk).status == JobStatus.QUEUED


# ----------------------------------------------------------------------------- retry by operators


def test_operator_retry_requeues_and_calls_on_retry(kinds, hooks, user):
    kind = kinds.add(lambda ctx: (_ for _ in ()).throw(KeyError("x")), **hooks.options())
    job = services.enqueue(kind=kind, owner=user)
    work()

    services.retry_job(job_id=job.pk)

    job.refresh_from_db()
    assert (job.status, job.attempts, job.error) == (JobStatus.QUEUED, 0, "")
    assert [c[0] for c in hooks.calls] == ["failure", "retry"]


def test_retry_refused_when_failure_effects_cannot_be_redone(kinds, hooks, user):
    kind = kinds.add(lambda ctx: 1 / 0, on_failure=hooks.on_failure)
    job = services.enqueue(kind=kind, owner=user)
    work()

    with pytest.raises(errors.Conflict):
        services.retry_job(job_id=job.pk)


def test_retry_of_a_succeeded_job_is_a_conflict(kinds, user):
    kind = kinds.add()
    job = services.enqueue(kind=kind, owner=user)
    work()

    with pytest.raises(errors.Conflict):
        services.retry_job(job_id=job.pk)


# ----------------------------------------------------------------------------- progress, stop


def test_progress_is_throttled_but_the_last_step_is_written(kinds, user):
    writes = []

    def chatty(ctx):
        with CaptureQueriesContext(connection) as queries:
            for step in range(1, 201):
                ctx.report_progress(step, 200, loss=0.5)
        writes.extend(q for q in queries if "heartbeat_at" in q["sql"])
        return {}

    kind = kinds.add(chatty)
    job = services.enqueue(kind=kind, owner=user)
    work()

    job.refresh_from_db()
    assert job.progress == {"step": 200, "total": 200, "loss": 0.5}
    assert 1 <= len(writes) <= 3, len(writes)


def test_shutdown_hands_the_job_back_without_counting_the_attempt(kinds, hooks, user):
    def long(ctx):
        runner.SHUTDOWN.grace_seconds = 0
        runner.SHUTDOWN.request()  # SIGTERM arrives
        assert ctx.should_stop() and ctx.stop_reason == runner.STOP_SHUTDOWN
        ctx.raise_if_stopped()

    kind = kinds.add(long, **hooks.options())
    job = services.enqueue(kind=kind, owner=user)

    assert work() == JobStatus.QUEUED

    job.refresh_from_db()
    assert (job.status, job.attempts, job.worker) == (JobStatus.QUEUED, 0, "")
    assert hooks.calls == []


def test_enqueue_wakes_workers_only_after_commit(kinds, user, django_capture_on_commit_callbacks):
    kind = kinds.add()
    with django_capture_on_commit_callbacks() as callbacks:
        services.enqueue(kind=kind, owner=user)
    assert len(callbacks) == 1
