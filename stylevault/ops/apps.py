from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "stylevault.ops"
    label = "ops"
