"""Send again the emails that are due: what Celery beat does every minute in a deployment."""

from django.core.management.base import BaseCommand

from messaging.services import outbox_sweep


class Command(BaseCommand):
    help = "Re-queue emails whose sending was lost, interrupted or is due for a retry (the beat task)."

    def handle(self, *args, **options):
        count = outbox_sweep()
        self.stdout.write(f"{count} email(s) handed to the workers.")
