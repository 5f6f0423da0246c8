"""`stylevault demo`: the demo accounts and a trained, published demo style. Idempotent."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from stylevault.jobs import runner, services
from stylevault.styles import demo
from stylevault.styles.models import StyleStatus


class Command(BaseCommand):
    help = "Create the demo artist, buyer and operator and train and publish the three demo styles."

    def add_arguments(self, parser):
        parser.add_argument(
            "--no-wait",
            action="store_true",
            help="Queue the training for the workers instead of running it here.",
        )

    def handle(self, *args, no_wait: bool = False, **options):
        artist, buyer, operator = demo.ensure_people()
        made = demo.ensure_styles(artist)
        if not no_wait:
            made = [self._train_here(style) for style in made]
        listed = ", ".join(f"#{style.pk} '{style.name}' is {style.status}" for style in made)
        self.stdout.write(
            f"Demo ready: users {artist.username}, {buyer.username}, {operator.username} "
            f"(password from STYLEVAULT_DEMO_PASSWORD, default '{demo.demo_password()}'); "
            f"styles {listed}."
        )

    def _train_here(self, style):

        waiting = (StyleStatus.QUEUED, StyleStatus.TRAINING, StyleStatus.CHECKING)
        while style.status in waiting:
            job = services.claim(queues=["training"], worker="demo")
            if job is None:
                break  # a worker elsewhere holds it; it will finish there
            self.stdout.write(f"running {job.kind} (job {job.pk})…")
            runner.execute(job)
            style.refresh_from_db()
        if style.status == StyleStatus.FAILED:
            raise CommandError(f"the demo style failed: {style.error}")
        return style
