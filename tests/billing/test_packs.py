"""Credit packs: listing, checkout (Stripe through its HTTP API, and the development provider),
and the signed webhooks that credit them exactly once."""

from __future__ import annotations

import json
import time

import pytest
from django.test import Client

from stylevault.billing.models import Checkout, CheckoutStatus, WebhookEvent
from stylevault.ledger import selectors
from tests.billing.conftest import LEMON_SECRET, lemon_signature, stripe_signature
from tests.conftest import PASSWORD, assert_error

pytestmark = pytest.mark.django_db


def books_clean():
    report = selectors.check_books()
    assert report.clean, report.problems


def test_packs_listed_with_spec_defaults(user, token_client):
    response = token_client(user).get("/api/v1/credit-packs")
    assert response.status_code == 200
    body = response.json()
    assert body["next"] is None
    packs = {p["id"]: p for p in body["results"]}
    assert [p["credits"] for p in body["results"]] == [100, 500, 1000]
    krw = {p["id"]: next(x for x in p["prices"] if x["currency"] == "KRW") for p in packs.values()}
    assert [krw[k]["amount"] for k in ("pack-100", "pack-500", "pack-1000")] == [
        10000,
        45000,
        80000,
    ]
    assert krw["pack-100"]["display"] == "10,000 KRW"


def test_packs_are_configurable(user, token_client, settings):
    settings.STYLEVAULT_CREDIT_PACKS = [{"id": "mini", "credits": 5, "prices": {"EUR": 99}}]
    body = token_client(user).get("/api/v1/credit-packs").json()
    assert body["results"] == [
        {
            "id": "mini",
            "credits": 5,
            "prices": [{"currency": "EUR", "amount": 99, "display": "0.99 EUR"}],
        }
    ]


@pytest.mark.parametrize(
    "body",
    [{}, {"pack_id": "nope"}, {"pack_id": 7}, {"pack_id": ["pack-100"]},
     {"pack_id": "pack-100", "currency": "XXX"}, {"pack_id": "pack-100", "currency": 5}],
)  # fmt: skip
def test_bad_checkout_requests_are_validation_errors(user, token_client, body):
    response = token_client(user).post("/api/v1/checkout", body, format="json")
    assert_error(response, 400, "VALIDATION_ERROR")
    assert not Checkout.objects.exists()


def test_checkout_needs_a_user(api_client):
    assert_error(
        api_client.post("/api/v1/checkout", {"pack_id": "pack-100"}, format="json"),
        401,
        "UNAUTHORIZED",
    )


def test_dev_provider_buys_credits_once(user, token_client):
    client = token_client(user)
    response = client.post("/api/v1/checkout", {"pack_id": "pack-500"}, format="json")
    assert response.status_code == 200
    url = response.json()["checkout_url"]
    assert url.startswith("http://testserver/") and "/dev/" in url
    page = Client()
    page.login(username=user.username, password=PASSWORD)
    path = url.removeprefix("http://testserver")
    assert page.get(path).status_code == 200
    assert page.post(path).status_code == 302
    assert page.post(path).status_code == 302  # a second confirmation changes nothing
    assert selectors.wallet_of(user) == {"balance": 500, "held": 0}
    assert client.get("/api/v1/me").json()["credits"] == 500
    history = client.get("/api/v1/wallet/transactions").json()["results"]
    assert [(h["kind"], h["amount"], h["account"]) for h in history] == [
        ("purchase", 500, "wallet")
    ]
    books_clean()


def test_dev_provider_is_off_in_production(user, token_client, settings):
    settings.PRODUCTION = True
    response = token_client(user).post("/api/v1/checkout", {"pack_id": "pack-100"}, format="json")
    assert_error(response, 409, "CONFLICT")


def test_someone_elses_dev_checkout_is_not_found(user, make_user, token_client):
    token_client(user).post("/api/v1/checkout", {"pack_id": "pack-100"}, format="json")
    checkout = Checkout.objects.get()
    mallory = make_user("mallory")
    page = Client()
    page.login(username=mallory.username, password=PASSWORD)
    assert page.post(f"/en/checkout/{checkout.pk}/dev/").status_code == 404
    assert selectors.wallet_of(user)["balance"] == 0


def _stripe_checkout(user, token_client, stripe_server, pack="pack-100", currency=None):
    body = {"pack_id": pack} | ({"currency": currency} if currency else {})
    response = token_client(user).post("/api/v1/checkout", body, format="json")
    assert response.status_code == 200, response.content
    checkout = Checkout.objects.get(user=user, pack_id=pack)
    return response.json()["checkout_url"], checkout


def _session(checkout, **extra) -> dict:
    return {
        "id": checkout.provider_ref,
        "object": "checkout.session",
        "mode": "payment",
        "payment_status": "paid",
        "amount_total": checkout.amount,
        "currency": checkout.currency.lower(),
        "client_reference_id": str(checkout.pk),
        "metadata": {"checkout_id": str(checkout.pk)},
        **extra,
    }


def test_stripe_checkout_session_is_created_through_the_api(user, token_client, stripe_server):
    url, checkout = _stripe_checkout(user, token_client, stripe_server, currency="USD")
    assert url.startswith("https://checkout.stripe.test/")
    (call,) = stripe_server.calls("/v1/checkout/sessions")
    assert call["authorization"] == "Bearer sk_test_fake"
    assert call["idempotency_key"] == f"checkout-{checkout.pk}"
    item = call["params"]["line_items"][0]
    assert item["price_data"]["unit_amount"] == "750" and item["price_data"]["currency"] == "usd"
    assert call["params"]["metadata"]["checkout_id"] == str(checkout.pk)
    assert checkout.provider_ref.startswith("cs_test_")


def test_same_webhook_twice_credits_once(user, token_client, stripe_server, deliver_stripe):
    _url, checkout = _stripe_checkout(user, token_client, stripe_server)
    first = deliver_stripe("checkout.session.completed", _session(checkout), event_id="evt_1")
    again = deliver_stripe("checkout.session.completed", _session(checkout), event_id="evt_1")
    assert first.json() == {"received": True, "outcome": "credited"}
    assert again.json()["outcome"] == "duplicate"
    # Stripe may also tell the same payment with another event: still one effect
    other = deliver_stripe(
        "checkout.session.async_payment_succeeded", _session(checkout), event_id="evt_2"
    )
    assert other.status_code == 200
    assert selectors.wallet_of(user)["balance"] == 100
    assert Checkout.objects.get(pk=checkout.pk).status == CheckoutStatus.COMPLETED
    books_clean()


def test_forged_and_stale_signatures_are_refused(user, token_client, stripe_server, deliver_stripe):
    _url, checkout = _stripe_checkout(user, token_client, stripe_server)
    payload_sig = stripe_signature(b"something else")
    forged = deliver_stripe(
        "checkout.session.completed", _session(checkout), event_id="evt_f", signature=payload_sig
    )
    assert_error(forged, 400, "VALIDATION_ERROR")
    wrong_secret = deliver_stripe(
        "checkout.session.completed", _session(checkout), event_id="evt_w", signature="t=1,v1=abc"
    )
    assert_error(wrong_secret, 400, "VALIDATION_ERROR")
    from tests.billing.conftest import stripe_event

    payload = stripe_event("checkout.session.completed", _session(checkout), event_id="evt_s")
    stale_sig = stripe_signature(payload, at=int(time.time()) - 3600)
    stale = Client().post(
        "/api/v1/webhooks/stripe",
        payload,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=stale_sig,
    )
    assert_error(stale, 400, "VALIDATION_ERROR")
    missing = Client().post("/api/v1/webhooks/stripe", payload, content_type="application/json")
    assert_error(missing, 400, "VALIDATION_ERROR")
    assert selectors.wallet_of(user)["balance"] == 0
    assert not WebhookEvent.objects.exists()


def test_unpaid_or_mismatched_sessions_credit_nothing(
    user, token_client, stripe_server, deliver_stripe
):
    _url, checkout = _stripe_checkout(user, token_client, stripe_server)
    unpaid = deliver_stripe(
        "checkout.session.completed", _session(checkout, payment_status="unpaid"), event_id="evt_u"
    )
    assert unpaid.json()["outcome"] == "awaiting payment"
    cheap = deliver_stripe(
        "checkout.session.completed", _session(checkout, amount_total=1), event_id="evt_c"
    )
    assert cheap.json()["outcome"] == "amount mismatch"
    unknown = deliver_stripe(
        "checkout.session.completed",
        _session(checkout, metadata={"checkout_id": "not-a-uuid"}, client_reference_id=None),
        event_id="evt_x",
    )
    assert unknown.json()["outcome"] == "no such checkout"
    assert selectors.wallet_of(user)["balance"] == 0
    books_clean()


def test_webhook_bodies_that_are_not_events(stripe_server):
    payload = b"[1, 2, 3]"
    response = Client().post(
        "/api/v1/webhooks/stripe", payload, content_type="application/json",
        HTTP_STRIPE_SIGNATURE=stripe_signature(payload),
    )  # fmt: skip
    assert_error(response, 400, "VALIDATION_ERROR")


def test_lemonsqueezy_order(user, token_client, settings):
    settings.STYLEVAULT_LEMONSQUEEZY_WEBHOOK_SECRET = LEMON_SECRET
    token_client(user).post("/api/v1/checkout", {"pack_id": "pack-100"}, format="json")
    checkout = Checkout.objects.get()
    Checkout.objects.filter(pk=checkout.pk).update(provider="lemonsqueezy")
    body = json.dumps(
        {
            "meta": {
                "event_name": "order_created",
                "custom_data": {"checkout_id": str(checkout.pk)},
            },
            "data": {
                "type": "orders",
                "id": "77",
                "attributes": {"status": "paid", "total": 10000, "currency": "KRW"},
            },
        }
    ).encode()
    post = lambda sig: Client().post(  # noqa: E731
        "/api/v1/webhooks/lemonsqueezy", body, content_type="application/json", HTTP_X_SIGNATURE=sig
    )
    assert_error(post("0" * 64), 400, "VALIDATION_ERROR")
    assert_error(post("é" * 64), 400, "VALIDATION_ERROR")  # not hex at all: still a 400
    assert selectors.wallet_of(user)["balance"] == 0
    assert post(lemon_signature(body)).json()["outcome"] == "credited"
    assert post(lemon_signature(body)).json()["outcome"] == "duplicate"
    assert selectors.wallet_of(user)["balance"] == 100
    books_clean()


@pytest.mark.django_db(transaction=True)
def test_same_webhook_delivered_concurrently_credits_once(make_user, stripe_server):
    """Stripe retries can overlap: eight simultaneous deliveries of one event, one credit."""
    import threading

    from django.db import connection
    from rest_framework.test import APIClient

    from tests.billing.conftest import stripe_event

    user = make_user("buyer")
    client = APIClient()
    client.force_authenticate(user)
    client.post("/api/v1/checkout", {"pack_id": "pack-1000"}, format="json")
    checkout = Checkout.objects.get()
    payload = stripe_event("checkout.session.completed", _session(checkout), event_id="evt_race")
    start, outcomes = threading.Barrier(8), []

    def deliver():
        try:
            start.wait(timeout=30)
            response = Client().post(
                "/api/v1/webhooks/stripe", payload, content_type="application/json",
                HTTP_STRIPE_SIGNATURE=stripe_signature(payload),
            )  # fmt: skip
            outcomes.append((response.status_code, response.json().get("outcome")))
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == [(200, "credited")] + [(200, "duplicate")] * 7
    assert selectors.wallet_of(user)["balance"] == 1000
    books_clean()
