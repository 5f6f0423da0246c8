"""Waking workers: a broker message per job with a broker, the doorbell without one.

A message carries no authority: it is a token that makes one worker try one claim on its
queue, and the claim (the database) picks the job by priority and fairness. So a duplicate
message costs one empty claim, and a lost one is replaced by `top_up`, which every broker
worker runs periodically: it publishes a token for each claimable job that has none waiting.
"""

from __future__ import annotations

import logging
from functools import partial

from django.db import transaction

from stylevault.jobs import conf, wakeup

log = logging.getLogger(__name__)

# Upper bound on tokens one top-up publishes per queue, so a huge backlog is fed gradually.
TOP_UP_BATCH = 500
# Jobs younger than this are left out of the top-up: their own message is normally still
# being published (a burst of thousands takes a moment), and a surplus costs empty claims.
TOP_UP_SETTLE_SECONDS = 2.0


def message_priority(priority: int, *, broker_url: str | None = None) -> int:
    """Job priority (higher first) → broker priority 0..9 (RabbitMQ: 9 first; Redis: 0 first)."""
    clamped = max(0, min(conf.BROKER_MAX_PRIORITY, priority))
    url = conf.broker_url() if broker_url is None else broker_url
    return conf.BROKER_MAX_PRIORITY - clamped if url.startswith("redis") else clamped


def announce(*, queue: str, priority: int, job_id: int | None = None) -> None:
    """After the current transaction commits, tell workers of `queue` there is work."""
    if conf.broker_url():
        transaction.on_commit(partial(publish_wakeup, queue, priority, job_id))
    else:
        transaction.on_commit(wakeup.ring)


def publish_wakeup(queue: str, priority: int, job_id: int | None = None) -> bool:
    """Sends one wake-up token; a failure is logged and left to the next top-up."""
    # Celery is loaded only by a process that talks to a broker (none in the embedded mode).
    from stylevault.jobs.celery import connected_app

    try:
        connected_app().send_task(
            conf.WAKE_TASK,
            args=[queue, job_id],
            queue=conf.broker_queue(queue),
            priority=message_priority(priority),
        )
    except Exception:  # the broker being down must not fail the request that enqueued
        log.warning("could not publish a wake-up for queue %s; top-up will retry", queue)
        return False
    return True


def waiting_messages(queue: str) -> int:
    """Messages ready in the broker queue (declared with the same arguments as Celery's)."""
    # Celery is loaded only by a process that talks to a broker (none in the embedded mode).
    from stylevault.jobs.celery import connected_app

    app = connected_app()
    declared = app.amqp.queues[conf.broker_queue(queue)]
    with app.connection_for_write() as connection:
        _name, count, _consumers = declared.bind(connection.default_channel).queue_declare()
    return count


def top_up(queues: list[str]) -> int:
    """Publishes tokens for claimable jobs beyond the messages already waiting."""
    # jobs.selectors reads progress through Redis; only a top-up needs it.
    from stylevault.jobs import selectors

    published = 0
    for queue in queues:
        priorities = selectors.claimable_priorities(
            queue=queue, limit=TOP_UP_BATCH, settled_seconds=TOP_UP_SETTLE_SECONDS
        )
        if not priorities:
            continue
        missing = priorities[waiting_messages(queue) :]
        for priority in missing:
            published += publish_wakeup(queue, priority)
    if published:
        log.info("published %d wake-up(s) for claimable jobs without a message", published)
    return published
