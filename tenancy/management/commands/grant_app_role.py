"""``manage.py grant_app_role ROLE``: the database role the app connects as (docs/operations.md)."""

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from tenancy import rls


class Command(BaseCommand):
    help = (
        "Run as the tables' owner (the role that runs migrate): create the login role the app connects as, "
        "if missing, and grant it the data of every table, now and after later migrations. Row-level security "
        "binds that role. Set its password yourself (ALTER ROLE … PASSWORD)."
    )

    def add_arguments(self, parser):
        parser.add_argument("role", help="Name of the role, e.g. tessera_app.")

    def handle(self, role, **options):
        if connection.vendor != "postgresql":
            raise CommandError("Row-level security and app roles are PostgreSQL's; this database is not.")
        try:
            rls.grant_app_role(role)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        missing = rls.tables_missing_policy()
        if missing:
            raise CommandError(f"Run migrate first: these tables have no row-level security yet: {', '.join(missing)}")
        self.stdout.write(f"Role {role} may now read and write the data; connect the app as {role}.")
