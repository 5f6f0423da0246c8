"""What can be bought: credit packs and subscription tiers (SPEC defaults, configurable)."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.translation import gettext_lazy as _

# Currencies without a minor unit (Stripe's "zero-decimal" list, the ones we may meet).
ZERO_DECIMAL = {"KRW", "JPY", "VND", "CLP", "ISK", "UGX", "XAF", "XOF", "PYG", "RWF"}

DEFAULT_PACKS = [
    {"id": "pack-100", "credits": 100, "prices": {"KRW": 10_000, "USD": 750}},
    {"id": "pack-500", "credits": 500, "prices": {"KRW": 45_000, "USD": 3_300}},
    {"id": "pack-1000", "credits": 1_000, "prices": {"KRW": 80_000, "USD": 5_900}},
]


def minor_to_display(amount: int, currency: str) -> str:
    currency = currency.upper()
    if currency in ZERO_DECIMAL:
        return f"{amount:,} {currency}"
    return f"{Decimal(amount) / 100:,.2f} {currency}"


@dataclass(frozen=True)
class CreditPack:
    id: str
    credits: int
    prices: dict[str, int]  # currency → amount in the currency's minor unit

    @property
    def default_currency(self) -> str:
        return next(iter(self.prices))

    def price(self, currency: str | None) -> tuple[str, int] | None:
        currency = (currency or self.default_currency).upper()
        amount = self.prices.get(currency)
        return None if amount is None else (currency, amount)

    def display_prices(self) -> list[dict]:
        return [
            {"currency": c, "amount": a, "display": minor_to_display(a, c)}
            for c, a in self.prices.items()
        ]


def credit_packs() -> list[CreditPack]:
    configured = getattr(settings, "STYLEVAULT_CREDIT_PACKS", None) or DEFAULT_PACKS
    return [
        CreditPack(
            id=str(p["id"]).strip(),
            credits=int(p["credits"]),
            prices={str(c).upper(): int(a) for c, a in p["prices"].items()},
        )
        for p in configured
    ]


def credit_pack(pack_id) -> CreditPack | None:
    if not isinstance(pack_id, str):
        return None
    return next((p for p in credit_packs() if p.id == pack_id), None)


@dataclass(frozen=True)
class Tier:
    """A subscription tier: its price, monthly credits, and the limits other apps apply."""

    name: str
    label: str
    rank: int
    price_usd_cents: int | None  # None: custom (Enterprise, arranged with sales)
    monthly_credits: int
    queue_priority: int  # higher runs first
    max_concurrent_jobs: int
    max_images_per_job: int
    max_steps: int
    stripe_price_id: str = ""
    extra: dict = field(default_factory=dict, compare=False)

    @property
    def is_free(self) -> bool:
        return self.name == FREE

    @property
    def self_serve(self) -> bool:
        """Bought by the user at checkout (not Free, not custom)."""
        return not self.is_free and self.price_usd_cents is not None

    @property
    def price_display(self) -> str:
        if self.price_usd_cents is None:
            return str(_("Custom"))
        return minor_to_display(self.price_usd_cents, "USD")

    def as_dict(self) -> dict:
        return {
            "name": self.name,
            "label": str(self.label),
            "price_usd_cents": self.price_usd_cents,
            "monthly_credits": self.monthly_credits,
            "queue_priority": self.queue_priority,
            "max_concurrent_jobs": self.max_concurrent_jobs,
            "max_images_per_job": self.max_images_per_job,
            "max_steps": self.max_steps,
        }


FREE = "free"
DEFAULT_TIERS = {
    "free": dict(label=_("Free"), rank=0, price_usd_cents=0, monthly_credits=0,
                 queue_priority=0, max_concurrent_jobs=1, max_images_per_job=4, max_steps=30),
    "starter": dict(label=_("Starter"), rank=1, price_usd_cents=2_500, monthly_credits=5_000,
                    queue_priority=10, max_concurrent_jobs=2, max_images_per_job=8, max_steps=40),
    "pro": dict(label=_("Pro"), rank=2, price_usd_cents=7_500, monthly_credits=15_000,
                queue_priority=20, max_concurrent_jobs=4, max_images_per_job=16, max_steps=50),
    "studio": dict(label=_("Studio"), rank=3, price_usd_cents=15_000, monthly_credits=30_000,
                   queue_priority=30, max_concurrent_jobs=8, max_images_per_job=32, max_steps=60),
    "enterprise": dict(label=_("Enterprise"), rank=4, price_usd_cents=None,
                       monthly_credits=100_000, queue_priority=40, max_concurrent_jobs=16,
                       max_images_per_job=64, max_steps=80),
}  # fmt: skip

_TIER_FIELDS = {
    "label", "rank", "price_usd_cents", "monthly_credits", "queue_priority",
    "max_concurrent_jobs", "max_images_per_job", "max_steps", "stripe_price_id",
}  # fmt: skip


def tiers() -> list[Tier]:
    """The tiers, cheapest first. STYLEVAULT_SUBSCRIPTION_TIERS (JSON) overrides fields of the
    defaults, e.g. {"starter": {"stripe_price_id": "price_123"}, "enterprise": {...}}."""
    return list(_tiers())


@functools.cache
def _tiers() -> tuple[Tier, ...]:
    """Built once per settings (most requests read a tier)."""
    overrides = getattr(settings, "STYLEVAULT_SUBSCRIPTION_TIERS", None) or {}
    result = []
    for name in {**DEFAULT_TIERS, **overrides}:
        values = {**DEFAULT_TIERS.get(name, {"label": name.title(), "rank": 99}), **{
            k: v for k, v in (overrides.get(name) or {}).items() if k in _TIER_FIELDS
        }}  # fmt: skip
        values.setdefault("price_usd_cents", None)
        for key in ("monthly_credits", "queue_priority", "max_concurrent_jobs",
                    "max_images_per_job", "max_steps"):  # fmt: skip
            values.setdefault(key, 0)
        result.append(Tier(name=name, **values))
    return tuple(sorted(result, key=lambda t: (t.rank, t.name)))


@receiver(setting_changed)
def _forget_tiers(*, setting: str, **kwargs) -> None:
    if setting == "STYLEVAULT_SUBSCRIPTION_TIERS":
        _tiers.cache_clear()


def tier(name) -> Tier | None:
    return next((t for t in tiers() if t.name == name), None) if isinstance(name, str) else None


def free_tier() -> Tier:
    return tier(FREE)


def tier_for_price(price_id: str | None) -> Tier | None:
    if not price_id:
        return None
    return next((t for t in tiers() if t.stripe_price_id and t.stripe_price_id == price_id), None)
