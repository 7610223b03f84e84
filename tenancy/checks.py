"""``manage.py check --deploy --database default``: is row-level security in force for the app?"""

from django.core import checks
from django.db import connections


@checks.register(checks.Tags.database, deploy=True)
def row_level_security(app_configs=None, databases=None, **kwargs):
    from . import rls

    problems = []
    for alias in databases or []:
        if connections[alias].vendor != "postgresql":
            continue
        missing = rls.tables_missing_policy(alias)
        if missing:
            problems.append(
                checks.Warning(
                    f"{len(missing)} tenant-owned tables have no row-level security, e.g. {missing[0]}.",
                    hint="Run manage.py migrate as the tables' owner.",
                    id="tenancy.W001",
                )
            )
        if rls.connected_role_bypasses(alias):
            problems.append(
                checks.Warning(
                    "The app connects to the database as a superuser, a role with BYPASSRLS, or the tables' owner: "
                    "row-level security does not bind it.",
                    hint="Connect as the role made by manage.py grant_app_role (docs/operations.md).",
                    id="tenancy.W002",
                )
            )
    return problems
