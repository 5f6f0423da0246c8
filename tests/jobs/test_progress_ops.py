"""Progress streams, metrics and the operator console."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync

from stylevault.core import metrics
from stylevault.jobs import services
from stylevault.jobs.models import Job, JobStatus
from stylevault.jobs.selectors import aprogress_events, progress_events
from tests.jobs.helpers import claim

pytestmark = pytest.mark.django_db


def _running_with_progress(kinds, user) -> Job:
    kind = kinds.add()
    services.enqueue(kind=kind, owner=user)
    job = claim()
    services.renew_lease(job, progress={"step": 3, "total": 20, "preview": "data:..."})
    return job


def test_progress_events_from_the_row_until_the_status(kinds, user):
    job = _running_with_progress(kinds, user)
    events = progress_events(job.pk, timeout=10)

    assert next(events) == {
        "event": "progress",
        "data": {"step": 3, "total": 20, "preview": "data:..."},
    }
    services.complete(job, result={})
    assert list(events) == [{"event": "status", "data": {"status": "succeeded"}}]


def test_async_progress_events_for_sse_views(kinds, user):
    job = _running_with_progress(kinds, user)
    services.cancel_job(job_id=job.pk)
    services.fail(job, message="stopped", code="STOPPED")

    async def collect():
        return [event async for event in aprogress_events(job.pk, timeout=10)]

    events = async_to_sync(collect)()

    assert events[0]["event"] == "progress"
    assert events[-1] == {
        "event": "status",
        "data": {"status": "cancelled", "error_code": "CANCELLED"},
    }


def test_unknown_job_ends_the_stream():
    assert list(progress_events(999999, timeout=1)) == [
        {"event": "status", "data": {"status": "not_found"}}
    ]


def test_queue_depth_and_durations_in_metrics(kinds, user):
    kind = kinds.add()
    services.enqueue(kind=kind, owner=user)
    services.enqueue(kind=kind, owner=user)
    claim()

    text = metrics.render().decode()

    assert 'stylevault_job_queue_depth{queue="testq",status="queued"} 1.0' in text
    assert 'stylevault_job_queue_depth{queue="testq",status="running"} 1.0' in text
    assert "stylevault_job_duration_seconds_bucket" in text or "stylevault_job_duration" in text


def test_operators_see_jobs_and_can_cancel_them(client, kinds, make_user, user):
    operator = make_user("operator1", operator=True)
    kind = kinds.add()
    job = services.enqueue(kind=kind, owner=user)
    client.force_login(operator)

    listing = client.get("/admin/jobs/job/")
    assert listing.status_code == 200
    assert kind.encode() in listing.content

    response = client.post(
        "/admin/jobs/job/", {"action": "cancel", "_selected_action": [job.pk]}, follow=True
    )
    assert response.status_code == 200
    job.refresh_from_db()
    assert job.status == JobStatus.CANCELLED


def test_ordinary_users_do_not_see_the_jobs_console(client, user):
    client.force_login(user)
    assert client.get("/admin/jobs/job/").status_code in (302, 403)
