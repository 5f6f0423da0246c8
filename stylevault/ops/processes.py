"""Child processes of `stylevault up` and `stylevault serve`, kept running, and never outliving
their parent: each child asks the kernel for SIGTERM when its parent dies (PR_SET_PDEATHSIG),
so even a SIGKILL of the parent stops the whole tree."""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable

from stylevault.core.config import stop_grace_seconds

RESTART_DELAY_SECONDS = 1.0  # doubled for each death of a child that had just started
YOUNG_SECONDS = 10.0  # a child dying sooner than this after its start "died young"
YOUNG_DEATHS = 3  # in a row: it cannot start, so everything stops
STARTUP_FAILURE = 3  # uvicorn's exit status for a server that could not start
PARENT_ENV = "STYLEVAULT_PARENT_PID"  # set for each child: the supervisor it must not outlive
PR_SET_PDEATHSIG = 1


def stop_seconds() -> float:
    """For all children together to stop before they are killed: their grace, and a margin."""
    return stop_grace_seconds() + 2.0


def end_with_parent() -> None:
    """Called first thing in a child of `supervise`: it gets SIGTERM when its parent dies,
    however the parent dies (SIGKILL included). Linux only; elsewhere the parent's own stop
    is all there is."""
    parent = os.environ.pop(PARENT_ENV, "")  # not inherited by what this process starts
    if not parent:
        return
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        return
    if os.getppid() != int(parent):
        os.kill(os.getpid(), signal.SIGTERM)  # the parent died before prctl took effect


def _spawn(args: list[str], fds: tuple[int, ...]) -> subprocess.Popen:
    env = {**os.environ, PARENT_ENV: str(os.getpid())}
    return subprocess.Popen([sys.executable, "-m", "stylevault.cli", *args], pass_fds=fds, env=env)


def supervise(
    commands: dict[str, list[str]],
    fds: dict[str, tuple[int, ...]] | None = None,
    *,
    on_exit: Callable[[str, int], None] | None = None,
    on_stop: Callable[[], None] | None = None,
) -> int:
    """Keeps every child running until Ctrl-C or SIGTERM, then stops them all. One named
    "web" ends them all when it exits (the web server of `up`); others are restarted, later
    each time they die young. Returns 0 after a stop, 1 when a child cannot start (it exits
    with uvicorn's startup failure, or dies young YOUNG_DEATHS times in a row). `fds`: the
    file descriptors each child inherits. `on_exit(name, pid)` runs when a child has exited
    (before its restart, and for each child after the stop); `on_stop()` once the stop
    begins, before the children are asked to stop."""
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
                _exited(on_exit, name, child)
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
        if on_stop is not None:
            on_stop()
        running = {n: c for n, c in children.items() if n not in restart_at and c.poll() is None}
        _stop_all(list(running.values()))
        for name, child in running.items():
            _exited(on_exit, name, child)
    return 1 if failed else 0


def _exited(on_exit: Callable[[str, int], None] | None, name: str, child: subprocess.Popen) -> None:
    if on_exit is None:
        return
    try:
        on_exit(name, child.pid)
    except Exception as exc:  # the supervisor must go on restarting the others
        print(f"after {name} exited: {type(exc).__name__}: {exc}", file=sys.stderr)


def _stop_all(children: list[subprocess.Popen]) -> None:
    for child in children:
        if child.poll() is None:
            child.terminate()
    deadline = time.monotonic() + stop_seconds()
    for child in children:
        try:
            child.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
