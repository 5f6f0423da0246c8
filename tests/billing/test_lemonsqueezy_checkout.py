"""Lemon Squeezy checkout creation against a local HTTP server speaking its JSON:API, and the
existing order webhook finding the checkout by the id we sent in checkout_data.custom."""

from __future__ import annotations

import json

import pytest

from stylevault.billing.models import Checkout, CheckoutStatus
from stylevault.ledger import selectors
from tests.billing.conftest import LEMON_SECRET, lemon_signature
from tests.billing.fake_http import FakeServer
from tests.conftest import assert_error

pytestmark = pytest.mark.django_db


class FakeLemonSqueezy(FakeServer):
    content_type = "application/vnd.api+json"

    def __init__(self):
        self.requests: list[dict] = []
        self.refuse = False
        super().__init__()

    def answer(self, method: str, path: str, headers, raw: bytes) -> tuple[int, dict]:
        body = json.loads(raw)
        self.requests.append({"path": path, "body": body, "headers": dict(headers)})
        if self.refuse or headers.get("Authorization") != "Bearer ls_key":
            return 422, {"errors": [{"status": "422", "title": "Unprocessable"}]}
        attributes = {"url": "https://store.lemonsqueezy.test/checkout/ck-1",
                      **body["data"]["attributes"]}  # fmt: skip
        return 201, {"data": {"type": "checkouts", "id": "ck-1", "attributes": attributes}}


@pytest.fixture
def lemon(settings):
    fake = FakeLemonSqueezy()
    settings.STYLEVAULT_LEMONSQUEEZY_API_KEY = "ls_key"
    settings.STYLEVAULT_LEMONSQUEEZY_STORE_ID = "11"
    settings.STYLEVAULT_LEMONSQUEEZY_VARIANT_ID = "22"
    settings.STYLEVAULT_LEMONSQUEEZY_API_URL = fake.url
    settings.STYLEVAULT_LEMONSQUEEZY_WEBHOOK_SECRET = LEMON_SECRET
    yield fake
    fake.close()


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


def test_the_store_is_charged_in_its_dollars_never_a_won_amount(user, token_client, lemon):
    client = token_client(user)
    answer = client.post(  # the packs' first price is in won; the store charges dollars
        "/api/v1/checkout", {"pack_id": "pack-100", "provider": "lemonsqueezy"}, format="json"
    )
    assert answer.status_code == 200, answer.content
    (call,) = lemon.requests
    assert call["body"]["data"]["attributes"]["custom_price"] == 750
    checkout = Checkout.objects.get(user=user)
    assert (checkout.currency, checkout.amount) == ("USD", 750)
    answer = client.post(
        "/api/v1/checkout", {"pack_id": "pack-100", "currency": "KRW", "provider": "lemonsqueezy"},
        format="json",
    )  # fmt: skip
    body = assert_error(answer, 400, "VALIDATION_ERROR")
    assert "currency" in body["details"]["fields"]
    assert len(lemon.requests) == 1
