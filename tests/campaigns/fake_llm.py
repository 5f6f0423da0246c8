"""A fake OpenAI-compatible chat-completions server: a real HTTP server on 127.0.0.1 that
answers from a script and records every request, so the writer is tested over the wire."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

GOOD = {
    "headline": "겨울 신메뉴 출시",
    "body": "따뜻한 겨울 음료를 만나 보세요.",
    "cta": "지금 방문하세요",
    "hashtags": ["#카페", "#겨울"],
    "image_prompt": "a warm cup of cocoa on a wooden table, no text",
}


class FakeLLM:
    """`script` is a list of answers used in order (the last one repeats): a dict (sent as the
    JSON content), a str (sent as raw content), ("status", code), ("sleep", seconds) or
    ("refuse_schema", answer) which refuses json_schema with 400 and answers json_object."""

    def __init__(self) -> None:
        self.script: list = [GOOD]
        self.requests: list[dict] = []
        self.headers: list[dict] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fake.requests.append(body)
                fake.headers.append(dict(self.headers))
                if self.path != "/v1/chat/completions":
                    return self._send(404, {"error": {"message": "unknown path"}})
                step = fake.script[min(len(fake.requests) - 1, len(fake.script) - 1)]
                if isinstance(step, tuple) and step[0] == "sleep":
                    time.sleep(step[1])
                    step = GOOD
                if isinstance(step, tuple) and step[0] == "status":
                    return self._send(step[1], {"error": {"message": "scripted failure"}})
                if isinstance(step, tuple) and step[0] == "refuse_schema":
                    if body.get("response_format", {}).get("type") == "json_schema":
                        return self._send(400, {"error": {"message": "json_schema unsupported"}})
                    step = step[1]
                content = step if isinstance(step, str) else json.dumps(step, ensure_ascii=False)
                self._send(
                    200,
                    {
                        "id": "chatcmpl-1",
                        "object": "chat.completion",
                        "model": body.get("model"),
                        "choices": [
                            {
                                "index": 0,
                                "message": {"role": "assistant", "content": content},
                                "finish_reason": "stop",
                            }
                        ],
                    },
                )

            def _send(self, status: int, payload: dict) -> None:
                data = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakeLLM:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
