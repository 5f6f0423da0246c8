from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "stylevault.billing"
    label = "billing"
