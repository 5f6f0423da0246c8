"""The Celery app of distributed mode. Import only after Django is set up.

One task, `wake(queue)`: claim the best job of that queue with the same conditional UPDATE
as a polling worker, and run it. Settings for long jobs (acks late, prefetch 1, redelivery
timeouts) are explained in docs/jobs.md.
"""

from __future__ import annotations

import threading

from celery import Celery, signals

from stylevault.jobs import conf, runner

_SETTINGS = dict(
    broker_connection_retry_on_startup=True,
    # The message is acknowledged after the job ran, and a worker that dies hands it back.
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    # One message at a time per worker process: a long job must not sit on a second one.
    worker_prefetch_multiplier=1,
    # Queues are declared with x-max-priority; the tier sets the message priority.
    task_queue_max_priority=conf.BROKER_MAX_PRIORITY + 1,
    task_default_priority=0,
    task_ignore_result=True,
    result_backend=None,
    # Publishing happens after a web request committed: fail fast, top-up republishes.
    task_publish_retry_policy={
        "max_retries": 2,
        "interval_start": 0,
        "interval_step": 0.2,
        "interval_max": 0.5,
    },
    worker_hijack_root_logger=False,
    worker_send_task_events=False,
    worker_enable_remote_control=False,
)


def _transport_options(url: str) -> dict:
    if not url.startswith("redis"):
        return {}
    return {
        # An unacknowledged message comes back after this long; longer than any job.
        "visibility_timeout": conf.REDIS_VISIBILITY_TIMEOUT_SECONDS,
        # Ten priority lists per queue, so 0..9 keep their order (0 is served first).
        "priority_steps": list(range(conf.BROKER_MAX_PRIORITY + 1)),
        "sep": ":",
        "queue_order_strategy": "priority",
    }


def make_app(url: str) -> Celery:
    made = Celery("stylevault", set_as_current=False)
    made.conf.update(
        _SETTINGS,
        broker_url=url or "memory://",
        broker_transport_options=_transport_options(url),
    )
    return made


app = make_app(conf.broker_url())
_apps = {app.conf.broker_url: app}
_apps_lock = threading.Lock()


def connected_app() -> Celery:
    """The app for the broker configured now: the worker's own, or (when the setting changed
    since import, as tests do) a publishing app for the new broker."""
    url = conf.broker_url() or "memory://"
    with _apps_lock:
        if url not in _apps:
            _apps[url] = make_app(url)
        return _apps[url]


@app.task(name=conf.WAKE_TASK, ignore_result=True)
def wake(queue: str, job_id: int | None = None) -> str | None:
    """Claims and runs the best claimable job of `queue`; `job_id` is only for the logs."""
    jobs = runner.claim_for_worker([queue])
    if not jobs:
        return None
    return runner.execute_batch(jobs)[0]


@signals.worker_shutting_down.connect
def _graceful_stop(**kwargs) -> None:
    runner.SHUTDOWN.request()
