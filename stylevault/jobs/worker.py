"""Worker processes: the polling loop (embedded mode) and the Celery worker (with a broker).

Both run the maintenance loop (the reaper and, with a broker, the wake-up top-up) in every
worker process, so no separate scheduler process is needed.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading

from django.db import close_old_connections, connection

from stylevault.jobs import conf, dispatch, registry, runner, services
from stylevault.jobs.wakeup import Doorbell

log = logging.getLogger(__name__)

POLL_MIN_SECONDS = 0.05
POLL_MAX_SECONDS = 0.5
MAINTENANCE_SECONDS = 1.0


def idle_too_long(exit_when_idle: float | None) -> bool:
    """`--exit-when-idle`: this process has run no job for that long (scale to zero)."""
    if exit_when_idle is None or runner.KEEPER.idle_seconds() < exit_when_idle:
        return False
    log.info("no job for %.0f s: exiting (--exit-when-idle)", exit_when_idle)
    return True


def maintain(*, queues: list[str], with_broker: bool) -> None:
    """One maintenance pass; errors are logged, never raised (the loop must go on)."""
    try:
        close_old_connections()
        report = services.reap()
        if report:
            log.info("reaper: %s", dict(report))
        if with_broker:
            dispatch.top_up(queues)
    except Exception:
        log.exception("job maintenance failed; trying again next round")


class MaintenanceThread(threading.Thread):
    def __init__(
        self,
        *,
        queues: list[str],
        with_broker: bool,
        interval: float,
        exit_when_idle: float | None = None,
        on_idle=None,
    ) -> None:
        super().__init__(name="stylevault-job-maintenance", daemon=True)
        self.queues, self.with_broker, self.interval = queues, with_broker, interval
        self.exit_when_idle, self.on_idle = exit_when_idle, on_idle
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(self.interval):
            maintain(queues=self.queues, with_broker=self.with_broker)
            if self.on_idle is not None and idle_too_long(self.exit_when_idle):
                self.on_idle()
                break
        connection.close()


class PollingWorker:
    """Claims from the database: at once while there is work, backing off to
    POLL_MAX_SECONDS when idle, and woken early by the doorbell when a job is enqueued."""

    def __init__(
        self,
        *,
        queues: list[str],
        concurrency: int = 1,
        maintenance_interval: float = MAINTENANCE_SECONDS,
        shutdown: runner.Shutdown | None = None,
        exit_when_idle: float | None = None,
    ) -> None:
        self.queues = queues
        self.concurrency = concurrency
        self.maintenance_interval = maintenance_interval
        self.exit_when_idle = exit_when_idle
        self.shutdown = shutdown or runner.SHUTDOWN
        self.doorbell = Doorbell()

    def run(self) -> None:
        """Blocks until shutdown is requested and every slot has finished its job."""
        self.doorbell.open()
        slots = [
            threading.Thread(target=self._slot, name=f"stylevault-worker-{n}", daemon=True)
            for n in range(self.concurrency)
        ]
        for slot in slots:
            slot.start()
        try:
            while not self.shutdown.requested.wait(self.maintenance_interval):
                maintain(queues=self.queues, with_broker=False)
                if idle_too_long(self.exit_when_idle):
                    self.shutdown.request()
        finally:
            for slot in slots:
                slot.join()
            self.doorbell.close()

    def _slot(self) -> None:
        delay = POLL_MIN_SECONDS
        try:
            while not self.shutdown.requested.is_set():
                try:
                    worked = self._work_once()
                except Exception:  # a slot must survive anything, or capacity silently shrinks
                    log.exception("worker slot error; going on")
                    worked = False
                if worked:
                    delay = POLL_MIN_SECONDS
                    continue
                self.doorbell.wait(delay)
                delay = min(POLL_MAX_SECONDS, delay * 2)
        finally:
            connection.close()

    def _work_once(self) -> bool:
        try:
            jobs = runner.claim_for_worker(self.queues)
        except Exception:
            log.exception("claim failed; retrying")
            close_old_connections()  # drops a broken connection
            return False
        if not jobs:
            return False
        try:
            runner.execute_batch(jobs, shutdown=self.shutdown)
        finally:
            # A job is this worker's "request": give the connection back (to the pool).
            close_old_connections()
        return True


def hand_back_jobs_of(name: str, pid: int) -> None:
    """For a supervisor (`up`, scripts/distributed.py): its child `name` (pid) has exited, so
    the jobs a worker among them still held run again elsewhere now, not when their leases
    run out."""
    if not name.startswith("worker-"):
        return
    close_old_connections()
    report = services.take_back_from_dead_process(host=socket.gethostname(), pid=pid)
    if report:
        held = {str(outcome): count for outcome, count in report.items()}
        print(f"{name} (pid {pid}) exited holding jobs: {held}", flush=True)


def default_queues() -> list[str]:
    return registry.queues()


def run_celery_worker(
    *,
    queues: list[str],
    concurrency: int,
    maintenance_interval: float = MAINTENANCE_SECONDS,
    exit_when_idle: float | None = None,
) -> int:
    """A Celery worker consuming the broker queues of `queues`; returns its exit code."""
    # Like the polling worker: no system checks (they import the URLconf and slow restarts).
    os.environ.setdefault("CELERY_SKIP_CHECKS", "1")
    # Celery loads only in a worker fed by a broker.
    from stylevault.jobs.celery import app

    worker = app.Worker(
        queues=[conf.broker_queue(q) for q in queues],
        concurrency=concurrency,
        # Threads, not forks: a job may hold a GPU and database connections. (The solo pool
        # stalled for seconds between messages with acks_late in our tests.)
        pool="threads",
        hostname=f"stylevault-{os.getpid()}@{socket.gethostname()}",
        without_heartbeat=True,
        without_mingle=True,
        without_gossip=True,
        optimization="fair",
        quiet=True,
        loglevel="INFO",
    )
    # Celery's own per-message lines would drown ours (one job, one line from the runner).
    logging.getLogger("celery").setLevel(logging.WARNING)
    maintenance = MaintenanceThread(
        queues=queues,
        with_broker=True,
        interval=maintenance_interval,
        exit_when_idle=exit_when_idle,
        # Celery's own warm shutdown, as on SIGTERM: it takes no new message and exits.
        on_idle=lambda: os.kill(os.getpid(), signal.SIGTERM),
    )
    maintenance.start()
    try:
        worker.start()
    finally:
        maintenance.stop.set()
    return worker.exitcode or 0
