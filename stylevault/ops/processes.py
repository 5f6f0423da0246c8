"""Child processes of `stylevault up` and `stylevault serve`, kept running."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

RESTART_DELAY_SECONDS = 1.0


def _spawn(args: list[str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "stylevault.cli", *args])


def supervise(commands: dict[str, list[str]]) -> None:
    """Keeps every child running until Ctrl-C or SIGTERM; one named "web" ends them all when
    it exits (the web server of `up`), others are restarted."""
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
