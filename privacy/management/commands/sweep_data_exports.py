"""Delete data-export archives older than a day: what Celery beat does in a deployment."""

from django.core.management.base import BaseCommand

from privacy.services import data_exports_sweep


class Command(BaseCommand):
    help = "Delete data-export archives past their 24 hours and give up exports a lost task left."

    def handle(self, *args, **options):
        count = data_exports_sweep()
        self.stdout.write(f"{count} export archive(s) deleted or given up.")
