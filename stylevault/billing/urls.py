from django.urls import path

from stylevault.billing import api

app_name = "billing-api"

urlpatterns = [
    path("credit-packs", api.CreditPacksView.as_view()),
    path("checkout", api.CheckoutView.as_view()),
    path("webhooks/stripe", api.StripeWebhookView.as_view()),
    path("webhooks/lemonsqueezy", api.LemonSqueezyWebhookView.as_view()),
    path("webhooks/toss", api.TossWebhookView.as_view()),
    path("payments/toss/success", api.TossSuccessView.as_view(), name="toss-success"),
    path("subscription", api.SubscriptionView.as_view()),
    path("subscription/tiers", api.TiersView.as_view()),
    path("subscription/checkout", api.SubscriptionCheckoutView.as_view()),
    path("subscription/change", api.SubscriptionChangeView.as_view()),
    path("subscription/cancel", api.SubscriptionCancelView.as_view()),
    path("earnings", api.EarningsView.as_view()),
    path("earnings/payouts", api.PayoutsView.as_view()),
]
