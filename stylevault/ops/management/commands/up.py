"""`stylevault up [--port 8000] [--workers 1]`: migrate, then run the web server and workers.

Workers are child processes; one that dies is restarted. Ctrl-C stops everything.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time

from django.core.management import call_command
from django.core.management.base import BaseCommand

RESTART_DELAY_SECONDS = 1.0


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
        commands = {"web": ["serve", "--host", host, "--port", str(port)]}
        commands.update({f"worker-{n}": ["worker"] for n in range(workers) if _has_worker()})
        supervise(commands)


def _database_is_empty() -> bool:
    from stylevault.styles import demo

    return demo.is_empty()


def _has_worker() -> bool:
    from django.core.management import get_commands

    return "worker" in get_commands()


def _spawn(args: list[str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "stylevault.cli", *args])


def supervise(commands: dict[str, list[str]]) -> None:
    """Keeps every child running until Ctrl-C or SIGTERM; the web server dying ends `up`."""
    children = {name: _spawn(args) for name, args in commands.items()}
    stopping = False

    def stop(signum, frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        while not stopping:
            time.sleep(0.5)
            for name, child in list(children.items()):
                if child.poll() is None:
                    continue
                if name == "web":
                    stopping = True
                    break
                print(f"{name} exited with {child.returncode}; restarting", file=sys.stderr)
                time.sleep(RESTART_DELAY_SECONDS)
                children[name] = _spawn(commands[name])
    finally:
        for child in children.values():
            if child.poll() is None:
                child.terminate()
        for child in children.values():
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
