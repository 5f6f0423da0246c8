from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PhotosConfig(AppConfig):
    name = "stylevault.photos"
    label = "photos"
    verbose_name = _("Photo studio")

    def ready(self) -> None:
        from django.contrib.auth import get_user_model
        from django.db.models.signals import pre_delete

        from stylevault.photos import services

        # With the account go its photos: files first, and a provenance event for each.
        pre_delete.connect(
            services.purge_on_account_deletion, sender=get_user_model(), dispatch_uid="photos"
        )
