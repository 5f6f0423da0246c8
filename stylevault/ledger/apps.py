from django.apps import AppConfig


class LedgerConfig(AppConfig):
    name = "stylevault.ledger"
    label = "ledger"
