"""Ledger writes: postings, holds (reserve → capture | release | expiry), grants, royalty splits.

Rules that keep the money right under any concurrency:

- Every function runs in one transaction. Account rows are locked in ascending id order
  (PostgreSQL ``SELECT ... FOR UPDATE``; SQLite's IMMEDIATE transactions serialise writers),
  so two transactions never wait on each other in a cycle. Holds are locked before accounts.
- Balances change only through a conditional UPDATE
  (``... WHERE id = ? AND (allow_negative OR posted + Δposted >= pending + Δpending)``),
  backed by a CHECK constraint, so no path can overdraw an account.
- A hold ends exactly once: its state moves from ``pending`` with one conditional UPDATE;
  whoever loses that race changes nothing.
- Idempotency keys are UNIQUE: the same key with the same body returns the first result,
  with another body raises ``errors.Conflict``.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from fractions import Fraction
from typing import Any, NamedTuple

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from stylevault.core import errors
from stylevault.ledger import _sql, metrics

# The account names live in ledger.accounts; callers that post (billing, the tests) still reach
# them here too, hence `provider as provider` and the like (explicit re-exports).
from stylevault.ledger.accounts import (
    AccountSpec,
    artist_earnings,
    debt,
    platform_grants,
    platform_revenue,
    reserve_pool,
    subscription_escrow,
    subscription_grant,
    uid_of,
    wallet,
)
from stylevault.ledger.accounts import (
    platform_losses as platform_losses,
)
from stylevault.ledger.accounts import (
    provider as provider,
)
from stylevault.ledger.models import (
    Account,
    AccountKind,
    Hold,
    HoldState,
    Transfer,
    TransferKind,
    TransferState,
)

DEFAULT_HOLD_TTL = timedelta(hours=1)
MAX_AMOUNT = 10**12


class _Row(NamedTuple):
    id: int
    code: str
    kind: str
    posted: int
    pending: int
    allow_negative: bool

    @property
    def available(self) -> int:
        return self.posted - self.pending


_ACCOUNT_TABLE = Account._meta.db_table
_TRANSFER_TABLE = Transfer._meta.db_table
_HOLD_TABLE = Hold._meta.db_table


def _select_accounts(codes: Sequence[str], ids: Sequence[int], lock: bool) -> dict[str, _Row]:
    if not codes and not ids:
        return {}
    where = []
    if codes:
        where.append(f"code IN ({_sql.placeholders(len(codes))})")
    if ids:
        where.append(f"id IN ({_sql.placeholders(len(ids))})")
    sql = (
        f"SELECT id, code, kind, posted, pending, allow_negative FROM {_ACCOUNT_TABLE} "
        f"WHERE {' OR '.join(where)} ORDER BY id"
    )
    if lock and connection.vendor == "postgresql":
        # NO KEY UPDATE: exclusive among balance writers, yet it lets other transactions
        # check their foreign keys to this account (KEY SHARE) without waiting.
        sql += " FOR NO KEY UPDATE"
    rows = _sql.execute(sql, [*codes, *ids])
    return {row[1]: _Row(*row[:5], bool(row[5])) for row in rows}


def _accounts(
    specs: Iterable[AccountSpec], *, ids: Sequence[int] = (), lock: bool = True
) -> dict[str, _Row]:
    """The accounts named (opened when missing), locked in id order; by code."""
    wanted = {spec.code: spec for spec in specs}
    codes = sorted(wanted)
    rows = _select_accounts(codes, ids, lock)
    missing = [code for code in codes if code not in rows]
    if missing:
        # Opened in code order, before any other lock is awaited, so two openers never deadlock.
        Account.objects.bulk_create(
            [
                Account(
                    code=code,
                    kind=wanted[code].kind,
                    owner_id=wanted[code].owner_id,
                    allow_negative=wanted[code].allow_negative,
                )
                for code in missing
            ],
            ignore_conflicts=True,
        )
        rows = _select_accounts(codes, ids, lock)
    return rows


def _apply(deltas: dict[int, list[int]]) -> None:
    """Changes balances: {account id: [Δposted, Δpending]}, in one conditional UPDATE.

    The rows are already locked in id order (or the SQLite transaction is IMMEDIATE); the
    condition still refuses to take any account that may not go negative below zero."""
    changes = [(a, dp, dq) for a, (dp, dq) in sorted(deltas.items()) if dp or dq]
    if not changes:
        return
    values = " UNION ALL ".join(
        ["SELECT %s AS id, %s AS dp, %s AS dq"] + ["SELECT %s, %s, %s"] * (len(changes) - 1)
    )
    result = _sql.execute(
        f"UPDATE {_ACCOUNT_TABLE} SET posted = posted + v.dp, pending = pending + v.dq "
        f"FROM ({values}) AS v WHERE {_ACCOUNT_TABLE}.id = v.id "
        f"AND ({_ACCOUNT_TABLE}.allow_negative OR posted + v.dp >= pending + v.dq)",
        [x for change in changes for x in change],
        rows=False,
    )
    if _sql.changed(result) != len(changes):
        raise errors.InsufficientCredits()


_TRANSFER_COLUMNS = (
    "debit_id, credit_id, amount, kind, state, hold_id, beneficiary_id, idempotency_key, "
    "description, metadata, created_at"
)


def _transfer_params(
    transfers: Sequence[Transfer], *, created_at: Callable[[Any], Any]
) -> list[Any]:
    """The insert parameters of the transfers, in _TRANSFER_COLUMNS order; stamps created_at."""
    now = timezone.now()
    params: list[Any] = []
    for t in transfers:
        t.created_at = t.created_at or now
        params += [
            t.debit_id,
            t.credit_id,
            t.amount,
            t.kind,
            t.state,
            t.hold_id,
            t.beneficiary_id,
            t.idempotency_key,
            t.description,
            _sql.js(t.metadata or {}),
            created_at(t.created_at),
        ]
    return params


def _insert_transfers(transfers: Sequence[Transfer]) -> None:
    """Inserts the transfers in one statement and sets their ids."""
    if not transfers:
        return
    params = _transfer_params(transfers, created_at=_sql.dt)
    row = "(" + _sql.placeholders(11) + ")"
    rows = _sql.execute(
        f"INSERT INTO {_TRANSFER_TABLE} ({_TRANSFER_COLUMNS}) VALUES "
        + ", ".join([row] * len(transfers))
        + " RETURNING id",
        params,
    )
    for t, (pk,) in zip(transfers, rows, strict=True):
        t.pk = pk
        t._state.adding = False


def _write(transfers: Sequence[Transfer], deltas: dict[int, list[int]]) -> None:
    """Inserts the transfers and applies the balance changes; on PostgreSQL in one statement."""
    changes = [(a, dp, dq) for a, (dp, dq) in sorted(deltas.items()) if dp or dq]
    if not transfers or connection.vendor != "postgresql":
        _insert_transfers(transfers)
        _apply(deltas)
        return
    params = _transfer_params(transfers, created_at=lambda moment: moment)
    for change in changes:
        params += change
    row = "(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s::jsonb, %s)"
    rows = _sql.execute(
        f"WITH i AS (INSERT INTO {_TRANSFER_TABLE} ({_TRANSFER_COLUMNS}) VALUES "
        + ", ".join([row] * len(transfers))
        + " RETURNING id), "
        f"u AS (UPDATE {_ACCOUNT_TABLE} a SET posted = a.posted + v.dp, "
        "pending = a.pending + v.dq FROM (VALUES "
        + ", ".join(["(%s::bigint, %s::bigint, %s::bigint)"] * len(changes))
        + ") AS v(id, dp, dq) WHERE a.id = v.id "
        "AND (a.allow_negative OR a.posted + v.dp >= a.pending + v.dq) RETURNING a.id) "
        "SELECT i.id, (SELECT count(*) FROM u) FROM i",
        params,
    )
    if rows[0][1] != len(changes):
        raise errors.InsufficientCredits()
    for t, (pk, _count) in zip(transfers, rows, strict=True):
        t.pk = pk
        t._state.adding = False


def _add(deltas: dict[int, list[int]], account_id: int, d_posted: int, d_pending: int) -> None:
    entry = deltas.setdefault(account_id, [0, 0])
    entry[0] += d_posted
    entry[1] += d_pending


# --------------------------------------------------------------------------------------------
# Posted transfers


@dataclass(frozen=True)
class Posting:
    """One posted transfer to make."""

    debit: AccountSpec
    credit: AccountSpec
    amount: int
    kind: str
    description: str = ""
    beneficiary_id: int | None = None
    metadata: dict = field(default_factory=dict)


def _check_amount(amount: Any, name: str = "amount") -> int:
    if isinstance(amount, bool) or not isinstance(amount, int) or not 0 < amount <= MAX_AMOUNT:
        message = _("Enter a whole number of credits from 1 to %(max)s.") % {"max": MAX_AMOUNT}
        raise errors.ValidationFailed(message, details={"fields": {name: [message]}})
    return amount


def _same_postings(existing: list[Transfer], postings: Sequence[Posting]) -> bool:
    if len(existing) != len(postings):
        return False
    return all(
        t.debit.code == p.debit.code
        and t.credit is not None
        and t.credit.code == p.credit.code
        and t.amount == p.amount
        and t.kind == p.kind
        for t, p in zip(existing, postings, strict=True)
    )


def _replay(key: str, postings: Sequence[Posting]) -> list[Transfer] | None:
    first = Transfer.objects.filter(idempotency_key=key).first()
    if first is None:
        return None
    keys = [key] + [f"{key}#{i}" for i in range(1, len(postings))]
    by_key = {
        t.idempotency_key: t
        for t in Transfer.objects.select_related("debit", "credit").filter(idempotency_key__in=keys)
    }
    existing = [by_key[k] for k in keys if k in by_key]
    extra = Transfer.objects.filter(idempotency_key=f"{key}#{len(postings)}").exists()
    if extra or not _same_postings(existing, postings):
        raise errors.Conflict(
            _("This idempotency key was already used for a different request."),
            details={"idempotency_key": key},
        )
    return existing


def post(*, postings: Sequence[Posting], idempotency_key: str | None = None) -> list[Transfer]:
    """Posts transfers atomically. With a key, a retry returns the first result."""
    postings = [p for p in postings if p.amount != 0]
    if not postings:
        return []
    for p in postings:
        _check_amount(p.amount)
        if p.debit.code == p.credit.code:
            raise errors.ValidationFailed(_("A transfer needs two different accounts."))
    with transaction.atomic():
        if idempotency_key and (done := _replay(idempotency_key, postings)) is not None:
            return done
        rows = _accounts([p.debit for p in postings] + [p.credit for p in postings])
        transfers = [
            Transfer(
                debit_id=rows[p.debit.code].id,
                credit_id=rows[p.credit.code].id,
                amount=p.amount,
                kind=p.kind,
                state=TransferState.POSTED,
                beneficiary_id=p.beneficiary_id,
                description=p.description[:200],
                metadata=p.metadata,
                idempotency_key=(
                    None
                    if idempotency_key is None
                    else (idempotency_key if i == 0 else f"{idempotency_key}#{i}")
                ),
            )
            for i, p in enumerate(postings)
        ]
        deltas: dict[int, list[int]] = {}
        for t in transfers:
            _add(deltas, t.debit_id, -t.amount, 0)
            _add(deltas, t.credit_id, t.amount, 0)
        if idempotency_key:
            try:
                with transaction.atomic():
                    _insert_transfers(transfers)
            except IntegrityError:
                # Lost a race with the same key: the winner has committed by now.
                done = _replay(idempotency_key, postings)
                if done is None:
                    raise
                return done
            _apply(deltas)
        else:
            _write(transfers, deltas)
        metrics.moved(transfers)
        return transfers


def grant_credits(
    *, user, amount: int, reason: str, idempotency_key: str | None = None
) -> Transfer:
    """An operator grant: platform grants → the user's wallet (bought-credit rules: no expiry)."""
    _check_amount(amount)
    reason = (reason or "").strip()
    if not reason:
        message = _("Give a reason for the grant.")
        raise errors.ValidationFailed(message, details={"fields": {"reason": [message]}})
    (transfer,) = post(
        postings=[
            Posting(
                debit=platform_grants(),
                credit=wallet(user),
                amount=amount,
                kind=TransferKind.GRANT,
                description=reason,
            )
        ],
        idempotency_key=idempotency_key,
    )
    return transfer


# --------------------------------------------------------------------------------------------
# Holds


def _fingerprint(*parts: Any) -> str:
    blob = json.dumps(parts, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()


def _replay_hold(hold: Hold, fingerprint: str) -> Hold:
    if hold.fingerprint != fingerprint:
        raise errors.Conflict(
            _("This idempotency key was already used for a different request."),
            details={"idempotency_key": hold.idempotency_key},
        )
    return hold


_HOLD_COLUMNS = (
    "id, user_id, amount, state, captured, from_grant, expires_at, idempotency_key, "
    "fingerprint, description, metadata, created_at, closed_at"
)
_HOLD_FIELDS = [c.strip() for c in _HOLD_COLUMNS.split(",")]

# PostgreSQL runs reserve and capture as one server-side call each (migration 0003); the
# portable path below does the same in several statements (SQLite; PostgreSQL when False).
USE_DB_FUNCTIONS = True


def _db_functions() -> bool:
    return USE_DB_FUNCTIONS and connection.vendor == "postgresql"


def _hold_from_row(row: Sequence[Any]) -> Hold:
    values = dict(zip(_HOLD_FIELDS, row, strict=True))
    for name in ("amount", "captured", "from_grant"):
        values[name] = int(values[name])
    for name in ("expires_at", "created_at", "closed_at"):
        values[name] = _sql.parse_dt(values[name])
    values["metadata"] = _sql.parse_js(values["metadata"])
    hold = Hold(**values)
    hold._state.adding = False
    return hold


def reserve(
    *,
    user,
    amount: int,
    ttl: timedelta | None = None,
    expires_at: datetime | None = None,
    idempotency_key: str | None = None,
    description: str = "",
    metadata: dict | None = None,
) -> Hold:
    """Sets ``amount`` credits of the user aside (subscription credits first, then the wallet).

    Raises errors.InsufficientCredits when the user cannot cover it. The hold ends by
    capture(), release(), or expire_holds() once ``expires_at`` has passed. With an
    idempotency key, a retry returns the same hold (another body: errors.Conflict).
    """
    _check_amount(amount)
    metadata = metadata or {}
    description = (description or "")[:200]
    now = timezone.now()
    if expires_at is None:
        expires_at = now + (ttl if ttl is not None else DEFAULT_HOLD_TTL)
    uid = uid_of(user)
    owed = Account.objects.filter(code=debt(uid).code, posted__lt=0).values_list("posted")
    if owed_row := owed.first():
        raise errors.PaymentRequired(details={"debt": -owed_row[0]})
    fingerprint = _fingerprint("reserve", uid, amount, description, metadata)
    grant_code, wallet_code = subscription_grant(uid).code, wallet(uid).code
    if _db_functions():
        rows = _sql.execute(
            "SELECT * FROM ledger_reserve(%s, %s, %s, %s, %s, %s, %s, %s, %s::jsonb, %s)",
            [
                uid, amount, grant_code, wallet_code, expires_at, idempotency_key or None,
                fingerprint, description, _sql.js(metadata), now,
            ],
        )  # fmt: skip
        status, hold_id, from_grant, available = rows[0]
        if status == "insufficient":
            raise errors.InsufficientCredits(
                details={"needed": amount, "available": int(available)}
            )
        if status == "replay":
            return _replay_hold(Hold.objects.get(pk=hold_id), fingerprint)
        hold = Hold(
            id=hold_id, user_id=uid, amount=amount, state=HoldState.PENDING, captured=0,
            from_grant=int(from_grant), expires_at=expires_at,
            idempotency_key=idempotency_key or None, fingerprint=fingerprint,
            description=description, metadata=metadata, created_at=now,
        )  # fmt: skip
        hold._state.adding = False
        return hold
    with transaction.atomic():
        rows = _select_accounts([grant_code, wallet_code], (), lock=True)
        grant_row, wallet_row = rows.get(grant_code), rows.get(wallet_code)
        grant_available = max(grant_row.available, 0) if grant_row else 0
        wallet_available = max(wallet_row.available, 0) if wallet_row else 0
        from_grant = min(grant_available, amount)
        from_wallet = amount - from_grant
        if idempotency_key:
            # Checked under the account lock: a concurrent twin waits here, then replays.
            existing = Hold.objects.filter(idempotency_key=idempotency_key).first()
            if existing is not None:
                return _replay_hold(existing, fingerprint)
        if from_wallet > wallet_available:
            raise errors.InsufficientCredits(
                details={"needed": amount, "available": grant_available + wallet_available}
            )
        inserted = _sql.execute(
            f"INSERT INTO {_HOLD_TABLE} (user_id, amount, state, captured, from_grant, "
            "expires_at, idempotency_key, fingerprint, description, metadata, created_at) "
            f"VALUES ({_sql.placeholders(11)}) ON CONFLICT (idempotency_key) DO NOTHING "
            f"RETURNING {_HOLD_COLUMNS}",
            [
                uid, amount, HoldState.PENDING, 0, from_grant, _sql.dt(expires_at),
                idempotency_key or None, fingerprint, description, _sql.js(metadata),
                _sql.dt(now),
            ],
        )  # fmt: skip
        if not inserted:  # the same key, committed by a transaction we did not wait for
            existing = Hold.objects.filter(idempotency_key=idempotency_key).first()
            if existing is None:  # pragma: no cover - ON CONFLICT only skips on a real row
                raise errors.Conflict()
            return _replay_hold(existing, fingerprint)
        hold = _hold_from_row(inserted[0])
        parts = [(r.id, n) for r, n in ((grant_row, from_grant), (wallet_row, from_wallet)) if n]
        legs = [
            Transfer(
                debit_id=account_id,
                credit_id=None,
                amount=part,
                kind=TransferKind.HOLD,
                state=TransferState.PENDING,
                hold_id=hold.pk,
                description=description,
                created_at=now,
            )
            for account_id, part in parts
        ]
        deltas: dict[int, list[int]] = {}
        for account_id, part in parts:
            _add(deltas, account_id, 0, part)
        _write(legs, deltas)
    return hold


def _hold_id(hold: Hold | int) -> int:
    return hold if isinstance(hold, int) else hold.pk


def _explain_closed(hold_id: int) -> Hold:
    hold = Hold.objects.filter(pk=hold_id).first()
    if hold is None:
        raise errors.NotFound(_("No such hold."))
    return hold


def _close_legs(hold_id: int, state: str) -> list[tuple[int, int, str]]:
    """Moves the hold's pending legs to ``state``; returns their (account id, amount, kind)."""
    rows = _sql.execute(
        f"UPDATE {_TRANSFER_TABLE} SET state = %s WHERE hold_id = %s AND state = %s "
        f"RETURNING debit_id, amount, (SELECT a.kind FROM {_ACCOUNT_TABLE} a "
        f"WHERE a.id = {_TRANSFER_TABLE}.debit_id)",
        [state, hold_id, TransferState.PENDING],
    )
    return [(int(a), int(n), k) for a, n, k in rows]


def _end_hold(hold_id: int, state: str, *, now: datetime, expired_by: datetime | None) -> bool:
    """Releases a pending hold into ``state`` (released or expired). False if not pending."""
    with transaction.atomic():
        sql = f"UPDATE {_HOLD_TABLE} SET state = %s, closed_at = %s WHERE id = %s AND state = %s"
        params: list[Any] = [state, _sql.dt(now), hold_id, HoldState.PENDING]
        if expired_by is not None:
            sql += " AND expires_at <= %s"
            params.append(_sql.dt(expired_by))
        if _sql.changed(_sql.execute(sql, params, rows=False)) != 1:
            return False
        deltas: dict[int, list[int]] = {}
        for account_id, amount, _kind in _close_legs(hold_id, TransferState.VOIDED):
            _add(deltas, account_id, 0, -amount)
        if len(deltas) > 1:  # grant and wallet: lock them in id order first
            _select_accounts((), sorted(deltas), lock=True)
        _apply(deltas)
    return True


def release(*, hold: Hold | int) -> Hold:
    """Gives the held credits back (job failed or cancelled). Releasing twice is a no-op;
    releasing a captured hold raises errors.Conflict."""
    hold_id = _hold_id(hold)
    _end_hold(hold_id, HoldState.RELEASED, now=timezone.now(), expired_by=None)
    current = _explain_closed(hold_id)
    if current.state == HoldState.CAPTURED:
        raise errors.Conflict(_("These credits were already spent."))
    return current


def expire_holds(now: datetime | None = None, *, limit: int = 1000) -> int:
    """Releases every pending hold past its expiry, each exactly once; returns how many."""
    now = now or timezone.now()
    due = list(
        Hold.objects.filter(state=HoldState.PENDING, expires_at__lte=now)
        .order_by("expires_at")
        .values_list("pk", flat=True)[:limit]
    )
    return sum(_end_hold(pk, HoldState.EXPIRED, now=timezone.now(), expired_by=now) for pk in due)


# --------------------------------------------------------------------------------------------
# Capture and royalty split


def _fraction(value: Any, name: str) -> Fraction:
    try:
        if isinstance(value, bool):
            raise TypeError
        weight = Fraction(str(value)) if isinstance(value, float) else Fraction(value)
    except (TypeError, ValueError, ZeroDivisionError):
        raise errors.ValidationFailed(
            _("Weights must be numbers."), details={"fields": {name: ["invalid"]}}
        ) from None
    if weight < 0:
        raise errors.ValidationFailed(
            _("Weights cannot be negative."), details={"fields": {name: ["negative"]}}
        )
    return weight


def split(total: int, weights: Sequence[Fraction]) -> list[int]:
    """Splits ``total`` credits by ``weights`` in whole credits that add up exactly
    (largest remainder; ties go to the earlier entry)."""
    if total < 0:
        raise ValueError("total must not be negative")
    weight_sum = sum(weights, Fraction(0))
    if total == 0 or not weights:
        return [0] * len(weights)
    if weight_sum <= 0:
        raise ValueError("weights must not all be zero")
    exact = [Fraction(total) * w / weight_sum for w in weights]
    shares = [math.floor(e) for e in exact]
    left = total - sum(shares)
    order = sorted(range(len(weights)), key=lambda i: (-(exact[i] - shares[i]), i))
    for i in order[:left]:
        shares[i] += 1
    return shares


def platform_fee_percent() -> Fraction:
    value = Fraction(str(getattr(settings, "STYLEVAULT_PLATFORM_FEE_PERCENT", 0)))
    return min(max(value, Fraction(0)), Fraction(100))


def _payees(artists: Sequence[tuple[Any, Any]]) -> list[tuple[int, Fraction]]:
    merged: dict[int, Fraction] = {}
    for artist, weight in artists:
        merged[uid_of(artist)] = merged.get(uid_of(artist), Fraction(0)) + _fraction(
            weight, "weight"
        )
    payees = [(uid, w) for uid, w in merged.items() if w > 0]
    if artists and not payees:
        raise errors.ValidationFailed(
            _("At least one weight must be above zero."), details={"fields": {"weight": ["zero"]}}
        )
    return payees


@dataclass(frozen=True)
class _Child:
    """One transfer of a capture: from the grant or wallet leg to an account."""

    source: str  # "grant" or "wallet"
    to: AccountSpec
    amount: int
    kind: str
    beneficiary_id: int | None


def _capture_plan(
    *, user_id: int, captured: int, from_grant_leg: int, payees: list[tuple[int, Fraction]]
) -> list[_Child]:
    """Who gets what: subscription credits are spent first, into the subscriber's escrow
    (attributed to the artists, shared out at settlement); wallet credits go to the artists'
    earnings less the platform fee; without artists, to the platform."""
    from_grant = min(captured, from_grant_leg)
    from_wallet = captured - from_grant
    fee = platform_fee_percent()
    total_weight = sum((w for _u, w in payees), Fraction(0))
    children: list[_Child] = []
    if from_grant:
        escrow = subscription_escrow(user_id)
        targets = [(escrow, uid, TransferKind.CAPTURE, w) for uid, w in payees] or [
            (escrow, None, TransferKind.CAPTURE, Fraction(1))
        ]
        for (to, who, kind, _w), share in zip(
            targets, split(from_grant, [t[3] for t in targets]), strict=True
        ):
            if share:
                children.append(_Child("grant", to, share, kind, who))
    if from_wallet:
        targets = []
        if not payees or fee:
            targets.append(
                (
                    platform_revenue(),
                    None,
                    TransferKind.PLATFORM_FEE,
                    fee if payees else Fraction(1),
                )
            )
        if fee < 100:
            targets += [
                (artist_earnings(uid), uid, TransferKind.CAPTURE, (100 - fee) * w / total_weight)
                for uid, w in payees
            ]
        for (to, who, kind, _w), share in zip(
            targets, split(from_wallet, [t[3] for t in targets]), strict=True
        ):
            if share:
                children.append(_Child("wallet", to, share, kind, who))
    return children


def _closed_capture(hold_id: int, amount: int | None) -> Hold:
    """Why a capture found its hold not pending: the same capture again is a no-op."""
    current = _explain_closed(hold_id)
    if current.state == HoldState.CAPTURED and amount in (None, current.captured):
        return current
    if current.state == HoldState.PENDING:
        raise errors.ValidationFailed(
            _("You cannot capture more than was reserved (%(held)s credits).")
            % {"held": current.amount},
            details={"fields": {"amount": ["too_large"]}},
        )
    raise errors.Conflict(_("This hold was already closed (%(state)s).") % {"state": current.state})


def capture(
    *,
    hold: Hold | int,
    amount: int | None = None,
    artists: Sequence[tuple[Any, Any]] = (),
    description: str = "",
) -> Hold:
    """Spends ``amount`` (default: all) of a pending hold and releases the rest, exactly once.

    ``artists`` is a list of (artist user or id, weight): the spend is split between them by
    weight, in whole credits that add up exactly. Credits spent from the wallet go to the
    artists' earnings less the platform fee (STYLEVAULT_PLATFORM_FEE_PERCENT); credits spent
    from a subscription grant go to that subscriber's escrow, attributed to the artists, and
    are shared out at the monthly settlement (settle_subscription_escrow). Without artists
    everything goes to the platform. Capturing again with the same amount returns the hold
    unchanged; anything else on a closed hold raises errors.Conflict.
    """
    hold_id = _hold_id(hold)
    if amount is not None and (
        isinstance(amount, bool) or not isinstance(amount, int) or amount < 0
    ):
        raise errors.ValidationFailed(
            _("Enter a whole number of credits."), details={"fields": {"amount": ["invalid"]}}
        )
    payees = _payees(artists)
    description = (description or "")[:200]
    if _db_functions():
        return _capture_with_function(hold, hold_id, amount, payees, description)
    now = timezone.now()
    with transaction.atomic():
        if amount is None:
            close_hold = (
                f"UPDATE {_HOLD_TABLE} SET state = %s, captured = amount, closed_at = %s "
                f"WHERE id = %s AND state = %s RETURNING {_HOLD_COLUMNS}"
            )
            params = [HoldState.CAPTURED, _sql.dt(now), hold_id, HoldState.PENDING]
        else:
            close_hold = (
                f"UPDATE {_HOLD_TABLE} SET state = %s, captured = %s, closed_at = %s "
                f"WHERE id = %s AND state = %s AND amount >= %s RETURNING {_HOLD_COLUMNS}"
            )
            params = [HoldState.CAPTURED, amount, _sql.dt(now), hold_id, HoldState.PENDING, amount]
        rows = _sql.execute(close_hold, params)
        if not rows:
            return _closed_capture(hold_id, amount)
        closed = _hold_from_row(rows[0])
        legs = _close_legs(hold_id, TransferState.POSTED)
        children = _capture_plan(
            user_id=closed.user_id,
            captured=closed.captured,
            from_grant_leg=closed.from_grant,
            payees=payees,
        )
        accounts = _accounts([c.to for c in children], ids=[a for a, _n, _k in legs])
        leg_account = {
            ("grant" if kind == AccountKind.SUBSCRIPTION_GRANT else "wallet"): account_id
            for account_id, _n, kind in legs
        }
        deltas: dict[int, list[int]] = {}
        for account_id, leg_amount, _kind in legs:
            _add(deltas, account_id, 0, -leg_amount)
        transfers = []
        for child in children:
            debit_id, credit_id = leg_account[child.source], accounts[child.to.code].id
            transfers.append(
                Transfer(
                    debit_id=debit_id,
                    credit_id=credit_id,
                    amount=child.amount,
                    kind=child.kind,
                    hold_id=hold_id,
                    beneficiary_id=child.beneficiary_id,
                    description=description,
                    created_at=now,
                )
            )
            _add(deltas, debit_id, -child.amount, 0)
            _add(deltas, credit_id, child.amount, 0)
        _write(transfers, deltas)
        metrics.moved(transfers)
    return closed


def _capture_with_function(
    hold: Hold | int, hold_id: int, amount: int | None, payees, description: str
) -> Hold:
    """PostgreSQL: the plan is computed here from the hold's immutable facts (owner, amount,
    grant part); the server applies it only if the hold is still pending with those facts."""
    facts = hold if isinstance(hold, Hold) and hold.amount else None
    for _attempt in range(2):
        if facts is None:
            facts = Hold.objects.filter(pk=hold_id).first()
            if facts is None:
                raise errors.NotFound(_("No such hold."))
        captured = facts.amount if amount is None else amount
        if captured > facts.amount:
            return _closed_capture(hold_id, amount)
        children = _capture_plan(
            user_id=facts.user_id, captured=captured, from_grant_leg=facts.from_grant, payees=payees
        )
        now = timezone.now()
        (status,) = _sql.execute(
            "SELECT ledger_capture(%s, %s, %s, %s, %s, %s, %s, %s::text[], %s::text[], "
            "%s::text[], %s::bigint[], %s::bigint[], %s::text[], %s::bigint[], %s)",
            [
                hold_id, facts.amount, facts.from_grant, captured, now,
                subscription_grant(facts.user_id).code, wallet(facts.user_id).code,
                [c.source for c in children], [c.to.code for c in children],
                [c.to.kind for c in children], [c.to.owner_id for c in children],
                [c.amount for c in children], [c.kind for c in children],
                [c.beneficiary_id for c in children], description,
            ],
        )[0]  # fmt: skip
        if status == "ok":
            metrics.moved(children)
            closed = Hold(
                **{f: getattr(facts, f) for f in _HOLD_FIELDS},
            )
            closed.state, closed.captured, closed.closed_at = HoldState.CAPTURED, captured, now
            closed._state.adding = False
            return closed
        current = Hold.objects.filter(pk=hold_id).first()
        if current is None or current.state != HoldState.PENDING:
            return _closed_capture(hold_id, amount)
        facts = current  # the caller's copy of the hold was not this hold's: plan again
    raise errors.Conflict(_("This hold changed while it was being captured; try again."))


# --------------------------------------------------------------------------------------------
# Generation pricing and royalties (called by the generation app)


@dataclass(frozen=True)
class StyleShare:
    """One style of a generation: its artist, price per image in credits, blend weight."""

    artist: Any
    price_per_image: int
    weight: Any = 1


def _shares(styles: Sequence[StyleShare | tuple]) -> list[StyleShare]:
    shares = [s if isinstance(s, StyleShare) else StyleShare(*s) for s in styles]
    if not shares:
        raise errors.ValidationFailed(
            _("Choose at least one style."), details={"fields": {"styles": ["required"]}}
        )
    for s in shares:
        if isinstance(s.price_per_image, bool) or not isinstance(s.price_per_image, int):
            raise errors.ValidationFailed(_("Prices are whole numbers of credits."))
        if s.price_per_image < 0:
            raise errors.ValidationFailed(_("Prices cannot be negative."))
    return shares


def blend_price(styles: Sequence[StyleShare | tuple]) -> int:
    """Credits per image of a style or weighted blend: Σ price·weight / Σ weight, rounded up."""
    shares = _shares(styles)
    weights = [_fraction(s.weight, "weight") for s in shares]
    total = sum(weights, Fraction(0))
    if total <= 0:
        raise errors.ValidationFailed(
            _("At least one weight must be above zero."), details={"fields": {"weight": ["zero"]}}
        )
    return math.ceil(
        sum((s.price_per_image * w for s, w in zip(shares, weights, strict=True))) / total
    )


def generation_cost(*, styles: Sequence[StyleShare | tuple], count: int) -> int:
    """What a generation of ``count`` images costs: reserve this much before queueing."""
    return blend_price(styles) * count


def capture_generation(
    *, hold: Hold | int, images_delivered: int, styles: Sequence[StyleShare | tuple]
) -> Hold:
    """Captures the delivered images of a generation and releases the rest of its hold.

    Each artist earns in proportion to their style's price × blend weight; the platform fee
    comes off the top. Exactly once, like capture().
    """
    if isinstance(images_delivered, bool) or not isinstance(images_delivered, int):
        raise errors.ValidationFailed(_("images_delivered must be a whole number."))
    if images_delivered < 0:
        raise errors.ValidationFailed(_("images_delivered cannot be negative."))
    shares = _shares(styles)
    amount = generation_cost(styles=shares, count=images_delivered) if images_delivered else 0
    artists = [(s.artist, s.price_per_image * _fraction(s.weight, "weight")) for s in shares]
    if not any(w > 0 for _a, w in artists):
        artists = []
    return capture(hold=hold, amount=amount, artists=artists, description="generation")


# --------------------------------------------------------------------------------------------
# Subscription credits: expiry and settlement (called by billing)


def lock_accounts(specs: Iterable[AccountSpec]) -> dict[str, _Row]:
    """Opens (if needed) and locks accounts in id order for the current transaction; a caller
    reads balances through this before deciding how much to move."""
    if not connection.in_atomic_block:
        raise RuntimeError("lock_accounts() must run inside transaction.atomic()")
    return _accounts(specs)


def expire_subscription_credits(*, user, idempotency_key: str) -> int:
    """Moves the unused (available) subscription credits of the user to their escrow, where the
    settlement counts them as unused value. Credits still held by a running job stay."""
    with transaction.atomic():
        if Transfer.objects.filter(idempotency_key=idempotency_key).exists():
            return Transfer.objects.get(idempotency_key=idempotency_key).amount
        grant, escrow = subscription_grant(user), subscription_escrow(user)
        rows = _accounts([grant, escrow])
        unused = max(rows[grant.code].available, 0)
        if unused:
            post(
                postings=[
                    Posting(
                        debit=grant,
                        credit=escrow,
                        amount=unused,
                        kind=TransferKind.SUBSCRIPTION_EXPIRY,
                        description="unused subscription credits",
                    )
                ],
                idempotency_key=idempotency_key,
            )
        return unused


@dataclass
class SettlementResult:
    through_transfer_id: int
    total: int
    to_artists: dict[int, int]
    to_platform: int
    to_reserve: int


def _escrow_usage(escrow_id: int) -> tuple[int, dict[int | None, int], int]:
    """Escrow credits since its last settlement: (last transfer id, usage by artist (None:
    platform use), unused credits). Settling empties the escrow under its lock, and every
    credit to it is written under the same lock, so "since" is simply "after the last debit"."""
    last_out = (
        Transfer.objects.filter(debit_id=escrow_id).order_by("-id").values_list("id", flat=True)
    ).first() or 0
    usage: dict[int | None, int] = {}
    unused = through = 0
    for tid, kind, beneficiary, amount in Transfer.objects.filter(
        credit_id=escrow_id, id__gt=last_out, state=TransferState.POSTED
    ).values_list("id", "kind", "beneficiary_id", "amount"):
        through = max(through, tid)
        if kind == TransferKind.SUBSCRIPTION_EXPIRY:
            unused += amount
        else:
            usage[beneficiary] = usage.get(beneficiary, 0) + amount
    return through, usage, unused


def settle_subscription_escrow(*, user) -> SettlementResult | None:
    """Shares a subscriber's escrow out pro rata: the value of the month's credits, less the
    platform fee, goes to the artists in proportion to the subscriber's use of their styles;
    the unused part goes to the reserve pool, use outside any artist's style to the platform.
    Returns None when there is nothing to settle."""
    escrow = subscription_escrow(user)
    for _attempt in range(5):
        with transaction.atomic():
            escrow_row = _select_accounts([escrow.code], (), lock=False).get(escrow.code)
            if escrow_row is None:
                return None
            _through, guess, _unused = _escrow_usage(escrow_row.id)
            artists = sorted(a for a in guess if a is not None)
            rows = _accounts(
                [escrow, reserve_pool(), platform_revenue()] + [artist_earnings(a) for a in artists]
            )
            through, usage, unused = _escrow_usage(escrow_row.id)
            if any(a is not None and a not in artists for a in usage):
                continue  # a capture for a new artist slipped in before the lock: start again
            total = sum(usage.values()) + unused
            if total == 0:
                return None
            balance = rows[escrow.code].available
            if balance != total:  # pragma: no cover - the ledger check would flag it too
                raise errors.Conflict(
                    f"escrow of user {uid_of(user)} holds {balance}, usage {total}"
                )
            fee = platform_fee_percent()
            paid = sorted((a, n) for a, n in usage.items() if a is not None)
            weights = [
                total * fee / 100 + usage.get(None, 0) * (100 - fee) / 100,
                unused * (100 - fee) / 100,
                *[n * (100 - fee) / 100 for _a, n in paid],
            ]
            shares = split(total, [Fraction(w) for w in weights])
            to_platform, to_reserve, *to_artists = shares
            postings = [
                Posting(escrow, platform_revenue(), to_platform, TransferKind.PLATFORM_FEE),
                Posting(escrow, reserve_pool(), to_reserve, TransferKind.RESERVE),
            ] + [
                Posting(
                    escrow,
                    artist_earnings(a),
                    share,
                    TransferKind.SETTLEMENT,
                    description="subscription royalties",
                    beneficiary_id=a,
                )
                for (a, _n), share in zip(paid, to_artists, strict=True)
            ]
            post(postings=postings, idempotency_key=f"settlement:{uid_of(user)}:{through}")
            return SettlementResult(
                through_transfer_id=through,
                total=total,
                to_artists={a: s for (a, _n), s in zip(paid, to_artists, strict=True) if s},
                to_platform=to_platform,
                to_reserve=to_reserve,
            )
    raise errors.Conflict(_("The settlement kept racing with new usage; try again."))


def distribute_reserve_pool(*, since: datetime, until: datetime, idempotency_key: str) -> dict:
    """Shares the reserve pool among the artists by the subscription usage of their styles
    between ``since`` and ``until`` (the quarter). Returns {artist id: credits}."""
    with transaction.atomic():
        if Transfer.objects.filter(idempotency_key=idempotency_key).exists():
            return {}
        usage: dict[int, int] = {}
        for artist_id, amount in Transfer.objects.filter(
            kind=TransferKind.SETTLEMENT,
            state=TransferState.POSTED,
            created_at__gte=since,
            created_at__lt=until,
            beneficiary__isnull=False,
        ).values_list("beneficiary_id", "amount"):
            usage[artist_id] = usage.get(artist_id, 0) + amount
        if not usage:
            return {}
        artists = sorted(usage)
        rows = _accounts([reserve_pool()] + [artist_earnings(a) for a in artists])
        pool = max(rows[reserve_pool().code].available, 0)
        if not pool:
            return {}
        shares = split(pool, [Fraction(usage[a]) for a in artists])
        post(
            postings=[
                Posting(
                    reserve_pool(),
                    artist_earnings(a),
                    share,
                    TransferKind.RESERVE_SHARE,
                    description="reserve pool distribution",
                    beneficiary_id=a,
                )
                for a, share in zip(artists, shares, strict=True)
            ],
            idempotency_key=idempotency_key,
        )
        return {a: s for a, s in zip(artists, shares, strict=True) if s}
