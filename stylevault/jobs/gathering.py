"""Where jobs claimed together meet: each offers its work (or leaves without any), and once
every one has, one thread does all the offered work in one go and hands each job its part.

A job may be handed its part early (it was cancelled while the others go on); a part never
handed out becomes an error for that job alone.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any


class Offer:
    """One job's work in a gathering, and the result the combining thread hands back."""

    def __init__(self, item: Any) -> None:
        self.item = item
        self._done = threading.Event()
        self._value: Any = None
        self._error: BaseException | None = None

    @property
    def settled(self) -> bool:
        return self._done.is_set()

    def settle(self, value: Any = None, *, error: BaseException | None = None) -> None:
        """Hands the job its result (or error) and wakes it; only the first call counts."""
        if not self._done.is_set():
            self._value, self._error = value, error
            self._done.set()

    def wait(self) -> Any:
        self._done.wait()
        if self._error is not None:
            raise self._error
        return self._value


Combine = Callable[[list[Offer]], None]


class Gathering:
    """A meeting of `size` jobs; each gets a `Seat`."""

    def __init__(self, size: int) -> None:
        self._lock = threading.Lock()
        self._waiting = size
        self._offers: list[Offer] = []
        self._combine: Combine | None = None

    def seat(self) -> Seat:
        return Seat(self)

    def _arrive(self, offer: Offer | None, combine: Combine | None) -> None:
        with self._lock:
            if offer is not None:
                self._offers.append(offer)
                self._combine = self._combine or combine
            self._waiting -= 1
            last = self._waiting == 0
        if last and self._offers and self._combine is not None:
            _run(self._combine, self._offers)


def _run(combine: Combine, offers: list[Offer]) -> None:
    try:
        combine(offers)
    except BaseException as exc:  # the shared work failed: each job still waiting gets it
        for offer in offers:
            offer.settle(error=exc)
        if not isinstance(exc, Exception):
            raise
    for offer in offers:
        offer.settle(error=RuntimeError("the gathering handed this job no result"))


class Seat:
    """One job's place: `gather` once, or `leave` (what the runtime does when the job ends)."""

    def __init__(self, gathering: Gathering) -> None:
        self._gathering = gathering
        self._used = False

    def gather(self, item: Any, combine: Combine) -> Any:
        """Offers `item` and blocks until handed a result. The last job to arrive runs
        `combine(offers)` (the first offerer's), which must settle every offer."""
        if self._used:
            raise RuntimeError("a job gathers at most once")
        self._used = True
        offer = Offer(item)
        self._gathering._arrive(offer, combine)
        return offer.wait()

    def leave(self) -> None:
        """The job will not offer anything (idempotent; a no-op after `gather`)."""
        if not self._used:
            self._used = True
            self._gathering._arrive(None, None)
