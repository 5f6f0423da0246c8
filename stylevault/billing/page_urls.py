"""Billing pages, included by the root URLconf under i18n_patterns (/en/..., /ko/...)."""

from django.urls import path

from stylevault.billing import views

app_name = "billing"

urlpatterns = [
    path("wallet/", views.wallet, name="wallet"),
    path("credits/buy/", views.buy, name="buy"),
    path("checkout/<uuid:checkout_id>/", views.checkout, name="checkout"),
    path("checkout/<uuid:checkout_id>/dev/", views.dev_checkout, name="dev-checkout"),
    path("receipts/<uuid:checkout_id>/", views.receipt, name="receipt"),
    path("subscription/", views.subscription, name="subscription"),
    path("earnings/", views.earnings, name="earnings"),
]
