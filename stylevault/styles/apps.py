from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class StylesConfig(AppConfig):
    name = "stylevault.styles"
    label = "styles"
    verbose_name = _("Styles")

    def ready(self) -> None:
        # In ready(): models and their signals need the app registry loaded.
        from django.db.models.signals import m2m_changed, post_delete, post_save

        from stylevault.styles.models import Style
        from stylevault.styles.search import listing_changed

        # Any change of a style may change what style listings show.
        post_save.connect(listing_changed, sender=Style, dispatch_uid="styles-listing-save")
        post_delete.connect(listing_changed, sender=Style, dispatch_uid="styles-listing-delete")
        m2m_changed.connect(listing_changed, sender=Style.tags.through, dispatch_uid="styles-tags")
