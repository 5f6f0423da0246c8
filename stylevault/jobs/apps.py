from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class JobsConfig(AppConfig):
    name = "stylevault.jobs"
    label = "jobs"
    verbose_name = _("Jobs")

    def ready(self) -> None:
        # Every process (web and workers) learns every job kind and its hooks: an app
        # declares its handlers in its tasks.py, which must import heavy libraries lazily.
        from django.utils.module_loading import autodiscover_modules

        # In ready(): models and their signals need the app registry loaded.
        from stylevault.jobs import metrics

        autodiscover_modules("tasks")
        metrics.install()
