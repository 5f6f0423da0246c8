"""Refunds and disputes: unspent credits leave the wallet, spent ones become a debt that stops
new generations, artists keep what they earned, a won dispute gives everything back, and each
provider event acts once however often it comes."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from stylevault.billing.models import Checkout, Reversal
from stylevault.billing.services import refunds
from stylevault.core import errors
from stylevault.ledger import selectors
from stylevault.ledger import services as ledger
from stylevault.ledger.models import Account, TransferKind
from tests.billing.conftest import LEMON_SECRET, lemon_signature
from tests.community.factories import make_style
from tests.conftest import PASSWORD, assert_error

pytestmark = pytest.mark.django_db


def books_clean():
    report = selectors.check_books()
    assert report.clean, report.problems


def _buy(user, token_client, deliver_stripe, *, intent="pi_1", pack="pack-100") -> Checkout:
    token_client(user).post("/api/v1/checkout", {"pack_id": pack, "currency": "USD"}, format="json")
    checkout = Checkout.objects.get(user=user, pack_id=pack)
    session = {
        "id": checkout.provider_ref, "object": "checkout.session", "mode": "payment",
        "payment_status": "paid", "amount_total": checkout.amount, "currency": "usd",
        "client_reference_id": str(checkout.pk), "metadata": {"checkout_id": str(checkout.pk)},
        "payment_intent": intent, "total_details": {"amount_tax": 68},
    }  # fmt: skip
    answer = deliver_stripe("checkout.session.completed", session, event_id=f"evt_buy_{intent}")
    assert answer.json()["outcome"] == "credited"
    checkout.refresh_from_db()
    return checkout


def _spend(user, artist, amount: int) -> None:
    hold = ledger.reserve(user=user, amount=amount)
    ledger.capture(hold=hold, artists=[(artist, 1)], description="generation")


def _charge(intent: str, amount: int, refunded: int) -> dict:
    return {"id": "ch_1", "object": "charge", "payment_intent": intent, "amount": amount,
            "amount_refunded": refunded, "refunded": refunded == amount}  # fmt: skip


def _wallet(client) -> dict:
    return client.get("/api/v1/wallet").json()


def test_full_refund_after_half_spent_leaves_a_debt_that_blocks_generations(
    user, make_user, token_client, stripe_server, deliver_stripe
):
    artist = make_user("painter", artist=True)
    client = token_client(user)
    checkout = _buy(user, token_client, deliver_stripe)
    _spend(user, artist, 50)
    earned = selectors.earnings_balance(artist)
    assert earned > 0

    refund = _charge("pi_1", checkout.amount, checkout.amount)
    for _ in range(3):  # Stripe redelivers
        deliver_stripe("charge.refunded", refund, event_id="evt_refund_1")
    assert _wallet(client) == {"balance": 0, "held": 0, "debt": 50}
    assert selectors.earnings_balance(artist) == earned  # the platform bears the loss
    (step,) = Reversal.objects.filter(cause="refund")
    assert (step.credits, step.from_wallet, step.to_debt) == (100, 50, 50)
    books_clean()

    style = make_style(artist)
    answer = client.post(
        "/api/v1/generations",
        {"styles": [{"id": style.pk, "weight": 1}], "prompt": "a lighthouse", "steps": 3},
        format="json",
    )
    body = assert_error(answer, 402, "PAYMENT_REQUIRED")
    assert "refunded or disputed" in body["message"]

    history = client.get("/api/v1/wallet/transactions").json()["results"]
    kinds = [(h["kind"], h["amount"], h["account"]) for h in history]
    assert ("payment_reversal", -50, "wallet") in kinds
    assert ("payment_reversal", -50, "debt") in kinds


def test_partial_refunds_take_back_their_share_once(
    user, token_client, stripe_server, deliver_stripe
):
    checkout = _buy(user, token_client, deliver_stripe)  # 100 credits for 7.50 USD
    deliver_stripe("charge.refunded", _charge("pi_1", 750, 150), event_id="evt_r1")
    deliver_stripe("charge.refunded", _charge("pi_1", 750, 150), event_id="evt_r1")
    assert selectors.wallet_of(user)["balance"] == 80
    deliver_stripe("charge.refunded", _charge("pi_1", 750, 375), event_id="evt_r2")
    assert selectors.wallet_of(user)["balance"] == 50
    checkout.refresh_from_db()
    assert checkout.reversed_credits == 50 and selectors.debt_of(user) == 0
    books_clean()


def test_dispute_of_a_spent_pack_is_a_debt_and_winning_it_clears_the_debt(
    user, make_user, token_client, stripe_server, deliver_stripe
):
    artist = make_user("painter", artist=True)
    _buy(user, token_client, deliver_stripe)
    _spend(user, artist, 100)
    earned = selectors.earnings_balance(artist)
    dispute = {"id": "dp_1", "object": "dispute", "payment_intent": "pi_1", "amount": 750,
               "reason": "fraudulent", "status": "needs_response"}  # fmt: skip
    deliver_stripe("charge.dispute.created", dispute, event_id="evt_d1")
    deliver_stripe("charge.dispute.created", dispute, event_id="evt_d1")
    assert selectors.debt_of(user) == 100 and selectors.wallet_of(user)["balance"] == 0
    books_clean()

    won = {**dispute, "status": "won"}
    deliver_stripe("charge.dispute.closed", won, event_id="evt_d2")
    deliver_stripe("charge.dispute.closed", won, event_id="evt_d2")
    assert selectors.debt_of(user) == 0 and selectors.wallet_of(user)["balance"] == 0
    assert selectors.earnings_balance(artist) == earned
    with pytest.raises(errors.InsufficientCredits):  # no longer PAYMENT_REQUIRED
        ledger.reserve(user=user, amount=1)
    books_clean()


def test_dispute_lost_keeps_the_debt_until_a_purchase_pays_it(
    user, make_user, token_client, stripe_server, deliver_stripe
):
    artist = make_user("painter", artist=True)
    _buy(user, token_client, deliver_stripe)
    _spend(user, artist, 60)
    dispute = {"id": "dp_1", "object": "dispute", "payment_intent": "pi_1", "amount": 750}
    deliver_stripe("charge.dispute.created", dispute, event_id="evt_d1")
    deliver_stripe("charge.dispute.closed", {**dispute, "status": "lost"}, event_id="evt_d2")
    assert selectors.debt_of(user) == 60
    _buy(user, token_client, deliver_stripe, intent="pi_2", pack="pack-500")
    assert selectors.debt_of(user) == 0
    assert selectors.wallet_of(user)["balance"] == 440
    ledger.reserve(user=user, amount=10)  # no longer refused
    books_clean()


def test_an_operator_writes_a_debt_off_as_a_platform_loss(
    user, make_user, token_client, stripe_server, deliver_stripe
):
    artist = make_user("painter", artist=True)
    operator = make_user("root", operator=True)
    _buy(user, token_client, deliver_stripe)
    _spend(user, artist, 100)
    deliver_stripe("charge.refunded", _charge("pi_1", 750, 750), event_id="evt_r")
    with pytest.raises(errors.Forbidden):
        refunds.write_off_debt(user=user, operator=user)

    page = Client()
    page.login(username=operator.username, password=PASSWORD)
    listing = page.get("/admin/billing/reversal/")
    assert listing.status_code == 200 and "stripe:evt_r" in listing.content.decode()
    step = Reversal.objects.get(cause="refund")
    answer = page.post(
        "/admin/billing/reversal/",
        {"action": "write_off", "_selected_action": [step.pk]},
    )
    assert answer.status_code == 302
    assert selectors.debt_of(user) == 0
    assert Account.objects.get(code="platform_losses").posted == -100
    assert TransferKind.DEBT_WRITE_OFF in {h.kind for h in selectors.history_of(user)}
    with pytest.raises(errors.InsufficientCredits):  # no longer PAYMENT_REQUIRED
        ledger.reserve(user=user, amount=1)
    books_clean()


def test_lemon_squeezy_refund_reverses_once(user, client, settings):
    settings.STYLEVAULT_LEMONSQUEEZY_WEBHOOK_SECRET = LEMON_SECRET
    checkout = Checkout.objects.create(
        user=user, provider="lemonsqueezy", kind="pack", pack_id="pack-100", credits=100,
        currency="USD", amount=750,
    )  # fmt: skip

    def send(name: str, **attributes):
        payload = json.dumps({
            "meta": {"event_name": name, "custom_data": {"checkout_id": str(checkout.pk)}},
            "data": {"type": "orders", "id": "77", "attributes": {
                "status": "paid", "total": 750, "currency": "USD", **attributes}},
        }).encode()  # fmt: skip
        return client.post(
            "/api/v1/webhooks/lemonsqueezy", payload, content_type="application/json",
            HTTP_X_SIGNATURE=lemon_signature(payload),
        ).json()["outcome"]  # fmt: skip

    assert send("order_created") == "credited"
    assert send("order_refunded", refunded=True, refunded_amount=750) == "reversed"
    assert send("order_refunded", refunded=True, refunded_amount=750) == "duplicate"
    assert selectors.wallet_of(user)["balance"] == 0 and selectors.debt_of(user) == 0
    books_clean()


def test_a_dispute_won_after_its_debt_was_written_off_recovers_the_loss_not_the_wallet(
    user, make_user, token_client, stripe_server, deliver_stripe
):
    artist = make_user("painter", artist=True)
    operator = make_user("root", operator=True)
    _buy(user, token_client, deliver_stripe)
    _spend(user, artist, 60)
    dispute = {"id": "dp_1", "object": "dispute", "payment_intent": "pi_1", "amount": 750}
    deliver_stripe("charge.dispute.created", dispute, event_id="evt_d1")
    assert selectors.debt_of(user) == 60 and selectors.wallet_of(user)["balance"] == 0
    assert refunds.write_off_debt(user=user, operator=operator) == 60
    deliver_stripe("charge.dispute.closed", {**dispute, "status": "won"}, event_id="evt_d2")
    # the payment stands after all: the 40 unspent credits come back, the 60 spent ones were
    # paid for by it (not a gift on top of the write-off), and the platform's loss is undone
    assert selectors.wallet_of(user)["balance"] == 40 and selectors.debt_of(user) == 0
    assert Account.objects.get(code="platform_losses").posted == 0
    books_clean()
