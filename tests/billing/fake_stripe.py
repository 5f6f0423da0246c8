"""A fake of Stripe's HTTP API, just enough for our calls: the real `stripe` library talks to
it over HTTP (STYLEVAULT_STRIPE_API_BASE), so nothing of ours is mocked."""

from __future__ import annotations

import itertools
import threading
from urllib.parse import parse_qsl

from tests.billing.fake_http import FakeServer


def unflatten(pairs: list[tuple[str, str]]) -> dict:
    """Stripe's form encoding (a[b][0][c]=x) back into nested dicts/lists."""
    root: dict = {}
    for key, value in pairs:
        parts = key.replace("]", "").split("[")
        node = root
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            nxt = parts[i + 1] if not last else None
            if isinstance(node, list):
                index = int(part)
                while len(node) <= index:
                    node.append({} if nxt is None or not nxt.isdigit() else [])
                if last:
                    node[index] = value
                else:
                    if not isinstance(node[index], dict | list) or (
                        nxt.isdigit() and not isinstance(node[index], list)
                    ):
                        node[index] = [] if nxt.isdigit() else {}
                    node = node[index]
            else:
                if last:
                    node[part] = value
                else:
                    node = node.setdefault(part, [] if nxt.isdigit() else {})
    return root


class FakeStripe(FakeServer):
    extra_headers = {"Request-Id": "req_fake"}

    def __init__(self):
        self.requests: list[dict] = []
        self.subscriptions: dict[str, dict] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        super().__init__()

    def answer(self, method: str, path: str, headers, raw: bytes) -> tuple[int, dict]:
        params = unflatten(parse_qsl(raw.decode(), keep_blank_values=True))
        with self._lock:
            self.requests.append(
                {
                    "method": method,
                    "path": path,
                    "params": params,
                    "idempotency_key": headers.get("Idempotency-Key"),
                    "authorization": headers.get("Authorization"),
                }
            )
        return self.route(method, path.split("?")[0], params)

    def next_id(self, prefix: str) -> str:
        return f"{prefix}_{next(self._ids)}"

    def route(self, method: str, path: str, params: dict) -> tuple[int, dict]:
        if method == "POST" and path == "/v1/customers":
            return 200, {"id": self.next_id("cus"), "object": "customer", **params}
        if method == "POST" and path == "/v1/checkout/sessions":
            sid = self.next_id("cs_test")
            return 200, {
                "id": sid,
                "object": "checkout.session",
                "url": f"https://checkout.stripe.test/c/pay/{sid}",
                "mode": params.get("mode"),
                "metadata": params.get("metadata", {}),
            }
        if path.startswith("/v1/subscriptions/"):
            sub_id = path.rsplit("/", 1)[1]
            sub = self.subscriptions.setdefault(
                sub_id,
                {
                    "id": sub_id,
                    "object": "subscription",
                    "items": {
                        "object": "list",
                        "data": [{"id": "si_1", "price": {"id": "price_old", "product": "prod_1"}}],
                    },
                },
            )
            if method == "POST":
                sub.setdefault("updates", []).append(params)
            return 200, sub
        if method == "POST" and path == "/v1/transfers":
            if params.get("destination") == "acct_refused":
                return 400, {
                    "error": {
                        "type": "invalid_request_error",
                        "message": "No such destination: 'acct_refused'",
                    }
                }
            return 200, {"id": self.next_id("tr"), "object": "transfer", **params}
        return 404, {"error": {"type": "invalid_request_error", "message": f"no route {path}"}}

    def calls(self, path: str) -> list[dict]:
        return [r for r in self.requests if r["path"].split("?")[0] == path]
