from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class StylesConfig(AppConfig):
    name = "stylevault.styles"
    label = "styles"
    verbose_name = _("Styles")
