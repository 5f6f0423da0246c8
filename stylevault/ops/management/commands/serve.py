"""`stylevault serve [--port 8000] [--processes N]`: the ASGI web server only (uvicorn)."""

from __future__ import annotations

import argparse
import os
import socket

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from stylevault.core.config import stop_grace_seconds
from stylevault.ops.processes import STARTUP_FAILURE, supervise

APP = "stylevault.asgi:application"


def _uvicorn_options() -> dict:
    return dict(
        access_log=False,
        lifespan="on",
        server_header=False,
        # Open streams (SSE) are cut after this, before a supervisor's stop_seconds().
        timeout_graceful_shutdown=max(1, round(stop_grace_seconds())),
        **proxy_options(),
    )


def proxy_options() -> dict:
    """X-Forwarded-For and -Proto are believed only from STYLEVAULT_TRUSTED_PROXIES (none by
    default): otherwise any client could pick the address its log-in limits count under."""
    from django.conf import settings

    trusted = settings.STYLEVAULT_TRUSTED_PROXIES
    return {"proxy_headers": bool(trusted), "forwarded_allow_ips": trusted or None}


class Command(BaseCommand):
    help = "Run the ASGI web server (uvicorn)."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=os.environ.get("STYLEVAULT_HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument(
            "--processes",
            type=int,
            default=int(os.environ.get("STYLEVAULT_WEB_PROCESSES", "1")),
            help="uvicorn worker processes (one per core is a good start)",
        )
        # One process of `--processes N`: the listening socket it inherits.
        parser.add_argument("--socket-fd", type=int, help=argparse.SUPPRESS)

    def handle(self, *args, host: str, port: int, processes: int, **options):
        # uvicorn loads only for `serve`, not for every management command.
        import uvicorn

        os.environ["STYLEVAULT_WEB_PROCESSES"] = str(processes)  # rate limits share by it
        if options["socket_fd"] is not None:
            server = uvicorn.Server(uvicorn.Config(APP, **_uvicorn_options()))
            server.run(sockets=[socket.socket(fileno=options["socket_fd"])])
            if not server.started:
                raise SystemExit(STARTUP_FAILURE)  # the parent then stops
        elif processes > 1 and hasattr(socket, "SO_REUSEPORT"):
            _serve_on_sockets_of_their_own(host, port, processes)
        else:
            uvicorn.run(APP, host=host, port=port, workers=processes, **_uvicorn_options())


def _serve_on_sockets_of_their_own(host: str, port: int, processes: int) -> None:
    """Each process accepts on a listening socket of its own in the port's SO_REUSEPORT group,
    and the kernel spreads new connections evenly over them. With one shared socket, the first
    process to wake took every waiting connection: a burst of 100 keep-alive connections split
    as unevenly as 15/85, and the busier process set the latency (decision 017). This process
    keeps the sockets open, so the port stays held and a process's waiting connections are
    served by its replacement."""
    sockets = _listening_sockets(host, port, processes)
    port = sockets[0].getsockname()[1]
    serve = ["serve", "--processes", str(processes)]
    commands, fds = {}, {}
    for n, sock in enumerate(sockets):
        commands[f"web-{n}"] = [*serve, "--socket-fd", str(sock.fileno())]
        fds[f"web-{n}"] = (sock.fileno(),)
    print(f"StyleVault web on {host}:{port}, {processes} processes", flush=True)

    def let_go_of_the_port() -> None:
        # A restarted server can bind at once; the processes close their copies as they stop.
        for sock in sockets:
            sock.close()

    try:
        if supervise(commands, fds, on_stop=let_go_of_the_port):
            raise CommandError(_("A web process cannot start; see the lines above."))
    finally:
        for sock in sockets:
            sock.close()


def _listening_sockets(host: str, port: int, count: int) -> list[socket.socket]:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        # Without SO_REUSEPORT, so that a port any other server holds, ours included, fails.
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
            port = probe.getsockname()[1]
        sockets = []
        for _n in range(count):
            sock = socket.socket(family, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            sock.bind((host, port))
            sock.listen(2048)
            sockets.append(sock)
    except OSError as error:
        raise CommandError(
            _("Cannot listen on %(host)s:%(port)s: %(reason)s")
            % {"host": host, "port": port, "reason": error.strerror}
        ) from None
    return sockets
