"""Progress and status events on Redis pub/sub (distributed mode), channel `job:<id>`.

Best effort by design: the Job row always holds the latest progress and the outcome, so a
lost message only delays a reader until it re-reads the row.
"""

from __future__ import annotations

import json
import logging
import threading
from typing import Any

from stylevault.jobs import conf

log = logging.getLogger(__name__)

PROGRESS = "progress"
STATUS = "status"

_client_lock = threading.Lock()
_clients: dict[str, Any] = {}


def channel(job_id: int) -> str:
    return f"job:{job_id}"


def encode(event: str, data: dict) -> str:
    return json.dumps({"event": event, "data": data}, separators=(",", ":"))


def decode(raw: bytes | str) -> dict | None:
    try:
        message = json.loads(raw)
    except (TypeError, ValueError):
        return None
    if not isinstance(message, dict) or message.get("event") not in (PROGRESS, STATUS):
        return None
    return message


def _client(url: str):
    with _client_lock:
        if url not in _clients:
            # redis is used only in distributed mode (STYLEVAULT_REDIS_URL).
            import redis

            _clients[url] = redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
        return _clients[url]


def publish(job_id: int, event: str, data: dict) -> None:
    url = conf.redis_url()
    if not url:
        return
    try:
        _client(url).publish(channel(job_id), encode(event, data))
    except Exception:  # a progress message must never fail the job
        log.warning("could not publish %s for job %s", event, job_id, exc_info=True)


def status_data(job) -> dict:
    """The final event's payload: the status, and the error when there is one."""
    data: dict[str, Any] = {"status": job.status}
    if job.error_code:
        data["error_code"] = job.error_code
    return data
