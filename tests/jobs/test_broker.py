"""Publishing to RabbitMQ: priority queues, message priorities, and the top-up of lost tokens."""

from __future__ import annotations

import contextlib
import socket
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from stylevault.jobs import conf, dispatch, services
from stylevault.jobs.models import Job

pytestmark = pytest.mark.django_db

RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:5672//"


def test_message_priority_clamps_and_follows_each_brokers_order():
    amqp, redis = "amqp://x", "redis://x"
    assert [dispatch.message_priority(p, broker_url=amqp) for p in (-5, 0, 4, 9, 50)] == [
        0,
        0,
        4,
        9,
        9,
    ]
    # kombu's Redis transport serves priority 0 first, so the scale is turned around.
    assert [dispatch.message_priority(p, broker_url=redis) for p in (0, 4, 9)] == [9, 5, 0]


@pytest.fixture
def rabbit_queue(settings):
    try:
        socket.create_connection(("127.0.0.1", 5672), timeout=1).close()
    except OSError:
        pytest.fail("RabbitMQ is not reachable on 127.0.0.1:5672 (run `make services`)")
    settings.STYLEVAULT_BROKER_URL = RABBITMQ_URL
    queue = f"prio-{uuid.uuid4().hex[:8]}"
    yield queue
    from kombu import Connection

    with Connection(RABBITMQ_URL) as conn, contextlib.suppress(Exception):
        conn.default_channel.queue_delete(conf.broker_queue(queue))


def _messages(queue: str) -> list:
    from stylevault.jobs.celery import connected_app

    app = connected_app()
    declared = app.amqp.queues[conf.broker_queue(queue)]
    found = []
    with app.connection_for_write() as connection:
        bound = declared.bind(connection.default_channel)
        while (message := bound.get(no_ack=True)) is not None:
            found.append(message)
    return found


def test_enqueue_publishes_after_commit_with_the_tier_priority(
    kinds, make_user, rabbit_queue, django_capture_on_commit_callbacks
):
    kind = kinds.add(queue=rabbit_queue)
    with django_capture_on_commit_callbacks(execute=True):
        low = services.enqueue(kind=kind, owner=make_user("free"), priority=2)
        high = services.enqueue(kind=kind, owner=make_user("pro"), priority=7)

    messages = _messages(rabbit_queue)

    # The queue is a priority queue: the later, higher-priority message comes out first.
    assert [m.properties["priority"] for m in messages] == [7, 2]
    assert [m.payload[0] for m in messages] == [[rabbit_queue, high.pk], [rabbit_queue, low.pk]]


def test_top_up_replaces_lost_wake_ups(kinds, user, rabbit_queue):
    kind = kinds.add(queue=rabbit_queue)
    for _ in range(3):
        services.enqueue(kind=kind, owner=user)  # in the test transaction: nothing published
    fresh = services.enqueue(kind=kind, owner=user)
    # Older than the settle time, except one: its own message may still be on its way.
    Job.objects.exclude(pk=fresh.pk).update(created_at=timezone.now() - timedelta(minutes=1))
    dispatch.publish_wakeup(rabbit_queue, 0)

    assert dispatch.waiting_messages(rabbit_queue) == 1
    assert dispatch.top_up([rabbit_queue]) == 2
    assert dispatch.waiting_messages(rabbit_queue) == 3
    assert dispatch.top_up([rabbit_queue]) == 0
