"""Artist payouts: 20 USD minimum with carry-over, batches, CSV export, Stripe Connect
transfers (refused ones are returned to the artist), statements and the earnings API."""

from __future__ import annotations

import csv
import io

import pytest

from stylevault.billing import exports, selectors, services
from stylevault.billing.models import Payout, PayoutStatus
from stylevault.ledger import selectors as ledger_selectors
from stylevault.ledger import services as ledger
from tests.conftest import assert_error

pytestmark = pytest.mark.django_db


def earn(buyer, artist, credits):
    ledger.grant_credits(user=buyer, amount=credits, reason="test")
    ledger.capture(hold=ledger.reserve(user=buyer, amount=credits), artists=[(artist, 1)])


@pytest.fixture
def artists(make_user):
    buyer = make_user("buyer")
    rich, poor = make_user("rich", artist=True), make_user("poor", artist=True)
    earn(buyer, rich, 4001)  # 0.5 cent per credit: 20.00 USD, one credit carries over
    earn(buyer, poor, 3999)  # 19.99 USD: below the minimum
    return rich, poor


def test_minimum_payout_and_carry_over(artists):
    rich, poor = artists
    batch = services.create_payout_batch()
    (payout,) = batch.payouts.all()
    assert (payout.artist, payout.credits, payout.amount) == (rich, 4000, 2000)
    assert ledger_selectors.earnings_balance(rich) == 1
    assert ledger_selectors.earnings_balance(poor) == 3999
    assert services.create_payout_batch() is None  # nothing new to pay
    report = ledger_selectors.check_books()
    assert report.clean, report.problems


def test_send_batch_with_stripe_connect(artists, stripe_server):
    rich, _poor = artists
    services.set_payout_account(artist=rich, stripe_account_id="acct_123")
    batch = services.create_payout_batch()
    assert services.send_payout_batch(batch_id=batch.pk) == {
        "sent": 1,
        "reversed": 0,
        "pending": 0,
        "errors": 0,
    }
    assert services.send_payout_batch(batch_id=batch.pk) == {
        "sent": 0,
        "reversed": 0,
        "pending": 0,
        "errors": 0,
    }
    (call,) = stripe_server.calls("/v1/transfers")
    assert call["params"]["destination"] == "acct_123" and call["params"]["amount"] == "2000"
    payout = Payout.objects.get()
    assert payout.status == PayoutStatus.SENT and payout.stripe_transfer_id.startswith("tr_")
    assert call["idempotency_key"] == f"payout-{payout.pk}"
    rows = list(csv.DictReader(io.StringIO(exports.payout_batch_csv(batch.pk))))
    assert rows[0]["artist"] == "rich" and rows[0]["amount_cents"] == "2000"
    assert rows[0]["status"] == "sent"


def test_refused_transfer_returns_the_credits(artists, stripe_server):
    rich, _poor = artists
    services.set_payout_account(artist=rich, stripe_account_id="acct_refused")
    batch = services.create_payout_batch()
    assert services.send_payout_batch(batch_id=batch.pk)["reversed"] == 1
    assert Payout.objects.get().status == PayoutStatus.REVERSED
    assert ledger_selectors.earnings_balance(rich) == 4001
    report = ledger_selectors.check_books()
    assert report.clean, report.problems


def test_a_payout_lost_in_transit_is_never_paid_twice(artists, stripe_server, settings):
    """Stripe unreachable after the payout was asked for: it stays `sending`, an operator
    cannot return its credits, and the next run retries with the same idempotency key."""
    from stylevault.core import errors
    from tests.e2e.conftest import free_port

    rich, _poor = artists
    services.set_payout_account(artist=rich, stripe_account_id="acct_123")
    batch = services.create_payout_batch()
    reachable = settings.STYLEVAULT_STRIPE_API_BASE
    settings.STYLEVAULT_STRIPE_API_BASE = f"http://127.0.0.1:{free_port()}"
    assert services.send_payout_batch(batch_id=batch.pk)["pending"] == 1
    payout = Payout.objects.get()
    assert payout.status == PayoutStatus.SENDING
    with pytest.raises(errors.Conflict):
        services.reverse_payout(payout_id=payout.pk, reason="operator gave up")
    settings.STYLEVAULT_STRIPE_API_BASE = reachable
    assert services.send_payout_batch(batch_id=batch.pk)["sent"] == 1
    (call,) = stripe_server.calls("/v1/transfers")
    assert call["idempotency_key"] == f"payout-{payout.pk}"
    assert ledger_selectors.earnings_balance(rich) == 1  # paid once, nothing returned
    report = ledger_selectors.check_books()
    assert report.clean, report.problems


def test_artist_without_account_stays_pending(artists, stripe_server):
    batch = services.create_payout_batch()
    assert services.send_payout_batch(batch_id=batch.pk) == {
        "sent": 0,
        "reversed": 0,
        "pending": 1,
        "errors": 0,
    }
    assert not stripe_server.calls("/v1/transfers")


def test_bad_payout_account_is_refused(artists):
    from stylevault.core import errors

    with pytest.raises(errors.ValidationFailed):
        services.set_payout_account(artist=artists[0], stripe_account_id="paypal:me")


def test_statement_and_earnings_api(artists, token_client, user):
    rich, _poor = artists
    services.create_payout_batch()
    from django.utils import timezone

    statement = selectors.statement(rich, timezone.localdate())
    assert (
        statement["earned"] == 4001 and statement["paid_out"] == 4000 and statement["closing"] == 1
    )
    body = token_client(rich).get("/api/v1/earnings").json()
    assert body["balance"] == 1 and body["minimum_payout_cents"] == 2000
    assert len(body["daily"]) == 30 and body["daily"][-1]["credits"] == 4001
    assert body["statements"][0]["paid_out"] == 4000
    payouts = token_client(rich).get("/api/v1/earnings/payouts").json()
    assert [p["amount"] for p in payouts["results"]] == [2000]
    assert_error(token_client(user).get("/api/v1/earnings"), 403, "FORBIDDEN")
