"""Transaction-scoped advisory locks: serialise work on something that has no row to lock yet
(one person's place in one session, one learner's access to one course)."""

from django.db import connection


def advisory_xact_lock(name: str) -> None:
    """Hold a PostgreSQL advisory lock named ``name`` until the transaction ends; none on SQLite."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [name])
