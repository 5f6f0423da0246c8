"""The HTTP part of the providers' fakes: a threaded server on 127.0.0.1 whose subclass
answers each request with (status, JSON body) from ``answer``."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakeServer:
    content_type = "application/json"
    extra_headers: dict[str, str] = {}

    def __init__(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _handle(self, method: str):
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status, body = fake.answer(method, self.path, self.headers, raw)
                data = json.dumps(body).encode()
                self.send_response(status)
                for name, value in {"Content-Type": fake.content_type,
                                    **fake.extra_headers}.items():  # fmt: skip
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                self._handle("GET")

            def do_POST(self):
                self._handle("POST")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def answer(self, method: str, path: str, headers, raw: bytes) -> tuple[int, dict]:
        raise NotImplementedError

    def close(self):
        self.server.shutdown()
        self.server.server_close()
