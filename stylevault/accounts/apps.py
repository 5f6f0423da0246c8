from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "stylevault.accounts"
    label = "accounts"
    verbose_name = _("Accounts")

    def ready(self) -> None:
        # In ready(): models and their signals need the app registry loaded.
        from django.db.models.signals import post_delete, post_save

        from stylevault.accounts import schema  # noqa: F401  (registers the OpenAPI extension)
        from stylevault.accounts.models import ApiToken, User
        from stylevault.accounts.selectors import tokens_changed

        for model in (User, ApiToken):
            for signal in (post_save, post_delete):
                signal.connect(
                    tokens_changed, sender=model, dispatch_uid=f"tokens-{model.__name__}"
                )
