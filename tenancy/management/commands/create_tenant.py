"""Create a workspace and its first owner from the command line (platform operators)."""

from getpass import getpass

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts.models import User
from tenancy.models import Membership, Role, Tenant
from tenancy.scoping import scopes_disabled


class Command(BaseCommand):
    help = "Create a workspace (tenant) with an owner. The owner's password is asked for if the account is new."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("name")
        parser.add_argument("owner_email")
        parser.add_argument("--time-zone", default="UTC")
        parser.add_argument("--currency", default="EUR")
        parser.add_argument("--password", help="Password for a new owner account (asked for when omitted).")

    def handle(self, slug, name, owner_email, time_zone, currency, password, **options):
        tenant = Tenant(slug=slug, name=name, time_zone=time_zone, currency=currency)
        try:
            tenant.full_clean()
        except ValidationError as exc:
            raise CommandError("; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())) from None
        with transaction.atomic(), scopes_disabled():
            tenant.save()
            owner = User.objects.find_by_email(owner_email)
            if owner is None:
                if not password:
                    password = getpass(f"Password for {owner_email}: ")
                owner = User.objects.create_user(owner_email, password)
            Membership.objects.create(tenant=tenant, user=owner, role=Role.OWNER)
        self.stdout.write(self.style.SUCCESS(f"Workspace {name} created at /t/{slug}/ with owner {owner.email}."))
