"""Subscriptions: monthly grants and their reset, out-of-order and repeated events, failed
payment → 3-day grace → Free, upgrade at once, cancellation at period end, the development
provider, and the pro-rata settlement of subscription usage to artists."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from stylevault.billing import selectors, services
from stylevault.billing.models import BillingCustomer, Checkout, Subscription, SubscriptionStatus
from stylevault.ledger import selectors as ledger_selectors
from stylevault.ledger import services as ledger
from stylevault.ledger.models import Account
from tests.conftest import assert_error

pytestmark = pytest.mark.django_db

DAY = 86400


@pytest.fixture(autouse=True)
def _prices(settings):
    settings.STYLEVAULT_SUBSCRIPTION_TIERS = {
        "starter": {"stripe_price_id": "price_starter"},
        "pro": {"stripe_price_id": "price_pro"},
    }


def books_clean():
    report = ledger_selectors.check_books()
    assert report.clean, report.problems


def balance(code: str) -> int:
    account = Account.objects.filter(code=code).first()
    return account.posted if account else 0


def invoice(
    sub_id, customer, price, *, invoice_id, start, amount=2500, reason="subscription_cycle"
):
    return {
        "id": invoice_id,
        "object": "invoice",
        "customer": customer,
        "currency": "usd",
        "billing_reason": reason,
        "parent": {"subscription_details": {"subscription": sub_id, "metadata": {}}},
        "lines": {
            "data": [
                {
                    "amount": amount,
                    "pricing": {"price_details": {"price": price}},
                    "period": {"start": start, "end": start + 30 * DAY},
                }
            ]
        },
    }


def subscription_obj(sub_id, customer, price, *, status="active", cancel=False, end=None):
    return {
        "id": sub_id,
        "object": "subscription",
        "customer": customer,
        "status": status,
        "cancel_at_period_end": cancel,
        "metadata": {},
        "items": {
            "data": [
                {
                    "price": {"id": price},
                    "current_period_end": end or int(time.time()) + 30 * DAY,
                }
            ]
        },
    }


@pytest.fixture
def subscriber(user, token_client, stripe_server):
    """A user who went through the subscription checkout (customer created before it)."""
    response = token_client(user).post(
        "/api/v1/subscription/checkout", {"tier": "starter"}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["checkout_url"].startswith("https://checkout.stripe.test/")
    (session,) = stripe_server.calls("/v1/checkout/sessions")
    assert session["params"]["mode"] == "subscription"
    assert session["params"]["line_items"][0]["price"] == "price_starter"
    customer = BillingCustomer.objects.get(user=user).customer_id
    assert session["params"]["customer"] == customer
    return user, customer


def test_invoice_paid_before_checkout_completed_grants_once(subscriber, deliver_stripe):
    user, customer = subscriber
    now = int(time.time())
    paid = invoice(
        "sub_1",
        customer,
        "price_starter",
        invoice_id="in_1",
        start=now,
        reason="subscription_create",
    )
    assert deliver_stripe("invoice.paid", paid, event_id="evt_inv").json()["outcome"] == "granted"
    checkout = Checkout.objects.get(user=user)
    session = {
        "id": checkout.provider_ref, "mode": "subscription", "customer": customer,
        "subscription": "sub_1", "metadata": {"checkout_id": str(checkout.pk)},
    }  # fmt: skip
    deliver_stripe("checkout.session.completed", session, event_id="evt_cs")
    # Stripe sends invoice.payment_succeeded for the same invoice, and may redeliver
    deliver_stripe("invoice.payment_succeeded", paid, event_id="evt_inv2")
    deliver_stripe("invoice.paid", paid, event_id="evt_inv")
    assert selectors.tier_of(user).name == "starter"
    assert ledger_selectors.wallet_of(user) == {"balance": 5000, "held": 0}
    assert ledger_selectors.balances_of(user)["subscription_grant"]["posted"] == 5000
    books_clean()


def test_subscription_updated_before_created_ends_in_the_newest_state(subscriber, deliver_stripe):
    user, customer = subscriber
    now = int(time.time())
    deliver_stripe(
        "invoice.paid",
        invoice("sub_1", customer, "price_starter", invoice_id="in_1", start=now),
        event_id="e1",
    )
    newer = subscription_obj("sub_1", customer, "price_starter", cancel=True)
    older = subscription_obj("sub_1", customer, "price_starter", cancel=False)
    assert (
        deliver_stripe(
            "customer.subscription.updated", newer, event_id="e3", created=now + 10
        ).json()["outcome"]
        == "updated"
    )
    assert (
        deliver_stripe("customer.subscription.created", older, event_id="e2", created=now).json()[
            "outcome"
        ]
        == "older snapshot"
    )
    sub = Subscription.objects.get(user=user)
    assert sub.cancel_at_period_end is True and sub.status == SubscriptionStatus.ACTIVE


def test_renewal_resets_the_grant_and_settles_usage(subscriber, deliver_stripe, make_user):
    user, customer = subscriber
    artist = make_user("painter", artist=True)
    ledger.grant_credits(user=user, amount=50, reason="bought")  # bought credits never expire
    now = int(time.time())
    deliver_stripe(
        "invoice.paid",
        invoice("sub_1", customer, "price_starter", invoice_id="in_1", start=now),
        event_id="e1",
    )
    hold = ledger.reserve(user=user, amount=1000)
    ledger.capture(hold=hold, amount=1000, artists=[(artist, 1)])
    assert ledger_selectors.wallet_of(user)["balance"] == 4000 + 50  # grant spent first
    assert ledger_selectors.earnings_balance(artist) == 0  # subscription use waits for settlement
    renewal = invoice("sub_1", customer, "price_starter", invoice_id="in_2", start=now + 30 * DAY)
    assert deliver_stripe("invoice.paid", renewal, event_id="e2").json()["outcome"] == "granted"
    # unused 4,000 expired (to the reserve pool), the 1,000 used went to the artist
    assert ledger_selectors.earnings_balance(artist) == 1000
    assert balance("reserve_pool") == 4000
    assert ledger_selectors.wallet_of(user)["balance"] == 5000 + 50
    # an old invoice arriving late changes nothing
    late = invoice("sub_1", customer, "price_starter", invoice_id="in_0", start=now - 30 * DAY)
    assert deliver_stripe("invoice.paid", late, event_id="e0").json()["outcome"] == "older period"
    assert ledger_selectors.wallet_of(user)["balance"] == 5050
    books_clean()


def test_settlement_is_pro_rata_with_platform_fee(subscriber, deliver_stripe, make_user, settings):
    settings.STYLEVAULT_PLATFORM_FEE_PERCENT = "10"
    user, customer = subscriber
    a, b = make_user("aaa", artist=True), make_user("bbb", artist=True)
    now = int(time.time())
    deliver_stripe(
        "invoice.paid",
        invoice("sub_1", customer, "price_starter", invoice_id="in_1", start=now),
        event_id="e1",
    )
    for artist, amount in ((a, 3000), (b, 1000)):
        ledger.capture(hold=ledger.reserve(user=user, amount=amount), artists=[(artist, 1)])
    services.close_grant_period(user=user)
    # 5,000 of value, 10 % fee: a 2,700, b 900, unused 1,000 → 900 reserve, 500 platform
    assert ledger_selectors.earnings_balance(a) == 2700
    assert ledger_selectors.earnings_balance(b) == 900
    assert balance("reserve_pool") == 900
    assert balance("platform_revenue") == 500
    assert services.close_grant_period(user=user) is None  # nothing left to settle
    books_clean()


def test_failed_payment_grace_then_free(subscriber, deliver_stripe):
    user, customer = subscriber
    now = int(time.time())
    paid = invoice("sub_1", customer, "price_starter", invoice_id="in_1", start=now)
    deliver_stripe("invoice.paid", paid, event_id="e1")
    failed = invoice("sub_1", customer, "price_starter", invoice_id="in_2", start=now + 30 * DAY)
    assert (
        deliver_stripe("invoice.payment_failed", failed, event_id="e2").json()["outcome"]
        == "grace period started"
    )
    sub = Subscription.objects.get(user=user)
    assert sub.status == SubscriptionStatus.PAST_DUE
    assert selectors.tier_of(user).name == "starter"  # still served during the grace
    assert services.downgrade_lapsed_subscriptions(timezone.now() + timedelta(days=2)) == 0
    assert (
        services.downgrade_lapsed_subscriptions(timezone.now() + timedelta(days=3, minutes=1)) == 1
    )
    assert services.downgrade_lapsed_subscriptions(timezone.now() + timedelta(days=4)) == 0
    assert selectors.tier_of(user).name == "free"
    assert ledger_selectors.wallet_of(user)["balance"] == 0  # unused plan credits expired
    books_clean()


def test_upgrade_at_once_with_new_grant(subscriber, deliver_stripe, stripe_server, token_client):
    user, customer = subscriber
    now = int(time.time())
    deliver_stripe(
        "invoice.paid",
        invoice("sub_1", customer, "price_starter", invoice_id="in_1", start=now),
        event_id="e1",
    )
    response = token_client(user).post(
        "/api/v1/subscription/change", {"tier": "pro"}, format="json"
    )
    assert response.status_code == 200, response.content
    update = stripe_server.subscriptions["sub_1"]["updates"][-1]
    assert update["proration_behavior"] == "always_invoice"
    assert update["items"][0]["price"] == "price_pro"
    upgrade = invoice("sub_1", customer, "price_pro", invoice_id="in_up", start=now + 3600, amount=5000,
                      reason="subscription_update")  # fmt: skip
    upgrade["lines"]["data"].insert(
        0,
        {
            "amount": -2400,
            "pricing": {"price_details": {"price": "price_starter"}},
            "period": {"start": now + 3600, "end": now + 30 * DAY},
        },
    )
    assert deliver_stripe("invoice.paid", upgrade, event_id="e2").json()["outcome"] == "granted"
    assert selectors.tier_of(user).name == "pro"
    assert ledger_selectors.wallet_of(user)["balance"] == 15000
    books_clean()


def test_cancel_at_period_end(subscriber, deliver_stripe, stripe_server, token_client):
    user, customer = subscriber
    now = int(time.time())
    deliver_stripe(
        "invoice.paid",
        invoice("sub_1", customer, "price_starter", invoice_id="in_1", start=now),
        event_id="e1",
    )
    body = token_client(user).post("/api/v1/subscription/cancel").json()
    assert body["cancel_at_period_end"] is True and body["tier"] == "starter"
    assert stripe_server.subscriptions["sub_1"]["updates"][-1]["cancel_at_period_end"] == "true"
    deleted = subscription_obj("sub_1", customer, "price_starter", status="canceled")
    assert (
        deliver_stripe(
            "customer.subscription.deleted", deleted, event_id="e9", created=now + 5
        ).json()["outcome"]
        == "cancelled"
    )
    assert selectors.tier_of(user).name == "free"
    # a late invoice of the ended subscription grants nothing
    late = invoice("sub_1", customer, "price_starter", invoice_id="in_late", start=now + 60)
    assert (
        deliver_stripe("invoice.paid", late, event_id="e10").json()["outcome"]
        == "subscription already ended"
    )
    assert ledger_selectors.wallet_of(user)["balance"] == 0
    books_clean()


def test_subscription_api_errors(user, token_client):
    client = token_client(user)
    assert_error(
        client.post("/api/v1/subscription/checkout", {"tier": "gold"}, format="json"),
        400,
        "VALIDATION_ERROR",
    )
    assert_error(
        client.post("/api/v1/subscription/checkout", {"tier": "enterprise"}, format="json"),
        400,
        "VALIDATION_ERROR",
    )
    assert_error(
        client.post("/api/v1/subscription/checkout", {"tier": ["pro"]}, format="json"),
        400,
        "VALIDATION_ERROR",
    )
    assert_error(
        client.post("/api/v1/subscription/change", {"tier": "pro"}, format="json"), 409, "CONFLICT"
    )
    assert_error(client.post("/api/v1/subscription/cancel"), 409, "CONFLICT")
    body = client.get("/api/v1/subscription").json()
    assert body["tier"] == "free" and body["status"] == "none"
    tiers = client.get("/api/v1/subscription/tiers").json()["results"]
    assert [(t["name"], t["price_usd_cents"], t["monthly_credits"]) for t in tiers] == [
        ("free", 0, 0), ("starter", 2500, 5000), ("pro", 7500, 15000),
        ("studio", 15000, 30000), ("enterprise", None, 100000),
    ]  # fmt: skip
    assert [t["queue_priority"] for t in tiers] == sorted(t["queue_priority"] for t in tiers)


def test_dev_provider_subscription_lifecycle(user, token_client):
    from django.test import Client

    from tests.conftest import PASSWORD

    client = token_client(user)
    url = client.post("/api/v1/subscription/checkout", {"tier": "starter"}, format="json").json()[
        "checkout_url"
    ]
    page = Client()
    page.login(username=user.username, password=PASSWORD)
    assert page.post(url.removeprefix("http://testserver")).status_code == 302
    me = client.get("/api/v1/me").json()
    assert (me["tier"], me["credits"]) == ("starter", 5000)
    body = client.post("/api/v1/subscription/change", {"tier": "studio"}, format="json").json()
    assert body["tier"] == "studio" and body["limits"]["max_concurrent_jobs"] == 8
    assert ledger_selectors.wallet_of(user)["balance"] == 30000
    body = client.post("/api/v1/subscription/change", {"tier": "pro"}, format="json").json()
    assert body["tier"] == "studio" and body["next_tier"] == "pro"  # downgrade at renewal
    later = timezone.now() + timedelta(days=31)
    assert services.renew_dev_subscriptions(later) == 1
    assert services.renew_dev_subscriptions(later) == 0
    assert selectors.tier_of(user).name == "pro"
    assert ledger_selectors.wallet_of(user)["balance"] == 15000
    client.post("/api/v1/subscription/cancel")
    assert services.downgrade_lapsed_subscriptions(later + timedelta(days=31)) == 1
    assert selectors.tier_of(user).name == "free"
    books_clean()


def test_a_cancelled_subscription_stays_cancelled(subscriber, deliver_stripe):
    """Stripe timestamps have one-second resolution: an update of the same second seen after
    the deletion must not bring the subscription back."""
    user, customer = subscriber
    now = int(time.time())
    deliver_stripe(
        "invoice.paid",
        invoice("sub_1", customer, "price_starter", invoice_id="in_1", start=now),
        event_id="e1",
    )
    ended = subscription_obj("sub_1", customer, "price_starter", status="canceled")
    live = subscription_obj("sub_1", customer, "price_starter")
    deliver_stripe("customer.subscription.deleted", ended, event_id="e2", created=now + 5)
    outcome = deliver_stripe(
        "customer.subscription.updated", live, event_id="e3", created=now + 5
    ).json()["outcome"]
    assert outcome == "subscription already ended"
    assert Subscription.objects.get(user=user).status == SubscriptionStatus.CANCELED
    assert selectors.tier_of(user).is_free


def test_undoing_a_downgrade_restores_the_plan_at_stripe(
    subscriber, deliver_stripe, stripe_server, token_client
):
    user, customer = subscriber
    now = int(time.time())
    deliver_stripe(
        "invoice.paid",
        invoice("sub_1", customer, "price_pro", invoice_id="in_1", start=now),
        event_id="e1",
    )
    assert selectors.tier_of(user).name == "pro"
    client = token_client(user)
    assert (
        client.post("/api/v1/subscription/change", {"tier": "starter"}, format="json").status_code
        == 200
    )
    assert Subscription.objects.get(user=user).next_tier == "starter"
    assert (
        client.post("/api/v1/subscription/change", {"tier": "pro"}, format="json").status_code
        == 200
    )
    update = stripe_server.subscriptions["sub_1"]["updates"][-1]
    assert update["items"][0]["price"] == "price_pro"
    assert update["metadata"]["tier"] == "pro" and update["proration_behavior"] == "none"
    assert Subscription.objects.get(user=user).next_tier == ""
