"""`stylevault serve [--port 8000]`: the ASGI web server only (uvicorn)."""

from __future__ import annotations

import os

from django.core.management.base import BaseCommand


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

    def handle(self, *args, host: str, port: int, processes: int, **options):
        import uvicorn

        os.environ["STYLEVAULT_WEB_PROCESSES"] = str(processes)  # rate limits share by it

        uvicorn.run(
            "stylevault.asgi:application",
            host=host,
            port=port,
            workers=processes,
            access_log=False,
            lifespan="on",
            proxy_headers=True,
            server_header=False,
        )
