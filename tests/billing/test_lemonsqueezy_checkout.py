"""Lemon Squeezy checkout creation against a local HTTP server speaking its JSON:API, and the
existing order webhook finding the checkout by the id we sent in checkout_data.custom."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from stylevault.billing.models import Checkout, CheckoutStatus
from stylevault.ledger import selectors
from tests.billing.conftest import LEMON_SECRET, lemon_signature
from tests.conftest import assert_error

pytestmark = pytest.mark.django_db


class FakeLemonSqueezy:
    def __init__(self):
        self.requests: list[dict] = []
        self.refuse = False
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fake.requests.append({"path": self.path, "body": body,
                                      "headers": dict(self.headers)})  # fmt: skip
                if fake.refuse or self.headers.get("Authorization") != "Bearer ls_key":
                    status, answer = 422, {"errors": [{"status": "422", "title": "Unprocessable"}]}
                else:
                    status, answer = 201, {"data": {"type": "checkouts", "id": "ck-1",
                        "attributes": {"url": "https://store.lemonsqueezy.test/checkout/ck-1",
                                       **body["data"]["attributes"]}}}  # fmt: skip
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/vnd.api+json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def lemon(settings):
    fake = FakeLemonSqueezy()
    settings.STYLEVAULT_LEMONSQUEEZY_API_KEY = "ls_key"
    settings.STYLEVAULT_LEMONSQUEEZY_STORE_ID = "11"
    settings.STYLEVAULT_LEMONSQUEEZY_VARIANT_ID = "22"
    settings.STYLEVAULT_LEMONSQUEEZY_API_URL = fake.url
    settings.STYLEVAULT_LEMONSQUEEZY_WEBHOOK_SECRET = LEMON_SECRET
    yield fake
    fake.server.shutdown()
    fake.server.server_close()


def test_checkout_is_created_and_its_order_credits_it(user, token_client, lemon, client):
    answer = token_client(user).post(
        "/api/v1/checkout", {"pack_id": "pack-100", "currency": "USD", "provider": "lemonsqueezy"},
        format="json",
    )  # fmt: skip
    assert answer.json() == {"checkout_url": "https://store.lemonsqueezy.test/checkout/ck-1"}
    checkout = Checkout.objects.get(user=user)
    (call,) = lemon.requests
    assert call["path"] == "/v1/checkouts"
    assert call["headers"]["Content-Type"] == "application/vnd.api+json"
    data = call["body"]["data"]
    assert data["type"] == "checkouts" and data["attributes"]["custom_price"] == 750
    assert data["attributes"]["checkout_data"]["custom"] == {"checkout_id": str(checkout.pk)}
    assert data["relationships"]["store"]["data"] == {"type": "stores", "id": "11"}
    assert data["relationships"]["variant"]["data"] == {"type": "variants", "id": "22"}

    payload = json.dumps({
        "meta": {"event_name": "order_created", "custom_data": {"checkout_id": str(checkout.pk)}},
        "data": {"type": "orders", "id": "5", "attributes": {
            "status": "paid", "total": 750, "currency": "USD", "tax": 62}},
    }).encode()  # fmt: skip
    hook = client.post("/api/v1/webhooks/lemonsqueezy", payload, content_type="application/json",
                       HTTP_X_SIGNATURE=lemon_signature(payload))  # fmt: skip
    assert hook.json()["outcome"] == "credited"
    checkout.refresh_from_db()
    assert checkout.status == CheckoutStatus.COMPLETED and checkout.tax_amount == 62
    assert selectors.wallet_of(user)["balance"] == 100


def test_a_refused_checkout_is_a_clear_error(user, token_client, lemon):
    lemon.refuse = True
    answer = token_client(user).post(
        "/api/v1/checkout", {"pack_id": "pack-100", "currency": "USD"}, format="json"
    )
    assert_error(answer, 409, "CONFLICT")
    assert Checkout.objects.get(user=user).status == CheckoutStatus.FAILED
