"""Create or refresh the demo workspaces; safe to run any number of times."""

from importlib import import_module
from importlib.util import find_spec

from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction

from tenancy.demo import Demo
from tenancy.scoping import scopes_disabled


class Command(BaseCommand):
    help = "Create or refresh the demo workspaces, logins and sample data (idempotent)."

    def handle(self, *args, **options):
        demo = Demo()
        # Seeding writes into several tenants at once: an explicit platform operation.
        with transaction.atomic(), scopes_disabled():
            for config in apps.get_app_configs():
                if find_spec(f"{config.name}.demo") is not None:
                    import_module(f"{config.name}.demo").seed(demo)
        base = settings.SITE_URL.rstrip("/")
        self.stdout.write(self.style.SUCCESS("Demo data is ready."))
        self.stdout.write(f"Open {base}/ and sign in as:")
        for role, email, password in demo.logins:
            self.stdout.write(f"  {role:<38} {email}  /  {password}")
        for note in demo.notes:
            self.stdout.write(f"Also: {note}")
