"""The autoscaling signals in /metrics: jobs that could run now and the age of the oldest,
per queue and tier priority."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from stylevault.jobs import services
from stylevault.jobs.models import Job

pytestmark = pytest.mark.django_db


def _value(text: str, name: str, **labels: str) -> float | None:
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    found = re.search(rf"^{name}\{{{re.escape(wanted)}\}} (\S+)$", text, re.MULTILINE)
    return None if found is None else float(found.group(1))


def test_backlog_and_oldest_age_per_queue_and_priority(client, kinds):
    kind = kinds.add(queue="scaleq")
    old = services.enqueue(kind=kind, priority=5)
    services.enqueue(kind=kind, priority=5)
    services.enqueue(kind=kind, priority=0)
    services.enqueue(kind=kind, priority=0, delay=timedelta(hours=1))  # cannot run yet
    Job.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(seconds=90))

    text = client.get("/metrics").content.decode()

    assert _value(text, "stylevault_job_backlog", queue="scaleq", priority="5") == 2
    assert _value(text, "stylevault_job_backlog", queue="scaleq", priority="0") == 1
    age = _value(text, "stylevault_job_oldest_age_seconds", queue="scaleq", priority="5")
    assert 90 <= age < 120
    assert _value(text, "stylevault_job_oldest_age_seconds", queue="scaleq", priority="0") < 30
