"""Django's ``migrate``, with every tenant's rows in scope.

Row-level security binds the tables' owner too (FORCE), unless it is a superuser: without this, a
data migration run by an owner that is not a superuser would see no rows and change nothing.
"""

from django.core.management.commands import migrate

from tenancy.scoping import scopes_disabled


class Command(migrate.Command):
    def handle(self, *args, **options):
        with scopes_disabled():
            return super().handle(*args, **options)
