from django.apps import AppConfig


class MailConfig(AppConfig):
    name = "stylevault.mail"
    label = "mail"
