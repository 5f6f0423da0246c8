from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ProvenanceConfig(AppConfig):
    name = "stylevault.provenance"
    label = "provenance"
    verbose_name = _("Provenance")

    def ready(self) -> None:
        from stylevault.provenance import checks  # noqa: F401  (registers the system check)
