from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "stylevault.billing"
    label = "billing"

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from stylevault.billing.models import Subscription, subscriptions_updated
        from stylevault.billing.selectors import subscriptions_changed

        for signal in (post_save, post_delete):
            signal.connect(subscriptions_changed, sender=Subscription, dispatch_uid="plans")
        subscriptions_updated.connect(subscriptions_changed, dispatch_uid="plans-bulk")
