"""Ledger reads: wallets, histories, earnings, and the books check."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date, timedelta

from django.db import connection
from django.db.models import Case, F, Q, QuerySet, Sum, When
from django.db.models.functions import TruncDate
from django.utils import timezone

from stylevault.core import sqlrows
from stylevault.ledger import accounts
from stylevault.ledger.models import (
    Account,
    AccountKind,
    Hold,
    HoldState,
    Transfer,
    TransferKind,
    TransferState,
)

SPENDABLE = (AccountKind.USER_WALLET, AccountKind.SUBSCRIPTION_GRANT)
HISTORY_KINDS = (
    AccountKind.USER_WALLET,
    AccountKind.SUBSCRIPTION_GRANT,
    AccountKind.ARTIST_EARNINGS,
    AccountKind.USER_DEBT,
)


@functools.cache
def _accounts_sql(kinds: int) -> str:
    return (
        f"SELECT {sqlrows.columns(Account, 'a')} FROM {sqlrows.table(Account)} a "
        f"WHERE a.owner_id = %s AND a.kind IN ({', '.join(['%s'] * kinds)})"
    )


def _accounts_of(user, kinds) -> list[Account]:
    """Read on every request that shows a balance: SQL written once."""
    rows = sqlrows.fetch(_accounts_sql(len(kinds)), [user.pk, *map(str, kinds)], Account)
    return [account for (account,) in rows]


def wallet_of(user) -> dict:
    """{"balance": credits the user can spend now, "held": credits set aside by holds}.

    Both count the wallet (bought and granted credits, which never expire) and this month's
    subscription credits (spent first, do not roll over)."""
    accounts = _accounts_of(user, SPENDABLE)
    return {
        "balance": sum(max(a.available, 0) for a in accounts),
        "held": sum(a.pending for a in accounts),
    }


def debt_of(user) -> int:
    """Credits the user owes from refunded or disputed purchases (billing.services.refunds)."""
    return sum(max(-a.posted, 0) for a in _accounts_of(user, (AccountKind.USER_DEBT,)))


def balances_of(user) -> dict:
    """Every balance of the user, by account kind: {"user_wallet": {...}, ...}."""
    return {
        a.kind: {"posted": a.posted, "pending": a.pending, "available": a.available}
        for a in Account.objects.filter(owner=user)
    }


def credits_of(user) -> int:
    return wallet_of(user)["balance"]


def history_of(user) -> QuerySet[Transfer]:
    """The user's posted movements (wallet, subscription credits, earnings), newest first,
    each annotated with ``signed_amount`` (+ in, - out) and ``account_kind``."""
    ids = [a.pk for a in _accounts_of(user, HISTORY_KINDS)]
    return (
        Transfer.objects.filter(state=TransferState.POSTED)
        .exclude(kind=TransferKind.HOLD)
        .filter(Q(debit_id__in=ids) | Q(credit_id__in=ids))
        .exclude(Q(debit_id__in=ids) & Q(credit_id__in=ids))
        .annotate(
            signed_amount=Case(When(credit_id__in=ids, then=F("amount")), default=-F("amount")),
            account_kind=Case(
                When(credit_id__in=ids, then=F("credit__kind")), default=F("debit__kind")
            ),
        )
        .order_by("-id")
    )


def holds_of(user, *, pending_only: bool = False) -> QuerySet[Hold]:
    qs = Hold.objects.filter(user=user)
    return qs.filter(state=HoldState.PENDING) if pending_only else qs


def hold(hold_id: int) -> Hold | None:
    return Hold.objects.filter(pk=hold_id).first()


# --------------------------------------------------------------------------------------------
# Artist earnings


def earnings_balance(artist) -> int:
    account = Account.objects.filter(code=accounts.artist_earnings(artist).code).first()
    return account.available if account else 0


def daily_earnings(artist, *, days: int = 30, today: date | None = None) -> list[dict]:
    """Credits earned per day over the last ``days`` days (oldest first, zeros included)."""
    today = today or timezone.localdate()
    start = today - timedelta(days=days - 1)
    account = Account.objects.filter(code=accounts.artist_earnings(artist).code).first()
    totals: dict[date, int] = {}
    if account is not None:
        rows = (
            Transfer.objects.filter(credit=account, state=TransferState.POSTED)
            .exclude(kind=TransferKind.PAYOUT_REVERSAL)
            .filter(created_at__date__gte=start)
            .annotate(day=TruncDate("created_at"))
            .values("day")
            .annotate(total=Sum("amount"))
        )
        totals = {row["day"]: int(row["total"]) for row in rows}
    return [
        {"date": start + timedelta(days=i), "credits": totals.get(start + timedelta(days=i), 0)}
        for i in range(days)
    ]


def earnings_history(artist) -> QuerySet[Transfer]:
    account = Account.objects.filter(code=accounts.artist_earnings(artist).code).first()
    if account is None:
        return Transfer.objects.none()
    return (
        Transfer.objects.filter(Q(credit=account) | Q(debit=account), state=TransferState.POSTED)
        .exclude(kind=TransferKind.HOLD)
        .annotate(signed_amount=Case(When(credit=account, then=F("amount")), default=-F("amount")))
        .order_by("-id")
    )


# --------------------------------------------------------------------------------------------
# The books


@dataclass
class BooksReport:
    accounts: int
    transfers: int
    total_posted: int
    problems: list[str]

    @property
    def clean(self) -> bool:
        return not self.problems


def check_books() -> BooksReport:
    """Re-derives every balance from the transfers and checks the invariants:

    - each account's ``posted`` = posted credits in - posted credits out (hold legs excluded),
      and ``pending`` = its pending hold legs;
    - the posted balances of all accounts sum to zero (double entry);
    - no account that may not go negative is below zero (available = posted - pending);
    - every pending hold's legs add up to its amount, and every closed hold's legs are closed.
    """
    problems: list[str] = []
    t, a, h = Transfer._meta.db_table, Account._meta.db_table, Hold._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT acc.id, acc.code, acc.posted, acc.pending, acc.allow_negative,
                   COALESCE(cr.total, 0) - COALESCE(dr.total, 0), COALESCE(pd.total, 0)
            FROM {a} acc
            LEFT JOIN (SELECT credit_id AS id, SUM(amount) AS total FROM {t}
                       WHERE state = 'posted' AND kind <> 'hold' GROUP BY credit_id) cr
                   ON cr.id = acc.id
            LEFT JOIN (SELECT debit_id AS id, SUM(amount) AS total FROM {t}
                       WHERE state = 'posted' AND kind <> 'hold' GROUP BY debit_id) dr
                   ON dr.id = acc.id
            LEFT JOIN (SELECT debit_id AS id, SUM(amount) AS total FROM {t}
                       WHERE state = 'pending' AND kind = 'hold' GROUP BY debit_id) pd
                   ON pd.id = acc.id
            ORDER BY acc.id
            """
        )
        accounts = cursor.fetchall()
        total_posted = 0
        for _id, code, posted, pending, allow_negative, derived_posted, derived_pending in accounts:
            posted, pending = int(posted), int(pending)
            derived_posted, derived_pending = int(derived_posted), int(derived_pending)
            total_posted += posted
            if posted != derived_posted:
                problems.append(
                    f"{code}: posted balance {posted} but the transfers give {derived_posted}"
                )
            if pending != derived_pending:
                problems.append(
                    f"{code}: pending balance {pending} but the pending holds give {derived_pending}"
                )
            if pending < 0:
                problems.append(f"{code}: pending balance is negative ({pending})")
            if not allow_negative and derived_posted - derived_pending < 0:
                problems.append(
                    f"{code}: below zero (posted {derived_posted}, pending {derived_pending})"
                )
        if total_posted != 0:
            problems.append(f"the books do not sum to zero: posted balances sum to {total_posted}")
        cursor.execute(f"SELECT COUNT(*) FROM {t}")
        transfers = int(cursor.fetchone()[0])
        cursor.execute(
            f"""
            SELECT h.id, h.state, h.amount, h.captured, h.from_grant,
                   COALESCE(SUM(CASE WHEN l.kind = 'hold' THEN l.amount END), 0) AS legs,
                   COALESCE(SUM(CASE WHEN l.kind = 'hold' AND l.state = 'pending'
                                     THEN l.amount END), 0) AS pending_legs,
                   COALESCE(SUM(CASE WHEN l.kind = 'hold' AND acc.kind = 'subscription_grant'
                                     THEN l.amount END), 0) AS grant_legs,
                   COALESCE(SUM(CASE WHEN l.kind <> 'hold' THEN l.amount END), 0) AS spent
            FROM {h} h
            LEFT JOIN {t} l ON l.hold_id = h.id
            LEFT JOIN {a} acc ON acc.id = l.debit_id
            GROUP BY h.id, h.state, h.amount, h.captured, h.from_grant
            """
        )
        for (
            hold_id,
            state,
            amount,
            captured,
            from_grant,
            legs,
            pending_legs,
            grant_legs,
            spent,
        ) in cursor.fetchall():
            ok = (
                legs == amount
                and grant_legs == from_grant
                and pending_legs == (amount if state == "pending" else 0)
                and spent == captured
            )
            if not ok:
                problems.append(
                    f"hold #{hold_id} ({state}, {amount}, captured {captured}, from the grant "
                    f"{from_grant}): legs {legs}, pending legs {pending_legs}, grant legs "
                    f"{grant_legs}, captured transfers {spent}"
                )
    return BooksReport(
        accounts=len(accounts), transfers=transfers, total_posted=total_posted, problems=problems
    )
