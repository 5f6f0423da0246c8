from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CampaignsConfig(AppConfig):
    name = "stylevault.campaigns"
    label = "campaigns"
    verbose_name = _("Campaign studio")

    def ready(self) -> None:
        from stylevault.campaigns import checks, services  # noqa: F401  (check, signal receiver)
