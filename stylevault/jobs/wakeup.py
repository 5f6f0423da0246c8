"""The doorbell: how `enqueue` wakes polling workers on the same machine without a broker.

A named pipe (FIFO) in the data directory. Idle workers wait on it with a timeout instead of
sleeping; `ring()` writes one byte after a commit. It only shortens the wait: a missed ring
(no pipe, a full pipe, another host) costs at most one poll interval, because the database
row is what workers claim. Not available on platforms without FIFOs (then workers just poll).
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import select
import threading

from stylevault.jobs import conf

log = logging.getLogger(__name__)


def ring() -> None:
    """Wakes one round of waiting workers; never raises, never blocks."""
    if not hasattr(os, "mkfifo"):
        return
    try:
        fd = os.open(conf.doorbell_path(), os.O_WRONLY | os.O_NONBLOCK)
    except OSError:
        return  # no pipe yet, or no worker listening (ENXIO): nobody to wake
    try:
        os.write(fd, b"\x01")
    except OSError as exc:
        if exc.errno != errno.EAGAIN:  # a full pipe means the workers are already woken
            log.debug("doorbell write failed", exc_info=True)
    finally:
        os.close(fd)


class Doorbell:
    """The worker side: `wait(timeout)` returns early when someone rings."""

    def __init__(self) -> None:
        self._read_fd: int | None = None
        self._write_fd: int | None = None
        self._lock = threading.Lock()

    def open(self) -> None:
        if not hasattr(os, "mkfifo"):
            return
        path = conf.doorbell_path()
        try:
            with contextlib.suppress(FileExistsError):
                os.mkfifo(path, 0o600)
            self._read_fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
            # Holding a writer keeps the pipe from reporting end-of-file (always readable)
            # whenever no enqueuer has it open.
            self._write_fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
        except OSError:
            log.warning("cannot open the doorbell %s; workers will only poll", path)
            self.close()

    def wait(self, timeout: float) -> bool:
        """Sleeps up to `timeout` seconds; True when woken by a ring."""
        if self._read_fd is None:
            threading.Event().wait(timeout)
            return False
        readable, _, _ = select.select([self._read_fd], [], [], timeout)
        if not readable:
            return False
        with self._lock, contextlib.suppress(BlockingIOError):
            os.read(self._read_fd, 4096)  # drained by whichever waiter gets here first
        return True

    def close(self) -> None:
        for fd in (self._read_fd, self._write_fd):
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._read_fd = self._write_fd = None
