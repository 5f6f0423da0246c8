"""Child processes of `stylevault up` and `stylevault serve`, kept running."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections import Counter

RESTART_DELAY_SECONDS = 1.0  # doubled for each death of a child that had just started
YOUNG_SECONDS = 10.0  # a child dying sooner than this after its start "died young"
YOUNG_DEATHS = 3  # in a row: it cannot start, so everything stops
STARTUP_FAILURE = 3  # uvicorn's exit status for a server that could not start
STOP_SECONDS = 10.0  # for all children together to stop before they are killed


def _spawn(args: list[str], fds: tuple[int, ...]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "stylevault.cli", *args], pass_fds=fds)


def supervise(commands: dict[str, list[str]], fds: dict[str, tuple[int, ...]] | None = None) -> int:
    """Keeps every child running until Ctrl-C or SIGTERM, then stops them all. One named
    "web" ends them all when it exits (the web server of `up`); others are restarted, later
    each time they die young. Returns 0 after a stop, 1 when a child cannot start (it exits
    with uvicorn's startup failure, or dies young YOUNG_DEATHS times in a row). `fds`: the
    file descriptors each child inherits."""
    fds = fds or {}
    children = {name: _spawn(args, fds.get(name, ())) for name, args in commands.items()}
    started = dict.fromkeys(children, time.monotonic())
    young_deaths: Counter[str] = Counter()
    restart_at: dict[str, float] = {}
    stopping, failed = False, False

    def stop(signum, frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        while not stopping:
            time.sleep(0.2)
            now = time.monotonic()
            for name, child in children.items():
                if stopping:
                    break
                if name in restart_at:
                    if now >= restart_at[name]:
                        del restart_at[name]
                        children[name] = _spawn(commands[name], fds.get(name, ()))
                        started[name] = now
                    continue
                code = child.poll()
                if code is None:
                    continue
                if name == "web":
                    stopping = True
                    break
                young_deaths[name] = (
                    young_deaths[name] + 1 if now - started[name] < YOUNG_SECONDS else 0
                )
                if code == STARTUP_FAILURE or young_deaths[name] >= YOUNG_DEATHS:
                    print(f"{name} cannot start (exit status {code}); stopping", file=sys.stderr)
                    stopping = failed = True
                    break
                delay = RESTART_DELAY_SECONDS * 2 ** young_deaths[name]
                print(f"{name} exited with {code}; restarting in {delay:.0f} s", file=sys.stderr)
                restart_at[name] = now + delay
    finally:
        _stop_all([c for name, c in children.items() if name not in restart_at])
    return 1 if failed else 0


def _stop_all(children: list[subprocess.Popen]) -> None:
    for child in children:
        if child.poll() is None:
            child.terminate()
    deadline = time.monotonic() + STOP_SECONDS
    for child in children:
        try:
            child.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
