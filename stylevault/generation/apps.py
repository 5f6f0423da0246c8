from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class GenerationConfig(AppConfig):
    name = "stylevault.generation"
    label = "generation"
    verbose_name = _("Generation")

    def ready(self) -> None:
        # Imported here: models and selectors need the app registry ready.
        from stylevault.generation.selectors import public_image_hashes
        from stylevault.styles.checks import register_published_hashes

        register_published_hashes(public_image_hashes)
