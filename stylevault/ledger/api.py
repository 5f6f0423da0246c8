"""Wallet API (API.md §Credits): balance and history, thin views over ledger.selectors."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from stylevault.core.api import CursorPagination
from stylevault.ledger import selectors
from stylevault.ledger.models import AccountKind

_ACCOUNT_NAMES = {
    AccountKind.USER_WALLET: "wallet",
    AccountKind.SUBSCRIPTION_GRANT: "subscription",
    AccountKind.ARTIST_EARNINGS: "earnings",
    AccountKind.USER_DEBT: "debt",
}


class WalletOut(serializers.Serializer):
    balance = serializers.IntegerField(help_text="Credits you can spend now.")
    held = serializers.IntegerField(help_text="Credits set aside for running jobs.")
    debt = serializers.IntegerField(
        help_text="Credits spent from refunded or disputed payments, still owed; while it is "
        "above 0, generations answer 402 PAYMENT_REQUIRED."
    )


class TransactionOut(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField(
        help_text="purchase, grant, subscription_grant, subscription_expiry, capture, "
        "platform_fee, settlement, reserve_share, payout, payout_reversal, refund, "
        "payment_reversal, payment_restored, debt_payment, debt_write_off"
    )
    amount = serializers.IntegerField(help_text="Signed: + credits in, - credits out.")
    account = serializers.ChoiceField(choices=["wallet", "subscription", "earnings", "debt"])
    description = serializers.CharField()
    created_at = serializers.DateTimeField()

    def to_representation(self, instance):
        return {
            "id": instance.pk,
            "kind": instance.kind,
            "amount": int(instance.signed_amount),
            "account": _ACCOUNT_NAMES.get(instance.account_kind, "wallet"),
            "description": instance.description,
            "created_at": serializers.DateTimeField().to_representation(instance.created_at),
        }


class TransactionPageOut(serializers.Serializer):
    results = TransactionOut(many=True)
    next = serializers.URLField(allow_null=True)


class HistoryPagination(CursorPagination):
    ordering = "-id"


class WalletView(APIView):
    @extend_schema(responses={200: WalletOut}, tags=["credits"])
    def get(self, request):
        user = request.user
        return Response({**selectors.wallet_of(user), "debt": selectors.debt_of(user)})


class TransactionsView(APIView):
    pagination_class = HistoryPagination

    @extend_schema(responses={200: TransactionPageOut}, tags=["credits"])
    def get(self, request):
        paginator = HistoryPagination()
        page = paginator.paginate_queryset(selectors.history_of(request.user), request, view=self)
        return paginator.get_paginated_response(TransactionOut(page, many=True).data)
