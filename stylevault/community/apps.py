from django.apps import AppConfig
from django.db import connections
from django.db.models.signals import post_delete, post_migrate, post_save
from django.utils.translation import gettext_lazy as _


def _heal_style_search_index(using: str, **kwargs) -> None:
    """SQLite drops triggers when a migration rebuilds their table: put the style search
    triggers back (and re-index) after every migrate."""
    connection = connections[using]
    if (
        connection.vendor != "sqlite"
        or "styles_style" not in connection.introspection.table_names()
    ):
        return
    # In ready(): models and their signals need the app registry loaded.
    from stylevault.styles.search import install_sqlite_index

    with connection.cursor() as cursor:
        install_sqlite_index(cursor)


class CommunityConfig(AppConfig):
    name = "stylevault.community"
    label = "community"
    verbose_name = _("Community")

    def ready(self) -> None:
        # Style search is issue 8's, like the rest of this app; the styles app stays unaware.
        post_migrate.connect(_heal_style_search_index, sender=self)

        # In ready(): models and their signals need the app registry loaded.
        from stylevault.community import services
        from stylevault.generation.models import Image

        post_save.connect(services.image_saved, sender=Image, dispatch_uid="feed-image-save")
        post_delete.connect(services.image_deleted, sender=Image, dispatch_uid="feed-image-delete")
