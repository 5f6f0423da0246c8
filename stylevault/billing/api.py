"""Billing API (API.md §Credits plus subscriptions and artist earnings): thin views."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils import translation
from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema
from rest_framework import permissions, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from stylevault.billing import selectors, services
from stylevault.billing.models import Provider
from stylevault.billing.providers import lemonsqueezy, stripe, toss
from stylevault.core import errors
from stylevault.core.api import CursorPagination, validated
from stylevault.ledger import selectors as ledger_selectors


class PriceOut(serializers.Serializer):
    currency = serializers.CharField()
    amount = serializers.IntegerField(help_text="In the currency's minor unit (KRW has none).")
    display = serializers.CharField()


class PackOut(serializers.Serializer):
    id = serializers.CharField()
    credits = serializers.IntegerField()
    prices = PriceOut(many=True)


class PackListOut(serializers.Serializer):
    results = PackOut(many=True)
    next = serializers.URLField(allow_null=True)


class CheckoutIn(serializers.Serializer):
    pack_id = serializers.CharField(max_length=64)
    currency = serializers.CharField(max_length=3, required=False)
    provider = serializers.ChoiceField(
        choices=["stripe", "lemonsqueezy", "toss"],
        required=False,
        help_text="Default: the first provider this server has keys for.",
    )


class CheckoutOut(serializers.Serializer):
    checkout_url = serializers.URLField()


class TossCheckoutOut(serializers.Serializer):
    """What the browser needs to open the Toss payment widget (the amount is ours)."""

    provider = serializers.CharField()
    order_id = serializers.CharField()
    amount = serializers.IntegerField()
    currency = serializers.CharField()
    client_key = serializers.CharField()
    customer_key = serializers.CharField(
        help_text="The widget's customerKey for this buyer: stable, and not guessable from their id."
    )
    success_url = serializers.URLField()
    fail_url = serializers.URLField()


class TierOut(serializers.Serializer):
    name = serializers.CharField()
    label = serializers.CharField()
    price_usd_cents = serializers.IntegerField(allow_null=True)
    monthly_credits = serializers.IntegerField()
    queue_priority = serializers.IntegerField()
    max_concurrent_jobs = serializers.IntegerField()
    max_images_per_job = serializers.IntegerField()
    max_steps = serializers.IntegerField()


class TierListOut(serializers.Serializer):
    results = TierOut(many=True)
    next = serializers.URLField(allow_null=True)


class SubscriptionOut(serializers.Serializer):
    tier = serializers.CharField()
    status = serializers.ChoiceField(
        choices=["none", "incomplete", "active", "past_due", "canceled"]
    )
    provider = serializers.CharField(allow_null=True)
    current_period_end = serializers.DateTimeField(allow_null=True)
    cancel_at_period_end = serializers.BooleanField()
    next_tier = serializers.CharField(allow_null=True)
    grace_until = serializers.DateTimeField(allow_null=True)
    limits = TierOut()


class TierIn(serializers.Serializer):
    tier = serializers.CharField(max_length=32)


class DailyOut(serializers.Serializer):
    date = serializers.DateField()
    credits = serializers.IntegerField()


class StatementOut(serializers.Serializer):
    month = serializers.DateField()
    opening = serializers.IntegerField()
    earned = serializers.IntegerField()
    from_subscriptions = serializers.IntegerField()
    from_reserve = serializers.IntegerField()
    paid_out = serializers.IntegerField()
    returned = serializers.IntegerField()
    closing = serializers.IntegerField()


class EarningsOut(serializers.Serializer):
    balance = serializers.IntegerField(help_text="Credits earned and not yet paid out.")
    payout_value_cents = serializers.IntegerField(help_text="What the balance pays, in US cents.")
    minimum_payout_cents = serializers.IntegerField()
    daily = DailyOut(many=True)
    statements = StatementOut(many=True)


class PayoutOut(serializers.Serializer):
    id = serializers.IntegerField()
    credits = serializers.IntegerField()
    amount = serializers.IntegerField(help_text="In cents.")
    currency = serializers.CharField()
    status = serializers.CharField()
    created_at = serializers.DateTimeField()
    sent_at = serializers.DateTimeField(allow_null=True)


class PayoutPageOut(serializers.Serializer):
    results = PayoutOut(many=True)
    next = serializers.URLField(allow_null=True)


class WebhookOut(serializers.Serializer):
    received = serializers.BooleanField()
    outcome = serializers.CharField()


def _absolute(request, url: str) -> str:
    return request.build_absolute_uri(url)


def _return_urls(request, name: str) -> tuple[str, str]:
    done = _absolute(request, reverse(f"billing:{name}"))
    return f"{done}?status=success", f"{done}?status=cancelled"


class CreditPacksView(APIView):
    @extend_schema(responses={200: PackListOut}, tags=["credits"])
    def get(self, request):
        packs = [
            {"id": p.id, "credits": p.credits, "prices": p.display_prices()}
            for p in selectors.credit_packs()
        ]
        return Response({"results": packs, "next": None})


def toss_urls(request) -> tuple[str, str]:
    """Where Toss sends the browser back: our confirming redirect, or the cancelled wallet."""
    _success, cancel = _return_urls(request, "wallet")
    return _absolute(request, reverse("billing-api:toss-success")), cancel


def toss_order(request, checkout) -> dict:
    success, fail = toss_urls(request)
    return {
        "provider": Provider.TOSS, "order_id": str(checkout.pk), "amount": checkout.amount,
        "currency": checkout.currency, "client_key": settings.STYLEVAULT_TOSS_CLIENT_KEY,
        "customer_key": toss.customer_key(checkout.user_id),
        "success_url": success, "fail_url": fail,
    }  # fmt: skip


class CheckoutView(APIView):
    @extend_schema(
        request=CheckoutIn,
        responses={200: PolymorphicProxySerializer(
            component_name="CheckoutAnswer", serializers=[CheckoutOut, TossCheckoutOut],
            resource_type_field_name=None,
        )},
        tags=["credits"],
    )  # fmt: skip
    def post(self, request):
        data = validated(CheckoutIn, request.data)
        success, cancel = _return_urls(request, "wallet")
        checkout = services.start_pack_checkout(
            user=request.user,
            pack_id=data["pack_id"],
            currency=data.get("currency"),
            provider=data.get("provider"),
            success_url=success,
            cancel_url=cancel,
        )
        if checkout.provider == Provider.TOSS:
            return Response(TossCheckoutOut(toss_order(request, checkout)).data)
        return Response({"checkout_url": _absolute(request, checkout.url)})


class TossSuccessView(APIView):
    """Toss's success redirect (a browser GET): confirm, then back to the wallet page."""

    permission_classes = [permissions.AllowAny]

    @extend_schema(request=None, responses={302: None}, tags=["webhooks"])
    def get(self, request):
        query = request.query_params
        language = translation.get_language() or settings.LANGUAGE_CODE
        with translation.override(language):
            wallet = reverse("billing:wallet")
        try:
            toss.confirm_redirect(
                payment_key=query.get("paymentKey"),
                order_id=query.get("orderId"),
                amount=query.get("amount"),
            )
        except errors.DomainError as exc:
            return HttpResponseRedirect(f"{wallet}?status=failed&reason={exc.code}")
        return HttpResponseRedirect(f"{wallet}?status=paid")


class _WebhookView(APIView):
    permission_classes = [permissions.AllowAny]
    authentication_classes = []
    throttle_classes = []

    def handle(self, request, header: str) -> Response:
        body = request._request.body  # the raw bytes the signature covers
        outcome = self.handler(payload=body, signature=request.headers.get(header, ""))
        return Response({"received": True, "outcome": outcome})


class StripeWebhookView(_WebhookView):
    handler = staticmethod(stripe.handle_webhook)

    @extend_schema(request=None, responses={200: WebhookOut}, tags=["webhooks"])
    def post(self, request):
        return self.handle(request, "Stripe-Signature")


class LemonSqueezyWebhookView(_WebhookView):
    handler = staticmethod(lemonsqueezy.handle_webhook)

    @extend_schema(request=None, responses={200: WebhookOut}, tags=["webhooks"])
    def post(self, request):
        return self.handle(request, "X-Signature")


class TossWebhookView(_WebhookView):
    @extend_schema(request=None, responses={200: WebhookOut}, tags=["webhooks"])
    def post(self, request):
        outcome = toss.handle_webhook(payload=request._request.body)
        return Response({"received": True, "outcome": outcome})


class TiersView(APIView):
    permission_classes = [permissions.AllowAny]

    @extend_schema(responses={200: TierListOut}, tags=["subscriptions"])
    def get(self, request):
        tiers = [t.as_dict() for t in selectors.tiers()]
        return Response({"results": tiers, "next": None})


class SubscriptionView(APIView):
    @extend_schema(responses={200: SubscriptionOut}, tags=["subscriptions"])
    def get(self, request):
        return Response(SubscriptionOut(selectors.subscription_payload(request.user)).data)


class SubscriptionCheckoutView(APIView):
    @extend_schema(request=TierIn, responses={200: CheckoutOut}, tags=["subscriptions"])
    def post(self, request):
        data = validated(TierIn, request.data)
        success, cancel = _return_urls(request, "subscription")
        checkout = services.start_subscription_checkout(
            user=request.user, tier=data["tier"], success_url=success, cancel_url=cancel
        )
        return Response({"checkout_url": _absolute(request, checkout.url)})


class SubscriptionChangeView(APIView):
    @extend_schema(request=TierIn, responses={200: SubscriptionOut}, tags=["subscriptions"])
    def post(self, request):
        data = validated(TierIn, request.data)
        services.change_tier(user=request.user, tier=data["tier"])
        return Response(SubscriptionOut(selectors.subscription_payload(request.user)).data)


class SubscriptionCancelView(APIView):
    @extend_schema(request=None, responses={200: SubscriptionOut}, tags=["subscriptions"])
    def post(self, request):
        services.cancel_subscription(user=request.user)
        return Response(SubscriptionOut(selectors.subscription_payload(request.user)).data)


def _artist(request):
    if not (request.user.is_artist or request.user.is_operator):
        raise errors.Forbidden()
    return request.user


class EarningsView(APIView):
    @extend_schema(responses={200: EarningsOut}, tags=["earnings"])
    def get(self, request):
        artist = _artist(request)
        balance = ledger_selectors.earnings_balance(artist)
        return Response(
            EarningsOut(
                {
                    "balance": balance,
                    "payout_value_cents": services.payout_value_cents(balance),
                    "minimum_payout_cents": settings.STYLEVAULT_PAYOUT_MINIMUM_USD_CENTS,
                    "daily": ledger_selectors.daily_earnings(artist, days=30),
                    "statements": selectors.statements(artist, months=6),
                }
            ).data
        )


class PayoutsView(APIView):
    @extend_schema(responses={200: PayoutPageOut}, tags=["earnings"])
    def get(self, request):
        artist = _artist(request)
        paginator = CursorPagination()
        page = paginator.paginate_queryset(selectors.payouts_of(artist), request, view=self)
        return paginator.get_paginated_response(PayoutOut(page, many=True).data)
