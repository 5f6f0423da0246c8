"""Holds: reserve → capture (full or part) | release | expiry, each exactly once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from stylevault.core import errors
from stylevault.ledger import selectors, services
from stylevault.ledger.models import Account, Hold, HoldState, Transfer, TransferKind

pytestmark = pytest.mark.django_db


def books_clean() -> None:
    report = selectors.check_books()
    assert report.clean, report.problems


@pytest.fixture
def buyer(ledger_path, make_user):
    user = make_user("buyer")
    services.grant_credits(user=user, amount=100, reason="test")
    return user


@pytest.fixture
def artist(make_user):
    return make_user("painter", artist=True)


def test_grant_then_wallet(buyer):
    assert selectors.wallet_of(buyer) == {"balance": 100, "held": 0}
    books_clean()


def test_grant_is_idempotent_by_key(make_user):
    user = make_user("bob")
    first = services.grant_credits(user=user, amount=5, reason="r", idempotency_key="k1")
    again = services.grant_credits(user=user, amount=5, reason="r", idempotency_key="k1")
    assert first.pk == again.pk
    assert selectors.wallet_of(user)["balance"] == 5
    with pytest.raises(errors.Conflict):
        services.grant_credits(user=user, amount=6, reason="r", idempotency_key="k1")
    books_clean()


@pytest.mark.parametrize("amount", [0, -1, 1.5, "3", True, None])
def test_bad_amounts_are_refused(buyer, amount):
    with pytest.raises(errors.ValidationFailed):
        services.reserve(user=buyer, amount=amount)
    with pytest.raises(errors.ValidationFailed):
        services.grant_credits(user=buyer, amount=amount, reason="x")


def test_reserve_capture_full(buyer, artist):
    hold = services.reserve(user=buyer, amount=30)
    assert selectors.wallet_of(buyer) == {"balance": 70, "held": 30}
    services.capture(hold=hold, artists=[(artist, 1)])
    assert selectors.wallet_of(buyer) == {"balance": 70, "held": 0}
    assert selectors.earnings_balance(artist) == 30
    books_clean()


def test_partial_capture_releases_the_rest(buyer, artist):
    hold = services.reserve(user=buyer, amount=30)
    done = services.capture(hold=hold, amount=12, artists=[(artist, 1)])
    assert done.state == HoldState.CAPTURED and done.captured == 12
    assert selectors.wallet_of(buyer) == {"balance": 88, "held": 0}
    assert selectors.earnings_balance(artist) == 12
    books_clean()


def test_capture_exactly_once(buyer, artist):
    hold = services.reserve(user=buyer, amount=30)
    services.capture(hold=hold, amount=10, artists=[(artist, 1)])
    # the same capture again is a no-op; a different one, or a release, conflicts
    services.capture(hold=hold, amount=10, artists=[(artist, 1)])
    with pytest.raises(errors.Conflict):
        services.capture(hold=hold, amount=11, artists=[(artist, 1)])
    with pytest.raises(errors.Conflict):
        services.release(hold=hold)
    assert selectors.earnings_balance(artist) == 10
    assert selectors.wallet_of(buyer)["balance"] == 90
    books_clean()


def test_capture_more_than_held_is_refused(buyer, artist):
    hold = services.reserve(user=buyer, amount=10)
    with pytest.raises(errors.ValidationFailed):
        services.capture(hold=hold, amount=11, artists=[(artist, 1)])
    assert Hold.objects.get(pk=hold.pk).state == HoldState.PENDING
    books_clean()


def test_release_once(buyer):
    hold = services.reserve(user=buyer, amount=40)
    services.release(hold=hold)
    services.release(hold=hold)
    assert selectors.wallet_of(buyer) == {"balance": 100, "held": 0}
    with pytest.raises(errors.Conflict):
        services.capture(hold=hold)
    books_clean()


def test_release_unknown_hold(buyer):
    with pytest.raises(errors.NotFound):
        services.release(hold=999999)
    with pytest.raises(errors.NotFound):
        services.capture(hold=999999)


def test_insufficient_credits(buyer):
    services.reserve(user=buyer, amount=60)
    with pytest.raises(errors.InsufficientCredits) as info:
        services.reserve(user=buyer, amount=41)
    assert info.value.details == {"needed": 41, "available": 40}
    books_clean()


def test_user_without_wallet_has_nothing(make_user):
    nobody = make_user("nobody")
    assert selectors.wallet_of(nobody) == {"balance": 0, "held": 0}
    with pytest.raises(errors.InsufficientCredits):
        services.reserve(user=nobody, amount=1)


def test_reserve_idempotency(buyer):
    first = services.reserve(user=buyer, amount=10, idempotency_key="job-1")
    again = services.reserve(user=buyer, amount=10, idempotency_key="job-1")
    assert first.pk == again.pk
    assert selectors.wallet_of(buyer)["held"] == 10
    with pytest.raises(errors.Conflict):
        services.reserve(user=buyer, amount=11, idempotency_key="job-1")
    books_clean()


def test_expiry_releases_once(buyer):
    hold = services.reserve(user=buyer, amount=25, ttl=timedelta(minutes=5))
    assert services.expire_holds(timezone.now()) == 0
    later = timezone.now() + timedelta(minutes=6)
    assert services.expire_holds(later) == 1
    assert services.expire_holds(later) == 0
    hold.refresh_from_db()
    assert hold.state == HoldState.EXPIRED
    assert selectors.wallet_of(buyer) == {"balance": 100, "held": 0}
    with pytest.raises(errors.Conflict):
        services.capture(hold=hold)
    services.release(hold=hold)  # a late release of an expired hold changes nothing
    assert selectors.wallet_of(buyer) == {"balance": 100, "held": 0}
    books_clean()


def test_blend_split_is_exact(buyer, make_user):
    a, b, c = (
        make_user("aaa", artist=True),
        make_user("bbb", artist=True),
        make_user("ccc", artist=True),
    )
    hold = services.reserve(user=buyer, amount=10)
    services.capture(hold=hold, artists=[(a, 1), (b, 1), (c, 1)])
    earned = [selectors.earnings_balance(x) for x in (a, b, c)]
    assert sum(earned) == 10 and sorted(earned) == [3, 3, 4]
    books_clean()


def test_platform_fee(buyer, artist, settings):
    settings.STYLEVAULT_PLATFORM_FEE_PERCENT = 20
    hold = services.reserve(user=buyer, amount=50)
    services.capture(hold=hold, artists=[(artist, 1)])
    assert selectors.earnings_balance(artist) == 40
    assert Account.objects.get(code="platform_revenue").posted == 10
    books_clean()


def test_capture_generation_prices_by_blend(buyer, make_user):
    a, b = make_user("aaa", artist=True), make_user("bbb", artist=True)
    styles = [services.StyleShare(a, 10, 0.5), services.StyleShare(b, 2, 0.5)]
    assert services.blend_price(styles) == 6
    cost = services.generation_cost(styles=styles, count=4)
    assert cost == 24
    hold = services.reserve(user=buyer, amount=cost)
    services.capture_generation(hold=hold, images_delivered=3, styles=styles)
    assert selectors.earnings_balance(a) + selectors.earnings_balance(b) == 18
    assert selectors.earnings_balance(a) == 15
    assert selectors.wallet_of(buyer) == {"balance": 82, "held": 0}
    books_clean()


def test_split_properties():
    from fractions import Fraction

    assert services.split(10, [Fraction(1)] * 3) == [4, 3, 3]
    assert services.split(0, [Fraction(1)]) == [0]
    assert services.split(7, [Fraction(0), Fraction(1)]) == [0, 7]
    assert sum(services.split(1001, [Fraction(1, 3), Fraction(2, 7), Fraction(5, 11)])) == 1001


def test_transfers_are_immutable_in_the_database(buyer):
    transfer = Transfer.objects.filter(kind=TransferKind.GRANT).first()
    with pytest.raises(IntegrityError), transaction.atomic():
        Transfer.objects.filter(pk=transfer.pk).update(amount=1_000_000)
    transfer.refresh_from_db()
    assert transfer.amount == 100


def test_check_constraint_stops_overdraw_even_without_the_service(buyer):
    account = Account.objects.get(code=services.wallet(buyer).code)
    with pytest.raises(IntegrityError), transaction.atomic():
        Account.objects.filter(pk=account.pk).update(posted=-1)


def test_ledger_check_command(buyer, artist, capsys):
    hold = services.reserve(user=buyer, amount=10)
    services.capture(hold=hold, amount=7, artists=[(artist, 1)])
    call_command("ledger", "check")
    assert "ledger check OK" in capsys.readouterr().out
    account = Account.objects.get(code=services.wallet(buyer).code)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE ledger_account SET posted = posted + 5 WHERE id = %s", [account.pk])
    from django.core.management.base import CommandError

    with pytest.raises(CommandError) as info:
        call_command("ledger", "check")
    assert info.value.returncode == 1
    assert "user_wallet" in capsys.readouterr().err


def test_closed_holds_cannot_be_reopened_in_the_database(buyer):
    hold = services.reserve(user=buyer, amount=5)
    services.release(hold=hold)
    with pytest.raises(IntegrityError), transaction.atomic():
        Hold.objects.filter(pk=hold.pk).update(state=HoldState.PENDING)
    with pytest.raises(IntegrityError), transaction.atomic():
        Transfer.objects.filter(hold=hold).update(state="pending")
