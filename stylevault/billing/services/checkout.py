"""Opening a payment: a Checkout row (what, for whom, at our price) and its provider page.

Credits never arrive here: only when the provider confirms the payment (billing.providers)
or on the development page (confirm_dev_checkout)."""

from __future__ import annotations

from collections.abc import Callable

from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from stylevault.billing import catalog, gateway
from stylevault.billing.clients import lemonsqueezy as lemonsqueezy_api
from stylevault.billing.clients import stripe as stripe_api
from stylevault.billing.models import Checkout, CheckoutKind, CheckoutStatus, Provider
from stylevault.billing.services import subscriptions
from stylevault.billing.services._errors import field_error
from stylevault.billing.services.packs import fulfil_pack_checkout
from stylevault.core import errors


def _provider_for_checkout(requested: str | None, offered: tuple[str, ...]) -> str:
    """The named provider if it is configured and sells this, else the first configured one."""
    configured = [p for p in gateway.configured_providers() if p in offered]
    if requested is not None:
        dev = requested == Provider.DEV and gateway.dev_payments_enabled()
        if requested in configured or dev:
            return requested
        raise field_error("provider", _("This payment provider is not available here."))
    if configured:
        return configured[0]
    if gateway.dev_payments_enabled():
        return Provider.DEV
    raise gateway.PaymentsUnavailable(_("Payments are not set up on this server yet."))


def _new_checkout(*, user, kind: str, provider: str, **fields) -> Checkout:
    return Checkout.objects.create(user=user, provider=provider, kind=kind, **fields)


def _stripe_session(
    checkout: Checkout, *, line_items: list, success_url: str, cancel_url: str, **extra
) -> dict:
    """The Checkout Session parameters every checkout shares (our id rides in the metadata
    and client_reference_id, so the completed session finds its checkout)."""
    ids = {"checkout_id": str(checkout.pk), "user_id": str(checkout.user_id)}
    ids.update({"pack_id": checkout.pack_id} if checkout.pack_id else {"tier": checkout.tier})
    return {
        "mode": "payment" if checkout.kind == CheckoutKind.PACK else "subscription",
        "line_items": line_items,
        "client_reference_id": str(checkout.pk),
        "metadata": ids,
        "success_url": success_url,
        "cancel_url": cancel_url,
        **extra,
    }


def _open_checkout(
    checkout: Checkout, session_params: Callable[[], dict], *, success_url: str = ""
) -> Checkout:
    """Gives the checkout its payment page: the local development page, our Toss widget page,
    a Lemon Squeezy checkout, or a Stripe Checkout session (the checkout is marked failed
    when the provider refuses, so no half-open checkout lingers)."""
    try:
        if checkout.provider == Provider.DEV:
            checkout.url = reverse("billing:dev-checkout", args=[checkout.pk])
        elif checkout.provider == Provider.TOSS:
            checkout.url = reverse("billing:checkout", args=[checkout.pk])
        elif checkout.provider == Provider.LEMONSQUEEZY:
            checkout.url = lemonsqueezy_api.create_checkout(
                checkout_id=str(checkout.pk),
                amount=checkout.amount,
                name=f"{checkout.credits:,} StyleVault credits",
                redirect_url=success_url,
            )
        else:
            session = stripe_api.create_checkout_session(
                session_params(), idempotency_key=f"checkout-{checkout.pk}"
            )
            checkout.provider_ref, checkout.url = session.get("id"), session.get("url") or ""
    except errors.DomainError:
        Checkout.objects.filter(pk=checkout.pk).update(status=CheckoutStatus.FAILED)
        raise
    checkout.save(update_fields=["provider_ref", "url"])
    return checkout


PACK_PROVIDERS = (Provider.STRIPE, Provider.LEMONSQUEEZY, Provider.TOSS)
# Providers that charge in one currency whatever the pack's prices: Toss in won; a Lemon
# Squeezy store in its own currency (ours: dollars), custom_price being read in it.
ONE_CURRENCY = {
    Provider.TOSS: ("KRW", gettext_lazy("Toss Payments takes Korean won (KRW) only.")),
    Provider.LEMONSQUEEZY: ("USD", gettext_lazy("Lemon Squeezy takes US dollars (USD) only.")),
}


def start_pack_checkout(
    *,
    user,
    pack_id,
    currency: str | None = None,
    provider: str | None = None,
    success_url: str,
    cancel_url: str,
) -> Checkout:
    """Opens a checkout for a credit pack; its ``url`` is where the buyer pays. Toss sells in
    KRW only, Lemon Squeezy in USD only, each at the pack's price in that currency."""
    pack = catalog.credit_pack(pack_id)
    if pack is None:
        raise field_error("pack_id", _("There is no credit pack with this id."))
    if currency is not None and not isinstance(currency, str):
        raise field_error("currency", _("Give the currency as a three-letter code."))
    provider = _provider_for_checkout(provider, PACK_PROVIDERS)
    if provider in ONE_CURRENCY:
        only, refusal = ONE_CURRENCY[provider]
        if currency is not None and currency.upper() != only:
            raise field_error("currency", str(refusal))
        currency = only
    price = pack.price(currency)
    if price is None:
        raise field_error(
            "currency", _("This pack is not sold in %(currency)s.") % {"currency": currency}
        )
    currency, amount = price
    checkout = _new_checkout(
        user=user, kind=CheckoutKind.PACK, provider=provider, pack_id=pack.id,
        credits=pack.credits, currency=currency, amount=amount,
    )  # fmt: skip
    line = {
        "quantity": 1,
        "price_data": {
            "currency": currency.lower(),
            "unit_amount": amount,
            "product_data": {"name": f"{pack.credits:,} StyleVault credits"},
        },
    }
    return _open_checkout(
        checkout,
        lambda: _stripe_session(
            checkout, line_items=[line], success_url=success_url, cancel_url=cancel_url,
            payment_intent_data={"metadata": {"checkout_id": str(checkout.pk),
                                              "user_id": str(user.pk), "pack_id": pack.id}},
        ),
        success_url=success_url,
    )  # fmt: skip


def start_subscription_checkout(*, user, tier, success_url: str, cancel_url: str) -> Checkout:
    chosen = subscriptions.self_serve_tier(tier)
    if subscriptions.is_live(subscriptions.Subscription.objects.filter(user=user).first()):
        raise errors.Conflict(_("You already have a plan: change it instead."))
    checkout = _new_checkout(
        user=user, kind=CheckoutKind.SUBSCRIPTION, tier=chosen.name,
        provider=_provider_for_checkout(None, (Provider.STRIPE,)),
        credits=chosen.monthly_credits, currency="USD", amount=chosen.price_usd_cents,
    )  # fmt: skip
    return _open_checkout(
        checkout,
        lambda: _stripe_session(
            checkout,
            line_items=[{"quantity": 1, **stripe_api.price(chosen)}],
            success_url=success_url,
            cancel_url=cancel_url,
            customer=subscriptions.ensure_stripe_customer(user),
            subscription_data={"metadata": {"user_id": str(user.pk), "tier": chosen.name}},
        ),
    )


def confirm_dev_checkout(*, user, checkout_id) -> Checkout:
    """The development provider's "payment": only without a provider and outside production."""
    if not gateway.dev_payments_enabled():
        raise errors.NotFound()
    checkout_uuid = Checkout.parse_id(checkout_id)
    checkout = Checkout.objects.filter(pk=checkout_uuid, user=user, provider=Provider.DEV).first()
    if checkout_uuid is None or checkout is None:
        raise errors.NotFound(_("No such checkout."))
    if checkout.kind == CheckoutKind.PACK:
        return fulfil_pack_checkout(checkout_id=checkout.pk, provider=Provider.DEV)
    with transaction.atomic():
        checkout = Checkout.objects.select_for_update().get(pk=checkout.pk)
        if checkout.status == CheckoutStatus.COMPLETED:
            return checkout
        now = timezone.now()
        tier = catalog.tier(checkout.tier)
        if tier is None:
            raise errors.Conflict(_("This plan is no longer offered."))
        subscriptions.dev_payment(
            user=checkout.user,
            tier=tier,
            subscription_ref=f"dev-{checkout.pk}",
            payment_ref=f"dev:checkout:{checkout.pk}",
            start=now,
        )
        checkout.status = CheckoutStatus.COMPLETED
        checkout.completed_at = now
        checkout.save(update_fields=["status", "completed_at"])
        return checkout
