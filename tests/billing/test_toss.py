"""Toss Payments, against a real local HTTP fake of its API: the server sets the amount,
confirms it, grants once whatever arrives in whatever order, and reverses cancels."""

from __future__ import annotations

import base64
import itertools
import json

import pytest
from django.test import Client

from stylevault.billing.models import Checkout, CheckoutStatus
from stylevault.billing.providers import toss
from stylevault.ledger import selectors
from tests.billing.fake_toss import FakeToss
from tests.conftest import PASSWORD, assert_error

pytestmark = pytest.mark.django_db

SECRET = "test_sk_payments_branch"


@pytest.fixture
def toss_server(settings):
    fake = FakeToss(SECRET)
    settings.STYLEVAULT_TOSS_CLIENT_KEY = "test_ck_payments_branch"
    settings.STYLEVAULT_TOSS_SECRET_KEY = SECRET
    settings.STYLEVAULT_TOSS_API_URL = fake.url
    yield fake
    fake.close()


def books_clean():
    report = selectors.check_books()
    assert report.clean, report.problems


def _order(client, pack="pack-100") -> dict:
    answer = client.post("/api/v1/checkout", {"pack_id": pack, "provider": "toss"}, format="json")
    assert answer.status_code == 200, answer.content
    return answer.json()


def _redirect(client, key, order_id, amount):
    return client.get(
        "/api/v1/payments/toss/success", {"paymentKey": key, "orderId": order_id, "amount": amount}
    )


def _webhook(client, key, status="DONE"):
    body = {"eventType": "PAYMENT_STATUS_CHANGED", "createdAt": "2026-12-02T10:00:00.000000",
            "data": {"paymentKey": key, "status": status, "orderId": "forged"}}  # fmt: skip
    answer = client.post("/api/v1/webhooks/toss", json.dumps(body), content_type="application/json")
    assert answer.status_code == 200, answer.content
    return answer.json()["outcome"]


def test_checkout_answers_the_widget_order_at_our_price(user, token_client, toss_server):
    order = _order(token_client(user))
    assert order["provider"] == "toss" and order["currency"] == "KRW"
    assert order["amount"] == 10_000 and order["client_key"] == "test_ck_payments_branch"
    assert order["customer_key"] == toss.customer_key(user.pk) != f"sv-{user.pk}"
    assert order["success_url"].endswith("/api/v1/payments/toss/success")
    assert "/wallet/" in order["fail_url"]
    checkout = Checkout.objects.get(pk=order["order_id"])
    assert (checkout.provider, checkout.amount, checkout.status) == ("toss", 10_000, "open")
    answer = token_client(user).post(
        "/api/v1/checkout", {"pack_id": "pack-100", "provider": "toss", "currency": "USD"},
        format="json",
    )  # fmt: skip
    assert_error(answer, 400, "VALIDATION_ERROR")


def test_redirect_confirms_with_basic_auth_and_an_idempotency_key(user, token_client, toss_server):
    client = token_client(user)
    order = _order(client)
    key = toss_server.pay(order["order_id"], order["amount"])
    answer = _redirect(client, key, order["order_id"], order["amount"])
    assert answer.status_code == 302 and answer["Location"].endswith("/wallet/?status=paid")
    (call,) = toss_server.calls("/v1/payments/confirm")
    assert call["authorization"] == "Basic " + base64.b64encode(f"{SECRET}:".encode()).decode()
    assert call["idempotency_key"] == f"confirm-{order['order_id']}"
    assert call["body"] == {"paymentKey": key, "orderId": order["order_id"], "amount": 10_000}
    checkout = Checkout.objects.get(pk=order["order_id"])
    assert checkout.status == CheckoutStatus.COMPLETED and checkout.payment_ref == key
    assert checkout.tax_amount == 909
    assert selectors.wallet_of(user)["balance"] == 100
    books_clean()


def test_a_tampered_amount_grants_nothing(user, token_client, toss_server):
    client = token_client(user)
    order = _order(client)
    key = toss_server.pay(order["order_id"], 100)  # the buyer's widget was made to ask for 100
    answer = _redirect(client, key, order["order_id"], 100)
    assert answer["Location"].endswith("status=failed&reason=VALIDATION_ERROR")
    assert toss_server.calls("/v1/payments/confirm") == []  # never confirmed
    answer = _redirect(client, key, order["order_id"], order["amount"])  # lies the other way
    assert answer["Location"].endswith("status=failed&reason=VALIDATION_ERROR")
    assert toss_server.payments[key]["status"] == "IN_PROGRESS"  # Toss refused the confirm
    assert _webhook(client, key) == "status IN_PROGRESS"
    assert selectors.wallet_of(user)["balance"] == 0
    assert Checkout.objects.get(pk=order["order_id"]).status == CheckoutStatus.OPEN


def test_redirect_and_webhooks_in_any_order_grant_once(user, token_client, toss_server):
    client = token_client(user)
    orders = set(itertools.permutations(["redirect", "webhook", "webhook"]))
    for steps in orders:
        order = _order(client)
        key = toss_server.pay(order["order_id"], order["amount"])
        # A first confirm went through at Toss but its answer was lost (the buyer closed the
        # tab): Toss holds the payment DONE and tells us by webhook, maybe before the retry.
        toss_server.payments[key].update(status="DONE")
        outcomes = []
        for step in steps:
            if step == "redirect":
                answer = _redirect(client, key, order["order_id"], order["amount"])
                assert answer["Location"].endswith("status=paid")
            else:
                outcomes.append(_webhook(client, key))
        assert sorted(outcomes) in (["credited", "duplicate"], ["duplicate", "duplicate"])
    assert selectors.wallet_of(user)["balance"] == 100 * len(orders) == 300
    assert _webhook(client, "tgen_missing") == "unknown payment"
    books_clean()


def test_a_webhook_before_the_confirm_reads_not_paid(user, token_client, toss_server):
    client = token_client(user)
    order = _order(client)
    key = toss_server.pay(order["order_id"], order["amount"])
    assert _webhook(client, key) == "status IN_PROGRESS"
    _redirect(client, key, order["order_id"], order["amount"])
    assert _webhook(client, key) == "duplicate"
    assert selectors.wallet_of(user)["balance"] == 100


def test_a_webhook_that_reads_canceled_grants_nothing_or_reverses(user, token_client, toss_server):
    client = token_client(user)
    never = _order(client)
    key = toss_server.pay(never["order_id"], never["amount"])
    toss_server.payments[key].update(status="CANCELED", balanceAmount=0)
    # paid, then cancelled before we saw it paid: granted and taken back at once, net nothing
    assert _webhook(client, key, status="DONE") == "reversed"
    assert selectors.wallet_of(user)["balance"] == 0 and selectors.debt_of(user) == 0

    paid = _order(client)
    key = toss_server.pay(paid["order_id"], paid["amount"])
    _redirect(client, key, paid["order_id"], paid["amount"])
    toss_server.cancel(key, 5_000)  # half, from Toss's console
    assert _webhook(client, key) == "reversed"
    assert _webhook(client, key) == "duplicate"
    assert selectors.wallet_of(user)["balance"] == 50
    toss_server.cancel(key)
    assert _webhook(client, key) == "reversed"
    assert selectors.wallet_of(user)["balance"] == 0 and selectors.debt_of(user) == 0
    books_clean()


def test_an_operator_refund_goes_through_the_cancel_api(user, token_client, toss_server):
    client = token_client(user)
    order = _order(client)
    key = toss_server.pay(order["order_id"], order["amount"])
    _redirect(client, key, order["order_id"], order["amount"])
    checkout = Checkout.objects.get(pk=order["order_id"])
    assert toss.refund(checkout=checkout, reason="requested by the buyer") == "reversed"
    (call,) = toss_server.calls(f"/v1/payments/{key}/cancel")
    assert call["body"] == {"cancelReason": "requested by the buyer"}
    assert call["idempotency_key"] == f"cancel-{checkout.pk}-0-all"
    assert selectors.wallet_of(user)["balance"] == 0
    assert _webhook(client, key) == "duplicate"  # Toss's own webhook of that cancel
    books_clean()


def test_the_console_refunds_a_toss_purchase(user, make_user, token_client, toss_server):
    client = token_client(user)
    order = _order(client)
    key = toss_server.pay(order["order_id"], order["amount"])
    _redirect(client, key, order["order_id"], order["amount"])
    console = Client()
    console.login(username=make_user("root", operator=True).username, password=PASSWORD)
    answer = console.post(
        "/admin/billing/checkout/",
        {"action": "refund_through_toss", "_selected_action": [order["order_id"]]},
    )
    assert answer.status_code == 302
    assert toss_server.payments[key]["status"] == "CANCELED"
    assert selectors.wallet_of(user)["balance"] == 0


@pytest.mark.parametrize("language,text", [("en", "Pay with Toss Payments"),
                                           ("ko", "토스페이먼츠로 결제")])  # fmt: skip
def test_widget_page_in_both_languages(user, toss_server, language, text, settings):
    page = Client()
    page.login(username=user.username, password=PASSWORD)
    answer = page.post(f"/{language}/credits/buy/", {"pack_id": "pack-100", "currency": "KRW"})
    assert answer.status_code == 302
    checkout = Checkout.objects.get(user=user)
    assert checkout.provider == "toss"
    html = page.get(answer["Location"])
    body = html.content.decode()
    assert text in body and f'data-order-id="{checkout.pk}"' in body
    assert 'data-amount="10000"' in body
    customer = toss.customer_key(user.pk)
    assert f'data-customer-key="{customer}"' in body and customer != f"sv-{user.pk}"
    assert customer != toss.customer_key(user.pk + 1) and len(customer) <= 50
    assert "https://js.tosspayments.com" in html["Content-Security-Policy"]


def test_receipt_page_shows_reference_amount_and_tax(user, make_user, token_client, toss_server):
    client = token_client(user)
    order = _order(client)
    key = toss_server.pay(order["order_id"], order["amount"])
    _redirect(client, key, order["order_id"], order["amount"])
    page = Client()
    page.login(username=user.username, password=PASSWORD)
    wallet = page.get("/en/wallet/").content.decode()
    assert f"/en/receipts/{order['order_id']}/" in wallet
    for language, title in (("en", "Receipt"), ("ko", "영수증")):
        body = page.get(f"/{language}/receipts/{order['order_id']}/").content.decode()
        assert f"<h1>{title}</h1>" in body and key in body
        assert "10,000 KRW" in body and "909 KRW" in body and "9,091 KRW" in body
    mallory = Client()
    mallory.login(username=make_user("mallory").username, password=PASSWORD)
    assert mallory.get(f"/en/receipts/{order['order_id']}/").status_code == 404


def test_the_webhook_without_toss_keys_is_refused(client, settings):
    settings.STYLEVAULT_TOSS_SECRET_KEY = ""
    body = json.dumps({"eventType": "PAYMENT_STATUS_CHANGED", "data": {"paymentKey": "k"}})
    answer = client.post("/api/v1/webhooks/toss", body, content_type="application/json")
    assert_error(answer, 409, "CONFLICT")


def test_a_cancel_applied_before_the_confirm_answer_leaves_no_credits(
    user, token_client, toss_server
):
    client = token_client(user)
    order = _order(client)
    key = toss_server.pay(order["order_id"], order["amount"])
    toss_server.payments[key].update(status="DONE", approvedAt="2026-12-02T10:00:00+09:00")
    confirmed = dict(toss_server.payments[key])  # the confirm's answer, still on its way back
    toss_server.cancel(key)  # cancelled at Toss meanwhile; its webhook is handled first
    _webhook(client, key)
    toss.apply_payment(confirmed)  # then the redirect applies what the confirm answered
    assert selectors.wallet_of(user)["balance"] == 0 and selectors.debt_of(user) == 0
    books_clean()


def test_a_partial_cancel_read_before_any_grant_credits_what_was_kept(
    user, token_client, toss_server
):
    client = token_client(user)
    order = _order(client)
    key = toss_server.pay(order["order_id"], order["amount"])
    toss_server.payments[key].update(status="DONE")  # paid; neither answer nor webhook arrived
    toss_server.cancel(key, 5_000)  # half refunded from Toss's console
    _webhook(client, key)
    assert selectors.wallet_of(user)["balance"] == 50  # the buyer still paid for half
    answer = _redirect(client, key, order["order_id"], order["amount"])  # the buyer's retry
    assert answer["Location"].endswith("status=paid")
    assert selectors.wallet_of(user)["balance"] == 50
    books_clean()


def test_a_webhook_toss_refuses_to_read_is_retried_not_dropped(
    user, token_client, toss_server, settings
):
    client = token_client(user)
    order = _order(client)
    key = toss_server.pay(order["order_id"], order["amount"])
    toss_server.payments[key].update(status="DONE")
    settings.STYLEVAULT_TOSS_SECRET_KEY = "test_sk_rotated"  # Toss answers 401 to our reads
    body = json.dumps({"eventType": "PAYMENT_STATUS_CHANGED", "data": {"paymentKey": key}})
    answer = client.post("/api/v1/webhooks/toss", body, content_type="application/json")
    assert_error(answer, 409, "CONFLICT")  # not 200: Toss delivers it again later
    settings.STYLEVAULT_TOSS_SECRET_KEY = SECRET
    assert _webhook(client, key) == "credited"


class _NotToss(FakeToss):
    def answer(self, method, path, headers, raw):
        return 200, ["not", "a", "payment"]


def test_an_answer_that_is_not_a_payment_is_a_clear_error_not_a_500(
    user, token_client, toss_server, settings
):
    client = token_client(user)
    order = _order(client)
    stranger = _NotToss(SECRET)
    settings.STYLEVAULT_TOSS_API_URL = stranger.url
    try:
        answer = _redirect(client, "tgen_x", order["order_id"], order["amount"])
        assert answer["Location"].endswith("status=failed&reason=CONFLICT")
        body = json.dumps({"eventType": "PAYMENT_STATUS_CHANGED", "data": {"paymentKey": "k"}})
        webhook = client.post("/api/v1/webhooks/toss", body, content_type="application/json")
        assert_error(webhook, 409, "CONFLICT")
    finally:
        stranger.close()
    assert selectors.wallet_of(user)["balance"] == 0
