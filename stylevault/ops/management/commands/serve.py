"""`stylevault serve [--port 8000] [--processes N]`: the ASGI web server only (uvicorn)."""

from __future__ import annotations

import argparse
import os
import socket

from django.core.management.base import BaseCommand, CommandError

UVICORN = dict(access_log=False, lifespan="on", proxy_headers=True, server_header=False)
APP = "stylevault.asgi:application"


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
        # One of the processes of `--processes N`, listening on a socket of its own.
        parser.add_argument("--shared-port", action="store_true", help=argparse.SUPPRESS)

    def handle(self, *args, host: str, port: int, processes: int, shared_port: bool, **options):
        import uvicorn

        os.environ["STYLEVAULT_WEB_PROCESSES"] = str(processes)  # rate limits share by it
        if shared_port:
            config = uvicorn.Config(APP, host=host, port=port, **UVICORN)
            uvicorn.Server(config).run(sockets=[_port_socket(host, port)])
        elif processes > 1 and hasattr(socket, "SO_REUSEPORT"):
            _serve_on_shared_port(host, port, processes)
        else:
            uvicorn.run(APP, host=host, port=port, workers=processes, **UVICORN)


def _port_socket(host: str, port: int) -> socket.socket:
    """A socket of the port's SO_REUSEPORT group, bound but not listening yet."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock


def _serve_on_shared_port(host: str, port: int, processes: int) -> None:
    """Each process listens on a socket of its own and the kernel spreads new connections
    evenly over them. With one shared socket, the first process to wake took every waiting
    connection: a burst of 100 keep-alive connections split as unevenly as 15/85, and the
    busier process set the latency (docs/decisions/017-one-socket-per-web-process.md)."""
    from stylevault.ops.processes import supervise

    try:
        held = _port_socket(host, port)  # the port stays ours while processes restart
    except OSError as error:
        raise CommandError(f"Cannot listen on {host}:{port}: {error.strerror}") from None
    serve = ["serve", "--host", host, "--port", str(port), "--processes", str(processes)]
    try:
        supervise({f"web-{n}": [*serve, "--shared-port"] for n in range(processes)})
    finally:
        held.close()
