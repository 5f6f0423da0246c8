"""The ledger's account names: one function per kind of account, each naming the account and
how to open it the first time a posting uses it. Codes are stable: they are the books' keys."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from stylevault.ledger.models import AccountKind


@dataclass(frozen=True)
class AccountSpec:
    """Names an account, and how to open it the first time it is used."""

    code: str
    kind: str
    owner_id: int | None = None
    allow_negative: bool = False


def uid_of(user: Any) -> int:
    """A user's id, from the user or the id itself."""
    return user if isinstance(user, int) else user.pk


def wallet(user: Any) -> AccountSpec:
    uid = uid_of(user)
    return AccountSpec(f"user_wallet:{uid}", AccountKind.USER_WALLET, uid)


def subscription_grant(user: Any) -> AccountSpec:
    uid = uid_of(user)
    return AccountSpec(f"subscription_grant:{uid}", AccountKind.SUBSCRIPTION_GRANT, uid)


def subscription_escrow(user: Any) -> AccountSpec:
    uid = uid_of(user)
    return AccountSpec(f"subscription_escrow:{uid}", AccountKind.SUBSCRIPTION_ESCROW, uid)


def artist_earnings(user: Any) -> AccountSpec:
    uid = uid_of(user)
    return AccountSpec(f"artist_earnings:{uid}", AccountKind.ARTIST_EARNINGS, uid)


def platform_revenue() -> AccountSpec:
    return AccountSpec("platform_revenue", AccountKind.PLATFORM_REVENUE)


def reserve_pool() -> AccountSpec:
    return AccountSpec("reserve_pool", AccountKind.RESERVE_POOL)


def platform_grants() -> AccountSpec:
    """Source of operator grants; goes negative by the credits given away."""
    return AccountSpec("platform_grants", AccountKind.PLATFORM_GRANTS, allow_negative=True)


def provider(name: str, currency: str) -> AccountSpec:
    """Credits sold (or paid out) through a payment provider in one currency. Negative by
    the credits sold through it: the books balance against real money received."""
    return AccountSpec(
        f"provider:{name}:{currency.upper()}", AccountKind.PROVIDER, allow_negative=True
    )


def debt(user: Any) -> AccountSpec:
    """Credits spent from a purchase later refunded or disputed: negative by what the user owes
    (billing.services.refunds); while it is, no new hold is made."""
    uid = uid_of(user)
    return AccountSpec(f"user_debt:{uid}", AccountKind.USER_DEBT, uid, allow_negative=True)


def platform_losses() -> AccountSpec:
    """Debts written off: negative by the loss the platform bore."""
    return AccountSpec("platform_losses", AccountKind.PLATFORM_LOSSES, allow_negative=True)
