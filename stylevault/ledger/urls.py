from django.urls import path

from stylevault.ledger import api

urlpatterns = [
    path("wallet", api.WalletView.as_view()),
    path("wallet/transactions", api.TransactionsView.as_view()),
]
