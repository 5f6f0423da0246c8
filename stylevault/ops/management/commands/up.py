"""`stylevault up [--port 8000] [--workers 1]`: migrate, then run the web server and workers.

Workers are child processes; one that dies is restarted, and the jobs it held are handed
back at once. Ctrl-C stops everything; so does any signal, SIGKILL included (the children
end with their parent, see ops/processes.py).
"""

from __future__ import annotations

import importlib
import os

from django.core.management import call_command, get_commands
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from stylevault.jobs.worker import hand_back_jobs_of
from stylevault.ops.processes import supervise
from stylevault.styles import demo


class Command(BaseCommand):
    help = "Migrate, load the demo if the database is empty, start the web server and workers."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--workers", type=int, default=1)

    def handle(self, *args, host: str, port: int, workers: int, **options):
        call_command("migrate", interactive=False, verbosity=0)
        call_command("createcachetable", verbosity=0)
        if _database_is_empty():
            # The workers started below train the demo style; the site answers meanwhile.
            call_command("demo", no_wait=True)
        self.stdout.write(f"StyleVault on http://{host}:{port}/ (Ctrl-C stops)")
        from stylevault.jobs import conf

        for module in conf.extra_job_modules():  # their hooks run here when a worker dies
            importlib.import_module(module)
        commands = {"web": ["serve", "--host", host, "--port", str(port)]}
        worker = ["worker", "--torch-threads", str(worker_threads(workers))]
        commands.update({f"worker-{n}": worker for n in range(workers) if _has_worker()})
        if supervise(commands, on_exit=hand_back_jobs_of):
            raise CommandError(_("A process of StyleVault cannot start; see the lines above."))


def worker_threads(workers: int) -> int:
    """STYLEVAULT_TORCH_THREADS, else each worker's share of the cores, the web counted as
    one more process: 2 cores and 1 worker give it 1 thread."""
    from django.conf import settings

    return settings.STYLEVAULT_TORCH_THREADS or max(1, (os.cpu_count() or 1) // (workers + 1))


def _database_is_empty() -> bool:

    return demo.is_empty()


def _has_worker() -> bool:

    return "worker" in get_commands()
