"""Billing pages: wallet and history, buying credits, the plan, artist earnings. Thin: every
rule is in billing.services / ledger.services."""

from __future__ import annotations

from csp.decorators import csp_update
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from stylevault.billing import api, catalog, charts, forms, gateway, selectors, services
from stylevault.billing.models import CheckoutKind, CheckoutStatus, Provider
from stylevault.core import errors
from stylevault.ledger import selectors as ledger_selectors

HISTORY_PAGE = 50


def _absolute(request, name: str, query: str = "") -> str:
    return request.build_absolute_uri(reverse(name)) + query


@login_required
def wallet(request):
    history = ledger_selectors.history_of(request.user)
    before = request.GET.get("before", "")
    if before.isdigit():
        history = history.filter(pk__lt=int(before))
    rows = list(history[: HISTORY_PAGE + 1])
    status = request.GET.get("status")
    if status == "success":
        messages.info(
            request, _("Thank you! Your credits appear here once the payment is confirmed.")
        )
    elif status == "cancelled":
        messages.info(request, _("The payment was cancelled; nothing was charged."))
    elif status == "paid":
        messages.success(request, _("Thank you! The payment is confirmed and your credits are in."))
    elif status == "failed":
        messages.error(request, _("The payment could not be confirmed; nothing was credited."))
    context = {
        "wallet": ledger_selectors.wallet_of(request.user),
        "debt": ledger_selectors.debt_of(request.user),
        "receipts": selectors.receipts_of(request.user)[:20],
        "plan": selectors.subscription_payload(request.user),
        "history": rows[:HISTORY_PAGE],
        "older": rows[HISTORY_PAGE - 1].pk if len(rows) > HISTORY_PAGE else None,
    }
    return render(request, "billing/wallet.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def buy(request):
    if request.method == "POST":
        form = forms.BuyPackForm(request.POST)
        if form.is_valid():
            currency = form.cleaned_data["currency"] or None
            # On this page, won are paid through Toss when it is set up (Korean buyers' habit).
            toss = currency == "KRW" and gateway.toss_enabled()
            try:
                checkout = services.start_pack_checkout(
                    user=request.user,
                    pack_id=form.cleaned_data["pack_id"],
                    currency=currency,
                    provider=Provider.TOSS if toss else None,
                    success_url=_absolute(request, "billing:wallet", "?status=success"),
                    cancel_url=_absolute(request, "billing:buy"),
                )
            except errors.DomainError as exc:
                messages.error(request, exc.message)
            else:
                return redirect("billing:checkout", checkout_id=checkout.pk)
        else:
            messages.error(request, _("Choose a credit pack."))
    context = {
        "packs": selectors.credit_packs(),
        "wallet": ledger_selectors.wallet_of(request.user),
        "dev_mode": gateway.dev_payments_enabled(),
        "payments": bool(gateway.configured_providers()) or gateway.dev_payments_enabled(),
    }
    return render(request, "billing/buy.html", context)


@login_required
def checkout(request, checkout_id):
    found = selectors.checkout_of(request.user, checkout_id)
    if found is None:
        raise Http404
    if found.status == CheckoutStatus.OPEN and found.provider == "dev":
        return redirect("billing:dev-checkout", checkout_id=found.pk)
    if found.status == CheckoutStatus.OPEN and found.provider == "toss":
        return _toss_widget(request, found)
    return render(request, "billing/checkout.html", {"checkout": found})


TOSS_JS = "https://js.tosspayments.com"


@csp_update({"script-src": [TOSS_JS], "frame-src": ["https://*.tosspayments.com"],
             "connect-src": ["https://*.tosspayments.com"]})  # fmt: skip
def _toss_widget(request, found):
    """Toss's payment widget (its script from Toss, as Toss requires) for an open order."""
    order = api.toss_order(request, found)
    return render(
        request,
        "billing/toss.html",
        {"checkout": found, "order": order, "toss_js": f"{TOSS_JS}/v2/standard"},
    )


@login_required
@require_http_methods(["GET", "POST"])
def dev_checkout(request, checkout_id):
    found = selectors.checkout_of(request.user, checkout_id)
    if found is None or found.provider != "dev" or not gateway.dev_payments_enabled():
        raise Http404
    if request.method == "POST":
        try:
            services.confirm_dev_checkout(user=request.user, checkout_id=found.pk)
        except errors.DomainError as exc:
            messages.error(request, exc.message)
        else:
            if found.kind == CheckoutKind.PACK:
                messages.success(
                    request,
                    _("%(credits)s credits were added to your wallet.")
                    % {"credits": found.credits},
                )
                return redirect("billing:wallet")
            messages.success(request, _("Your plan is active."))
            return redirect("billing:subscription")
    context = {"checkout": found, "tier": catalog.tier(found.tier) if found.tier else None}
    return render(request, "billing/dev_checkout.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def subscription(request):
    if request.method == "POST":
        action = request.POST.get("action")
        form = forms.TierForm(request.POST)
        try:
            if action == "cancel":
                services.cancel_subscription(user=request.user)
                messages.success(request, _("Your plan ends at the end of the paid period."))
            elif action in ("subscribe", "change") and form.is_valid():
                tier = form.cleaned_data["tier"]
                if action == "subscribe":
                    checkout = services.start_subscription_checkout(
                        user=request.user,
                        tier=tier,
                        success_url=_absolute(request, "billing:subscription", "?status=success"),
                        cancel_url=_absolute(request, "billing:subscription"),
                    )
                    return redirect("billing:checkout", checkout_id=checkout.pk)
                services.change_tier(user=request.user, tier=tier)
                messages.success(request, _("Your plan change was requested."))
            else:
                messages.error(request, _("Choose a plan."))
        except errors.DomainError as exc:
            messages.error(request, exc.message)
        return redirect("billing:subscription")
    if request.GET.get("status") == "success":
        messages.info(
            request, _("Thank you! Your plan starts as soon as the payment is confirmed.")
        )
    context = {
        "plan": selectors.subscription_payload(request.user),
        "current": selectors.tier_of(request.user),
        "tiers": [t for t in selectors.tiers()],
        "payments": gateway.stripe_enabled() or gateway.dev_payments_enabled(),
    }
    return render(request, "billing/subscription.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def earnings(request):
    artist = request.user
    if not (artist.is_artist or artist.is_operator):
        raise PermissionDenied
    profile = selectors.payout_profile(artist)
    form = forms.PayoutAccountForm(
        request.POST or None,
        initial={"stripe_account_id": profile.stripe_account_id if profile else ""},
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.set_payout_account(
                artist=artist, stripe_account_id=form.cleaned_data["stripe_account_id"]
            )
        except errors.DomainError as exc:
            from stylevault.core.pages import apply_service_error

            apply_service_error(form, exc)
        else:
            messages.success(request, _("Your payout account was saved."))
            return redirect("billing:earnings")
    balance = ledger_selectors.earnings_balance(artist)
    daily = ledger_selectors.daily_earnings(artist, days=30)
    context = {
        "balance": balance,
        "payout_value": catalog.minor_to_display(services.payout_value_cents(balance), "USD"),
        "minimum": catalog.minor_to_display(settings.STYLEVAULT_PAYOUT_MINIMUM_USD_CENTS, "USD"),
        "chart": charts.daily_bars(daily),
        "statements": selectors.statements(artist, months=6),
        "payouts": selectors.payouts_of(artist)[:20],
        "history": ledger_selectors.earnings_history(artist)[:30],
        "form": form,
    }
    return render(request, "billing/earnings.html", context, status=400 if form.errors else 200)


@login_required
def receipt(request, checkout_id):
    """A purchase's receipt, printable: the provider's reference, amount, currency and the tax
    included (VAT for Korean and EU buyers), and what a refund or dispute took back."""
    found = selectors.receipt(request.user, checkout_id)
    if found is None:
        raise Http404
    return render(
        request, "billing/receipt.html", {"checkout": found, **selectors.receipt_amounts(found)}
    )
