"""The ASGI handler (stylevault.asgi) called in-process as uvicorn calls it."""

from __future__ import annotations

import asyncio
import gc
import json
import threading

import pytest
from django.core import signals

from stylevault.asgi import application

# The handler's request threads outlive a test, and with them their database connections.
pytestmark = pytest.mark.django_db(transaction=True)


def _scope(method: str, path: str, headers: list[tuple[bytes, bytes]] = ()) -> dict:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1"), *headers],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }


async def _call(scope: dict, body: bytes = b"", app=application) -> tuple[int, dict, bytes]:
    """One request; the client then stays connected (a second receive never answers)."""
    chunks = [{"type": "http.request", "body": body, "more_body": False}]
    sent = []

    async def receive():
        if chunks:
            return chunks.pop()
        await asyncio.Event().wait()

    async def send(message):
        sent.append(message)

    await app(scope, receive, send)
    start = sent[0]
    headers = {k.decode().lower(): v.decode() for k, v in start["headers"]}
    return start["status"], headers, b"".join(m.get("body", b"") for m in sent[1:])


@pytest.fixture
def signalled():
    """Which threads sent request_started and request_finished."""
    seen = {"started": [], "finished": []}

    def started(**kwargs):
        seen["started"].append(threading.get_ident())

    def finished(**kwargs):
        seen["finished"].append(threading.get_ident())

    signals.request_started.connect(started)
    signals.request_finished.connect(finished)
    yield seen
    signals.request_started.disconnect(started)
    signals.request_finished.disconnect(finished)


def test_a_request_is_answered_and_closed_in_one_reused_thread(signalled):
    async def twice():
        return [await _call(_scope("GET", "/favicon.ico")) for _ in range(2)]

    for status, headers, _body in asyncio.run(twice()):
        assert status == 204
        assert headers["x-content-type-options"] == "nosniff"
        assert "content-security-policy" in headers
    assert len(signalled["started"]) == 2 and signalled["finished"] == signalled["started"]
    assert len(set(signalled["started"])) == 1, "the idle request thread is reused"
    assert signalled["started"][0] != threading.get_ident()


def test_a_request_body_reaches_the_api_and_errors_keep_the_envelope():
    payload = b'{"username": "alice"}'
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(payload)).encode()),
    ]
    scope = _scope("POST", "/api/v1/auth/login", headers)
    status, headers, body = asyncio.run(_call(scope, payload))
    assert status == 400 and headers["content-type"] == "application/json"
    error = json.loads(body)["error"]
    assert error["code"] == "VALIDATION_ERROR" and list(error["details"]["fields"]) == ["password"]


def _bearer(user) -> tuple[bytes, bytes]:
    from stylevault.accounts import services

    return (b"authorization", f"Bearer {services.create_token(user=user, name='t')[1]}".encode())


def test_marked_reads_run_on_the_loop_thread_and_everything_else_hops(make_user, signalled):
    user = make_user("alice")
    auth = _bearer(user)

    async def requests():
        me = await _call(_scope("GET", "/api/v1/me", [auth]))
        loop_thread = threading.get_ident()
        health = await _call(_scope("GET", "/healthz"))
        change = json.dumps({"locale": "ko"}).encode()
        patch_headers = [
            auth,
            (b"content-type", b"application/json"),
            (b"content-length", str(len(change)).encode()),
        ]
        patched = await _call(_scope("PATCH", "/api/v1/me", patch_headers), change)
        return loop_thread, me, health, patched

    loop_thread, me, health, patched = asyncio.run(requests())
    assert me[0] == 200 and json.loads(me[2])["username"] == "alice"
    assert health[0] == 200 and patched[0] == 200 and json.loads(patched[2])["locale"] == "ko"
    on_loop, health_thread, patch_thread = signalled["started"]
    assert on_loop == loop_thread, "GET /me (marked inline) ran on the event loop's thread"
    assert health_thread == loop_thread, "/healthz is marked too: it never waits for a turn"
    assert patch_thread != loop_thread


def test_after_an_inline_request_the_loop_is_back_and_blocking_calls_are_refused_again():
    from django.core.exceptions import SynchronousOnlyOperation

    from stylevault.accounts.models import User

    async def requests():
        status, _headers, body = await _call(
            _scope("GET", "/api/v1/me", [(b"authorization", b"Bearer not-a-token")])
        )
        assert asyncio.get_running_loop() is not None
        with pytest.raises(SynchronousOnlyOperation):
            User.objects.count()
        return status, json.loads(body)

    status, body = asyncio.run(requests())
    assert status == 401 and body["error"]["code"] == "UNAUTHORIZED"


def test_inline_can_be_switched_off(make_user, signalled, monkeypatch):
    from stylevault.asgi import OneHopASGIHandler

    monkeypatch.setenv("STYLEVAULT_WEB_INLINE", "0")
    handler = OneHopASGIHandler()
    auth = _bearer(make_user("alice"))

    async def request():
        status, _headers, _body = await _call(_scope("GET", "/api/v1/me", [auth]), app=handler)
        return status, threading.get_ident()

    status, loop_thread = asyncio.run(request())
    assert status == 200 and signalled["started"][0] != loop_thread


@pytest.mark.parametrize(
    ("method", "path", "query", "inline"),
    [
        ("GET", "/api/v1/me", b"", True),
        ("HEAD", "/api/v1/feed", b"", True),
        ("GET", "/api/v1/feed", b"cursor=abc&limit=20", True),
        ("GET", "/api/v1/feed", b"following=1", False),  # per viewer, never kept
        ("GET", "/api/v1/feed", b"artist=3", False),
        ("GET", "/api/v1/styles", b"tags=ink,sea&q=boat", True),
        ("GET", "/api/v1/styles", b"tags=ink&utm_source=x", False),
        ("POST", "/api/v1/styles", b"", False),
        ("GET", "/api/v1/styles/7", b"", False),
        ("GET", "/api/v1/no-such-thing", b"", False),
        ("GET", "/api/v1/" + "x" * 10_000, b"", False),
        ("GET", "/en/", b"", False),
        ("GET", "/healthz", b"", True),  # never waits behind busy request threads
        ("GET", "/readyz", b"", False),
    ],
)
def test_only_marked_api_reads_are_inline(method, path, query, inline):
    from stylevault.asgi import runs_inline

    assert runs_inline(method, path, query) is inline


def test_a_failing_inline_request_gives_the_loop_back(monkeypatch):
    from django.core.exceptions import SynchronousOnlyOperation

    from stylevault.accounts import selectors
    from stylevault.accounts.models import User

    def broken(*args, **kwargs):
        raise RuntimeError("database gone")

    def loop_is_back_and_guarded():
        assert asyncio.get_running_loop() is not None
        with pytest.raises(SynchronousOnlyOperation):
            User.objects.count()

    scope = _scope("GET", "/api/v1/me", [(b"authorization", b"Bearer abc")])

    async def requests():
        monkeypatch.setattr(selectors, "user_by_token", broken)  # inside the view
        status, _headers, body = await _call(scope)
        loop_is_back_and_guarded()
        monkeypatch.setattr(application, "create_request", broken)  # outside Django's net
        with pytest.raises(RuntimeError):
            await _call(scope)
        loop_is_back_and_guarded()
        return status, json.loads(body)

    status, body = asyncio.run(requests())
    assert status == 500 and body["error"]["code"] == "INTERNAL_ERROR"


def test_server_start_follows_pushed_changes_where_the_database_pushes(monkeypatch):
    """uvicorn's lifespan start: on PostgreSQL the read caches start listening; on SQLite
    the start completes and they keep reading generation rows."""
    from django.db import connection

    from stylevault.core import readcache

    started, frozen = [], []
    monkeypatch.setattr(readcache._push, "start", lambda params: started.append(params))
    monkeypatch.setattr(gc, "freeze", lambda: frozen.append(True))
    messages = [{"type": "lifespan.shutdown"}, {"type": "lifespan.startup"}]
    sent = []

    async def receive():
        return messages.pop()

    async def send(message):
        sent.append(message["type"])

    asyncio.run(application({"type": "lifespan", "asgi": {"version": "3.0"}}, receive, send))
    assert sent == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    assert frozen, "what the process built at start is kept out of full collections"
    if connection.vendor == "postgresql":
        assert started[0]["application_name"] == readcache.LISTENER
    else:
        assert started == []
