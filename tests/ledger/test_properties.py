"""Property tests: random sequences of grants, purchases, subscription periods, holds,
captures (blends, platform fee), releases, expiries, settlements and payouts never break the
books: they sum to zero, no balance goes below zero, every hold ends at most once."""

from __future__ import annotations

import contextlib
from datetime import timedelta

import pytest
from django.db import transaction
from django.test import override_settings
from django.utils import timezone
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from stylevault.billing import catalog
from stylevault.billing import services as billing
from stylevault.billing.models import Payout, PayoutStatus
from stylevault.core import errors
from stylevault.ledger import selectors, services
from stylevault.ledger.models import Account, Hold, HoldState

pytestmark = pytest.mark.django_db

BUYERS, ARTISTS = 3, 3

KINDS = [
    "grant", "reserve", "capture", "purchase", "reserve", "release", "subscribe", "capture",
    "expire", "settle", "payout", "reverse_payout",
]  # fmt: skip


@st.composite
def operation(draw):
    """One step; the fields a step does not use are ignored."""
    kind = draw(st.sampled_from(KINDS))
    who = draw(st.integers(0, BUYERS - 1))
    if kind == "grant":
        return (kind, who, draw(st.integers(50, 1000)))
    if kind == "purchase":
        return (kind, who, draw(st.sampled_from(["pack-100", "pack-500"])))
    if kind == "subscribe":
        return (kind, who, draw(st.sampled_from(["starter", "pro"])))
    if kind == "reserve":
        return (kind, who, draw(st.integers(1, 300)), draw(st.integers(1, 30)))
    if kind == "capture":
        payees = st.lists(
            st.tuples(st.integers(0, ARTISTS - 1), st.sampled_from([1, 2, 3, 0])), max_size=3
        )
        # the newest holds, mostly: older ones have often ended already
        return (kind, draw(st.integers(-3, -1)), draw(st.floats(0, 1)), draw(payees))
    if kind == "release":
        return (kind, draw(st.integers(-3, -1)))
    if kind in ("expire", "reverse_payout"):
        return (kind, draw(st.integers(0, 50)))
    if kind == "settle":
        return (kind, who)
    return (kind,)


@pytest.fixture
def people(make_user, settings):
    settings.STYLEVAULT_PAYOUT_MINIMUM_USD_CENTS = 1
    settings.STYLEVAULT_SUBSCRIPTION_TIERS = {
        "starter": {"monthly_credits": 500},
        "pro": {"monthly_credits": 1500},
    }
    buyers = [make_user(f"buyer{i}") for i in range(BUYERS)]
    artists = [make_user(f"artist{i}", artist=True) for i in range(ARTISTS)]
    return buyers, artists


def _assert_books() -> None:
    report = selectors.check_books()
    assert report.clean, report.problems
    assert not Account.objects.filter(allow_negative=False, posted__lt=0).exists()


def _run(op, buyers, artists, holds, now, step) -> None:
    kind = op[0]
    if kind == "grant":
        services.grant_credits(user=buyers[op[1]], amount=op[2], reason="property")
    elif kind == "purchase":
        pack = catalog.credit_pack(op[2])
        services.post(
            postings=[
                services.Posting(
                    services.provider("stripe", "KRW"), services.wallet(buyers[op[1]]),
                    pack.credits, "purchase",
                )
            ]
        )  # fmt: skip
    elif kind == "subscribe":
        billing.apply_subscription_payment(
            user=buyers[op[1]],
            tier=catalog.tier(op[2]),
            provider="dev",
            subscription_ref=f"dev-prop-{op[1]}",
            payment_ref=f"prop:{step}",
            period_start=now + timedelta(seconds=step),
            period_end=now + timedelta(days=30),
            currency="USD",
        )
    elif kind == "reserve":
        with contextlib.suppress(errors.InsufficientCredits):
            holds.append(
                services.reserve(user=buyers[op[1]], amount=op[2], ttl=timedelta(minutes=op[3]))
            )
    elif kind == "capture" and holds:
        hold = holds[op[1] % len(holds)]
        amount = int(hold.amount * op[2])
        payees = [(artists[a], w) for a, w in op[3]]
        with contextlib.suppress(errors.Conflict, errors.ValidationFailed):
            services.capture(hold=hold, amount=amount, artists=payees)
    elif kind == "release" and holds:
        with contextlib.suppress(errors.Conflict):
            services.release(hold=holds[op[1] % len(holds)])
    elif kind == "expire":
        services.expire_holds(now + timedelta(minutes=op[1]))
    elif kind == "settle":
        billing.close_grant_period(user=buyers[op[1]])
    elif kind == "payout":
        billing.create_payout_batch()
    elif kind == "reverse_payout":
        payouts = list(Payout.objects.order_by("pk"))
        if payouts:
            billing.reverse_payout(payout_id=payouts[op[1] % len(payouts)].pk, reason="property")


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    ops=st.lists(operation(), min_size=15, max_size=40), fee=st.sampled_from(["0", "10", "33.3"])
)
def test_books_always_balance(ledger_path, people, ops, fee):
    buyers, artists = people
    with override_settings(STYLEVAULT_PLATFORM_FEE_PERCENT=fee), transaction.atomic():
        holds: list[Hold] = []
        now = timezone.now()
        for step, op in enumerate(ops):
            _run(op, buyers, artists, holds, now, step)
            _assert_books()
        for hold in holds:
            current = Hold.objects.get(pk=hold.pk)
            event(f"hold {current.state}")
            if current.state == HoldState.CAPTURED:
                assert 0 <= current.captured <= current.amount
            else:
                assert current.captured == 0
        assert all(p.status != PayoutStatus.SENT for p in Payout.objects.all())
        if Payout.objects.exists():
            event("payout made")
        if Account.objects.filter(kind="subscription_escrow", posted=0).exists():
            event("escrow settled")
        transaction.set_rollback(True)
