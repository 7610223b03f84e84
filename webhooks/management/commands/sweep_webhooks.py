"""Send again the webhook deliveries that are due: what Celery beat does every minute in a deployment."""

from datetime import timedelta

from django.core.management.base import BaseCommand

from webhooks.services import deliveries_sweep


class Command(BaseCommand):
    help = "Re-queue webhook deliveries whose task was lost, interrupted or is due for a retry (the beat task)."

    def handle(self, *args, **options):
        count = deliveries_sweep(grace=timedelta(0))  # run by hand: no task of their own to wait for
        self.stdout.write(f"{count} webhook delivery(ies) handed to the workers.")
