"""Job kinds and their handlers.

Apps declare their kinds in their `tasks.py` (imported by every process at start):

    @handler("generation", on_success=deliver, on_failure=release_credits, lease_seconds=120)
    def render(ctx: JobContext) -> dict:
        ...

The handler does the work (long, outside any transaction) and returns a JSON result. The
hooks make the database effects, each inside the transaction that records the outcome:
`on_success(job, result)` when the job succeeds, `on_failure(job)` exactly once when it ends
failed, cancelled or expired (job.status says which), `on_retry(job)` when an operator
requeues a finished job (it may raise a DomainError to refuse).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from stylevault.jobs.models import Job
    from stylevault.jobs.runner import JobContext

HandlerFunc = Callable[["JobContext"], Any]
SuccessHook = Callable[["Job", Any], None]
JobHook = Callable[["Job"], None]

DEFAULT_MAX_ATTEMPTS = 3
DEFAULT_LEASE_SECONDS = 60


class TransientError(Exception):
    """Raise from a handler when trying again later may work (a busy GPU, a network blip)."""


class JobFailed(Exception):
    """Raise from a handler to fail the job now, with an error code for the owning app."""

    def __init__(self, message: str = "", *, code: str = "JOB_FAILED"):
        self.code = code
        super().__init__(message)


class JobStopped(Exception):
    """Raise from a handler when `ctx.should_stop()` is true (cancelled, lease lost, shutdown)."""


@dataclass(frozen=True)
class Handler:
    kind: str
    func: HandlerFunc
    queue: str
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    lease_seconds: int = DEFAULT_LEASE_SECONDS
    backoff_seconds: float = 2.0
    backoff_max_seconds: float = 300.0
    on_success: SuccessHook | None = None
    on_failure: JobHook | None = None
    on_retry: JobHook | None = None
    # Jobs of this kind may be claimed together (same `batch_key` in their payloads) and meet
    # at `ctx.gathering` to do their work in one go.
    batchable: bool = False
    # Each attempt may run this long (plus per_item for each item of the job), then it fails
    # with TIME_LIMIT. None: no limit. STYLEVAULT_JOB_TIME_LIMITS overrides (jobs/conf.py).
    time_limit_seconds: float | None = None
    time_limit_per_item_seconds: float = 0.0

    def backoff(self, attempt: int) -> float:
        """Seconds before attempt `attempt + 1`: exponential, capped."""
        return min(self.backoff_max_seconds, self.backoff_seconds * 2 ** max(0, attempt - 1))


_handlers: dict[str, Handler] = {}


def handler(
    kind: str,
    *,
    queue: str | None = None,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    lease_seconds: int = DEFAULT_LEASE_SECONDS,
    backoff_seconds: float = 2.0,
    backoff_max_seconds: float = 300.0,
    on_success: SuccessHook | None = None,
    on_failure: JobHook | None = None,
    on_retry: JobHook | None = None,
    batchable: bool = False,
    time_limit_seconds: float | None = None,
    time_limit_per_item_seconds: float = 0.0,
) -> Callable[[HandlerFunc], HandlerFunc]:
    """Registers the decorated function as the handler of `kind` (queue defaults to kind)."""
    if max_attempts < 1 or lease_seconds < 1:
        raise ValueError("max_attempts and lease_seconds must be at least 1")

    def register(func: HandlerFunc) -> HandlerFunc:
        _handlers[kind] = Handler(
            kind=kind,
            func=func,
            queue=queue or kind,
            max_attempts=max_attempts,
            lease_seconds=lease_seconds,
            backoff_seconds=backoff_seconds,
            backoff_max_seconds=backoff_max_seconds,
            on_success=on_success,
            on_failure=on_failure,
            on_retry=on_retry,
            batchable=batchable,
            time_limit_seconds=time_limit_seconds,
            time_limit_per_item_seconds=time_limit_per_item_seconds,
        )
        return func

    return register


def get(kind: str) -> Handler | None:
    return _handlers.get(kind)


def kinds() -> list[str]:
    return sorted(_handlers)


def queues() -> list[str]:
    return sorted({h.queue for h in _handlers.values()})


def unregister(kind: str) -> None:
    """For tests that register throwaway kinds."""
    _handlers.pop(kind, None)
