"""`stylevault worker [--queues generation,training] [--concurrency 1]`: one worker process.

With STYLEVAULT_BROKER_URL a Celery worker on those queues, without one a database-polling
worker. SIGTERM or Ctrl-C: stop claiming, let the current job finish within the grace period
(else ask it to stop and hand it back); a second signal exits at once.
"""

from __future__ import annotations

import importlib
import os
import signal
import sys

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from stylevault.core.config import stop_grace_seconds
from stylevault.jobs import conf, registry, runner, worker


class Command(BaseCommand):
    # Workers serve no URLs and restart often; the web process runs the system checks.
    requires_system_checks: list[str] = []
    help = _("Run one job worker (Celery when a broker is configured, else database polling).")

    def add_arguments(self, parser):
        parser.add_argument(
            "--queues",
            default="",
            help=_("Comma-separated queues to consume (default: every registered queue)."),
        )
        parser.add_argument("--concurrency", type=int, default=1)
        parser.add_argument(
            "--grace",
            type=float,
            default=stop_grace_seconds(),
            help=_("Seconds a running job may take to finish after SIGTERM."),
        )
        parser.add_argument(
            "--maintenance-interval",
            type=float,
            default=worker.MAINTENANCE_SECONDS,
            help=_("Seconds between reaper passes."),
        )
        parser.add_argument(
            "--import",
            dest="imports",
            action="append",
            default=conf.extra_job_modules(),
            help=_("Extra module that registers job handlers (repeatable)."),
        )
        parser.add_argument(
            "--torch-threads",
            type=int,
            default=None,
            help=_("Threads torch may use in this worker (default: STYLEVAULT_TORCH_THREADS)."),
        )
        parser.add_argument(
            "--exit-when-idle",
            type=float,
            default=None,
            metavar="SECONDS",
            help=_(
                "Exit after this many seconds without a job (lets an autoscaler scale to zero)."
            ),
        )
        parser.add_argument(
            "--metrics-port", type=int, default=0, help=_("Serve Prometheus metrics on this port.")
        )

    def handle(self, *args, queues, concurrency, grace, maintenance_interval, imports, **options):
        exit_when_idle = options["exit_when_idle"]
        for module in imports:
            importlib.import_module(module)
        names = [q.strip() for q in queues.split(",") if q.strip()] or worker.default_queues()
        if not names:
            raise CommandError(_("No job queues to consume: no handlers are registered."))
        if concurrency < 1:
            raise CommandError(_("--concurrency must be at least 1."))
        if options["metrics_port"]:
            # Only a worker started with a metrics port serves them.
            from prometheus_client import start_http_server

            from stylevault.core.metrics import REGISTRY

            start_http_server(options["metrics_port"], registry=REGISTRY)
        _size_torch_threads(options["torch_threads"])
        runner.SHUTDOWN.grace_seconds = grace
        runner.KEEPER.hang_seconds = grace  # past a time limit, a stuck step gets as long
        mode = "celery" if conf.broker_url() else "polling"
        self.stderr.write(
            f"worker ({mode}) on queues {', '.join(names)}; kinds {', '.join(registry.kinds())}"
        )
        if conf.broker_url():
            sys.exit(
                worker.run_celery_worker(
                    queues=names,
                    concurrency=concurrency,
                    maintenance_interval=maintenance_interval,
                    exit_when_idle=exit_when_idle,
                )
            )
        _install_signals()
        worker.PollingWorker(
            queues=names,
            concurrency=concurrency,
            maintenance_interval=maintenance_interval,
            exit_when_idle=exit_when_idle,
        ).run()


def _size_torch_threads(threads: int | None) -> None:
    """Pins torch's intra-op threads to this worker's share of the cores. Threads spinning
    against busy neighbours made a tiny render 5x slower (docs/batching.md). 0: torch's own
    default (every core), right for a worker alone on its machine."""
    threads = settings.STYLEVAULT_TORCH_THREADS if threads is None else threads
    if threads < 0:
        raise CommandError(_("--torch-threads must be 0 or more."))
    if threads:
        import torch

        torch.set_num_threads(threads)


def _install_signals() -> None:
    """First SIGTERM/SIGINT: graceful stop. Second: leave now (leases will expire)."""

    def stop(signum, frame):
        if runner.SHUTDOWN.requested.is_set():
            os._exit(1)
        runner.SHUTDOWN.request()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
