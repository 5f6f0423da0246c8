"""ASGI entry point (uvicorn): Django's handler, serving a request in one thread hop."""

from __future__ import annotations

import asyncio
import functools
import gc
import logging
import os
import re
import tempfile
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import parse_qsl

import orjson
from asgiref.sync import ThreadSensitiveContext, sync_to_async
from django.conf import settings
from django.core import signals
from django.core.exceptions import RequestAborted
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.core.signals import setting_changed
from django.db import connections
from django.dispatch import receiver
from django.http import FileResponse
from django.urls import URLResolver, get_resolver, set_script_prefix
from django.urls.resolvers import RoutePattern
from django.utils import translation
from django.utils.translation import gettext, trans_real

from stylevault.core import readcache

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "stylevault.settings")
logger = logging.getLogger(__name__)


class OneHopASGIHandler(ASGIHandler):
    """Django's ASGI handler, with the costs of a small request taken out (measured here: a
    health check took 5.9 ms in-process, a plain WSGI-style call 0.4 ms):

    - Django runs Django's MiddlewareMixin middleware in async mode by sending each of its
      `process_request`/`process_response` calls to a thread and back: about fifteen thread
      hops a request with our middleware. Here the chain is built in sync mode.
    - Django also sends the request_started signal, the response and its close (which sends
      request_finished) to threads of their own, and races two tasks for every request to
      notice a client leaving. Here the signal, the middleware, the view and the close run in
      one hop to one thread, and the response is sent from the event loop. Only a streaming
      response (Server-Sent Events, files) is raced against a disconnect, and closed after.
    - Each request got a new thread, and another at its end to join it. Here each request
      borrows a one-thread executor from a stack of idle ones, so threads (and their database
      connections) are reused, one request at a time each.

    At most STYLEVAULT_WEB_THREADS (default 8) requests run their sync part at once in worker
    threads, plus one inline read on the loop's thread (decision 015): more threads than cores
    only fight over the GIL and the database, and a request waiting its turn in the event loop
    costs nothing. A long response stream does not hold a turn.
    """

    max_idle = 64

    def __init__(self) -> None:
        self._idle: list[ThreadPoolExecutor] = []
        self._turns = asyncio.Semaphore(int(os.environ.get("STYLEVAULT_WEB_THREADS", "8")))
        switch = os.environ.get("STYLEVAULT_WEB_INLINE", "1").strip().lower()
        self._inline = switch not in {"0", "false", "no", "off"}
        super().__init__()

    def load_middleware(self, is_async: bool = False) -> None:
        super().load_middleware(is_async=False)

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "lifespan":
            return await self._lifespan(receive, send)
        if scope["type"] != "http":
            return await super().__call__(scope, receive, send)
        executor = self._idle.pop() if self._idle else ThreadPoolExecutor(1, "request")
        try:
            async with ThreadSensitiveContext(executor=executor):
                await self.handle(scope, receive, send)
        finally:
            if len(self._idle) < self.max_idle:
                self._idle.append(executor)
            else:  # its thread ends: its database connections must not outlive it
                executor.submit(connections.close_all)
                executor.shutdown(wait=False)

    async def _lifespan(self, receive, send) -> None:
        """A server process starting: its read caches follow changes the database pushes."""
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    readcache.listen()
                except Exception:  # the caches then read generation rows: slower, still right
                    logger.exception("Read caches cannot follow pushed changes")
                _settle_startup_objects()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def handle(self, scope, receive, send) -> None:
        limit = body_limit(scope)
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            return await _refuse_body(scope, send, limit)
        try:
            body_file = await self.read_body(receive, limit)
        except RequestAborted:
            return
        except _BodyTooLarge:
            return await _refuse_body(scope, send, limit)
        set_script_prefix(get_script_prefix(scope))
        if self._inline and runs_inline(scope["method"], scope["path"], scope["query_string"]):
            response = self._respond_inline(scope, body_file)
        else:
            async with self._turns:
                respond = sync_to_async(self._respond, thread_sensitive=True)
                response = await respond(scope, body_file)
        if not response.streaming:
            await self.send_response(response, send)
            return
        await self._stream(response, receive, send)

    async def read_body(self, receive, limit: int | None = None):
        """Django's, refusing a body (chunked, or longer than it said) past `limit` bytes as
        soon as it gets there rather than after reading it all."""
        body_file = tempfile.SpooledTemporaryFile(  # noqa: SIM115  (returned open, as Django does)
            max_size=settings.FILE_UPLOAD_MAX_MEMORY_SIZE, mode="w+b"
        )
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                body_file.close()
                raise RequestAborted()
            chunk = message.get("body", b"")
            size += len(chunk)
            if limit is not None and size > limit:
                body_file.close()
                raise _BodyTooLarge()
            body_file.write(chunk)
            if not message.get("more_body", False):
                break
        body_file.seek(0)
        return body_file

    def _respond_inline(self, scope, body_file):
        """The sync part on the event loop's own thread, for views marked `inline`: their few
        indexed reads take less time than the two thread switches of a hop. The loop is hidden
        from Django meanwhile, as it is in a worker thread, so its guard against blocking
        calls in async code stays on everywhere else."""
        loop = asyncio.get_running_loop()
        asyncio._set_running_loop(None)
        try:
            return self._respond(scope, body_file)
        finally:
            asyncio._set_running_loop(loop)

    def _respond(self, scope, body_file):
        """The sync part, in the request's thread: signal, middleware, view; a complete
        response is closed here too (its body is already in memory)."""
        try:
            signals.request_started.send(sender=self.__class__, scope=scope)
            request, response = self.create_request(scope, body_file)
            if request is not None:
                response = self.get_response(request)
                response._handler_class = self.__class__
                if isinstance(response, FileResponse):
                    response.block_size = self.chunk_size
        except BaseException:
            body_file.close()
            raise
        if response.streaming:
            response._body_file = body_file
            return response
        body_file.close()
        try:
            response.close()
        except Exception:
            # The answer is built (and its writes committed): send it, and report the failure.
            logger.exception("Closing the response of %s failed", scope.get("path"))
        return response

    async def _stream(self, response, receive, send) -> None:
        """Sends a streaming response until it ends or the client leaves, then closes it;
        an error while sending is raised again once the response is closed."""
        sending = asyncio.create_task(self.send_response(response, send))
        listening = asyncio.create_task(self.listen_for_disconnect(receive))
        try:
            await asyncio.wait([sending, listening], return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (listening, sending):
                task.cancel()
            await asyncio.gather(sending, listening, return_exceptions=True)
            await sync_to_async(response.close)()
            response._body_file.close()
            if response.get("Content-Type", "").startswith("text/event-stream"):
                # It may have lasted an hour: the connections its reads opened in this
                # thread are closed now rather than kept for the next request.
                await sync_to_async(connections.close_all)()
        if not sending.cancelled() and sending.exception() is not None:
            raise sending.exception()


class _BodyTooLarge(Exception):
    pass


# Routes whose bodies are an image to check: the largest accepted file and its form fields.
_VERIFY_PATHS = re.compile(r"^/(api/v1/verify|[a-z]{2}/verify/)$")


def body_limit(scope) -> int:
    """The most bytes a request body may have, by route class (STYLEVAULT_MAX_*_MB): a
    verification upload, another multipart upload (a training set, a LoRA), or anything else
    (JSON, forms)."""
    limits = settings.STYLEVAULT_BODY_LIMITS
    if _VERIFY_PATHS.match(scope["path"]):
        return limits["verify"]
    for name, value in scope["headers"]:
        if name == b"content-type":
            return limits["upload" if value.startswith(b"multipart/") else "json"]
    return limits["json"]


def _content_length(scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            return int(value) if value.isdigit() else None
    return None


async def _refuse_body(scope, send, limit: int) -> None:
    """413 FILE_TOO_LARGE (the API's envelope; plain text for pages) without reading the
    body; the connection is closed after, so the rest of the body is never read either."""
    with translation.override(_language(scope)):
        message = gettext("The request is larger than %(mb)s MB.") % {
            "mb": max(1, limit // (1024 * 1024))
        }
    if scope["path"].startswith("/api/"):
        body = orjson.dumps(
            {
                "error": {
                    "code": "FILE_TOO_LARGE",
                    "message": message,
                    "details": {"max_bytes": limit},
                }
            }
        )
        content_type = b"application/json"
    else:
        body, content_type = message.encode(), b"text/plain; charset=utf-8"
    headers = [
        (b"content-type", content_type),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
    ]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _language(scope) -> str:
    """The page's language prefix, else the client's Accept-Language, else English."""
    prefix = translation.get_language_from_path(scope["path"])
    if prefix:
        return prefix
    for name, value in scope["headers"]:
        if name == b"accept-language":
            for code, _quality in trans_real.parse_accept_lang_header(value.decode("latin-1")):
                try:
                    return translation.get_supported_language_variant(code)
                except LookupError:
                    continue
    return settings.LANGUAGE_CODE


def _settle_startup_objects() -> None:
    """What a server process builds at start (modules, settings, URL patterns) lives as long
    as the process: frozen out of the garbage collector's view, a full collection no longer
    walks it (measured: 60 ms → 0.2 ms per full collection, each a stall of every request
    waiting on the event loop)."""
    _inline_paths(settings.ROOT_URLCONF)  # loads the URL patterns now rather than later
    gc.collect()
    gc.freeze()


def _routes(patterns, prefix: str = ""):
    """(path, view) of every URL pattern without parameters; pages (language prefix) skipped."""
    for pattern in patterns:
        if not isinstance(pattern.pattern, RoutePattern):
            continue  # i18n prefixes and regular expressions: never inline
        route = prefix + str(pattern.pattern)
        if "<" in route:
            continue
        if isinstance(pattern, URLResolver):
            yield from _routes(pattern.url_patterns, route)
        else:
            yield "/" + route, pattern.callback


@functools.cache
def _inline_paths(urlconf: str) -> dict[str, frozenset[str]]:
    """Path → query parameters that keep it inline, for every view marked `inline`."""
    found = {}
    for path, view in _routes(get_resolver(urlconf).url_patterns):
        marked = getattr(view, "cls", view)  # DRF's as_view(), or a function view
        params = getattr(marked, "inline_params", None)
        if params is not None:
            found[path] = params
    return found


def runs_inline(method: str, path: str, query_string: bytes = b"") -> bool:
    """Whether this request goes to a view marked with stylevault.core.api.inline, asking only for
    what that view allows inline."""
    if method not in ("GET", "HEAD"):
        return False
    allowed = _inline_paths(settings.ROOT_URLCONF).get(path)
    if allowed is None:
        return False
    if not query_string:
        return True
    names = {name for name, _ in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)}
    return names <= allowed


@receiver(setting_changed)
def _forget_inline_paths(*, setting: str, **kwargs) -> None:
    if setting == "ROOT_URLCONF":
        _inline_paths.cache_clear()


def _application() -> OneHopASGIHandler:
    # Django loads after the process's settings are checked (core.config).
    import django

    django.setup(set_prefix=False)
    return OneHopASGIHandler()


application = _application()
