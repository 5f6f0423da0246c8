"""Job time limits: the worker stops a handler at its next step once the attempt's time is
up, the reaper fails a job whose worker renews its lease past the limit, and the owner's
failure hook runs once whichever of them gets there."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from stylevault.core.config import ConfigError, load
from stylevault.jobs import registry, services
from stylevault.jobs.models import Job, JobStatus
from tests.jobs.helpers import claim, work

pytestmark = pytest.mark.django_db(transaction=True)


def _stepping(seconds: float = 30.0):
    """A handler that reports progress every 20 ms and honours the stop signal."""

    def handler(ctx):
        steps = int(seconds / 0.02)
        for step in range(steps):
            time.sleep(0.02)
            if not ctx.report_progress(step, steps):
                break
        ctx.raise_if_stopped()
        return {"done": True}

    return handler


@pytest.fixture
def failures():
    return []


def test_the_worker_stops_a_handler_at_its_next_step_when_the_time_is_up(kinds, failures):
    kind = kinds.add(_stepping(), time_limit_seconds=1, on_failure=failures.append)
    job = services.enqueue(kind=kind)
    assert job.time_limit_seconds == 1

    started = time.monotonic()
    assert work() == JobStatus.FAILED
    assert time.monotonic() - started < 5, "stopped at the limit, not after the 30 s of work"
    job.refresh_from_db()
    assert (job.error_code, job.error) == ("TIME_LIMIT", "the job ran past its time limit of 1 s")
    assert job.attempts == 1, "a time limit is not retried: the next attempt would hang too"
    assert [j.pk for j in failures] == [job.pk]

    services.reap()
    assert len(failures) == 1, "the hook ran once"


def test_a_handler_that_finishes_within_its_limit_succeeds(kinds):
    kind = kinds.add(_stepping(0.2), time_limit_seconds=5)
    services.enqueue(kind=kind)
    assert work() == JobStatus.SUCCEEDED


def test_the_reaper_fails_a_job_renewed_past_its_limit_and_leaves_the_others(kinds, failures):
    kind = kinds.add(time_limit_seconds=60, lease_seconds=30, on_failure=failures.append)
    stuck, fresh, unlimited = (services.enqueue(kind=kind) for _ in range(3))
    Job.objects.filter(pk=unlimited.pk).update(time_limit_seconds=None)
    for name in ("ghost-1", "ghost-2", "ghost-3"):
        assert claim(worker=name) is not None
    # The stuck attempt began 95 s ago (> 60 s limit + 30 s lease), its lease renewed just now.
    long_ago = timezone.now() - timedelta(seconds=95)
    Job.objects.filter(pk__in=[stuck.pk, unlimited.pk]).update(started_at=long_ago)
    Job.objects.filter(pk=fresh.pk).update(started_at=timezone.now() - timedelta(seconds=80))

    report = services.reap()

    assert report[JobStatus.FAILED] == 1
    statuses = dict(Job.objects.values_list("pk", "status"))
    assert statuses == {
        stuck.pk: JobStatus.FAILED,
        fresh.pk: JobStatus.RUNNING,  # past its limit, but not by a lease yet: its worker's turn
        unlimited.pk: JobStatus.RUNNING,
    }
    assert Job.objects.get(pk=stuck.pk).error_code == "TIME_LIMIT"
    assert [j.pk for j in failures] == [stuck.pk]
    services.reap()
    assert len(failures) == 1


def test_limits_scale_with_items_and_the_environment_overrides_them(kinds, settings):
    kind = kinds.add(time_limit_seconds=600, time_limit_per_item_seconds=60)
    assert services.enqueue(kind=kind, items=4).time_limit_seconds == 600 + 4 * 60
    settings.STYLEVAULT_JOB_TIME_LIMITS = {kind: {"seconds": 10.0, "per_item": 2.5}}
    assert services.enqueue(kind=kind, items=4).time_limit_seconds == 20
    assert services.enqueue(kind=kinds.add()).time_limit_seconds is None


def test_the_products_kinds_have_limits_that_fit_a_real_gpu():
    from stylevault.generation.services import GENERATION_JOB
    from stylevault.jobs import conf
    from stylevault.styles.services import TRAINING_JOB

    assert conf.time_limit_seconds(registry.get(GENERATION_JOB), items=4) == 600 + 4 * 60
    assert conf.time_limit_seconds(registry.get(TRAINING_JOB)) == 2 * 3600


@pytest.mark.parametrize(
    "value",
    ['{"generation": -1}', '{"generation": {"seconds": "ten"}}', '{"generation": {"minutes": 3}}'],
)
def test_bad_time_limits_are_a_configuration_error(value, tmp_path):
    with pytest.raises(ConfigError) as error:
        load({"STYLEVAULT_DATA_DIR": str(tmp_path), "STYLEVAULT_JOB_TIME_LIMITS": value})
    assert any("STYLEVAULT_JOB_TIME_LIMITS" in problem for problem in error.value.problems)


def test_time_limits_from_the_environment(tmp_path):
    config = load(
        {
            "STYLEVAULT_DATA_DIR": str(tmp_path),
            "STYLEVAULT_JOB_TIME_LIMITS": '{"generation": {"seconds": 900, "per_item": 30}, '
            '"style_training": 3600}',
        }
    )
    assert config.engine["job_time_limits"] == {
        "generation": {"seconds": 900.0, "per_item": 30.0},
        "style_training": {"seconds": 3600.0, "per_item": 0.0},
    }
