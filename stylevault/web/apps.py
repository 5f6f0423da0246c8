from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "stylevault.web"
    label = "web"
