"""PostgreSQL row-level security: the database's own wall between tenants, behind the scoped managers.

Every table with a ``tenant`` column has ``ENABLE`` and ``FORCE ROW LEVEL SECURITY`` and one policy,
``tenant_isolation_v2``, reading two transaction-local settings:

- ``tessera.scope``: ``tenant`` (one tenant's rows), ``platform`` (rows without a tenant, as
  ``scope(tenant=None)``), ``all`` (``scopes_disabled()``: the Django admin, sweepers, migrations, a
  user's own memberships), or anything else (nothing set): no rows at all;
- ``tessera.tenant_id``: the tenant's id in the ``tenant`` scope.

Many-to-many tables between tenant-owned models have a policy too: a row is seen, or written, only
with every row it links.

The settings are not set by hand: the database backend (``tenancy/postgresql/base.py``) sends, with
each statement, the values that mirror the django-scopes state of the code issuing it, so a request
or task in a tenant's scope (the middleware, ``tenancy.tasks``, the API authentication) reads and
writes that tenant's rows only, even through raw SQL. FORCE binds the tables' owner too; only a
superuser or a BYPASSRLS role escapes. The app connects as a role that owns nothing
(``grant_app_role``), so it cannot switch the policies off either; ``migrate`` runs as the owner,
with every row in scope (``tenancy/management/commands/migrate.py``). docs/operations.md says how to
set it up.
"""

import psycopg
from django.apps import apps
from django.db import DatabaseError, connections
from django_scopes import get_scope

SCOPE_SETTING = "tessera.scope"
TENANT_SETTING = "tessera.tenant_id"
POLICY_PREFIX = "tenant_isolation"
POLICY = f"{POLICY_PREFIX}_v2"  # a new condition gets a new name, so ensure_policies replaces the old one

# Each setting is read in a scalar subquery: evaluated once per statement (a server-side cursor keeps
# the scope it was opened in), and ``tenant_id = (…)`` can use the table's tenant index.
_TENANT_CONDITION = (
    f"tenant_id = (SELECT NULLIF(current_setting('{TENANT_SETTING}', true), '')::bigint)"
    f" OR (SELECT current_setting('{SCOPE_SETTING}', true)) = 'all'"
    f" OR (tenant_id IS NULL AND (SELECT current_setting('{SCOPE_SETTING}', true)) = 'platform')"
)


def wanted_settings() -> tuple[str, str]:
    """(scope, tenant id) the database should apply for the code running now."""
    current = get_scope()
    if not current.get("_enabled", True):
        return "all", ""
    if "tenant" not in current:
        return "none", ""
    tenant = current["tenant"]
    if tenant is None:
        return "platform", ""
    return "tenant", str(int(getattr(tenant, "pk", tenant)))


def settings_sql(wanted: tuple[str, str], *, local: bool) -> str:
    """One SELECT that applies ``wanted``; literals only (no parameters), so it can lead any statement."""
    scope, tenant_id = wanted
    assert scope.isalpha() and (tenant_id == "" or tenant_id.isdigit())
    is_local = "true" if local else "false"
    return (
        f"SELECT set_config('{SCOPE_SETTING}', '{scope}', {is_local}), "
        f"set_config('{TENANT_SETTING}', '{tenant_id}', {is_local})"
    )


def _has_tenant(model) -> bool:
    tenant_model = apps.get_model("tenancy", "Tenant")
    field = next((f for f in model._meta.concrete_fields if f.name == "tenant"), None)
    return field is not None and field.is_relation and field.related_model is tenant_model


def guarded_tables() -> dict[str, str]:
    """Each table the policies guard, with its condition.

    A table with a ``tenant`` column: the tenant condition. A many-to-many table Django makes
    between tenant-owned models (a discount code's sessions): a row is visible, and may be written,
    only when every tenant-owned row it links is (their own policies apply inside the EXISTS)."""
    tables = {}
    for model in apps.get_models(include_auto_created=True):
        if _has_tenant(model):
            tables[model._meta.db_table] = _TENANT_CONDITION
            continue
        links = [
            f
            for f in model._meta.concrete_fields
            if f.is_relation and f.related_model is not None and _has_tenant(f.related_model)
        ]
        if links and model._meta.auto_created:
            tables[model._meta.db_table] = " AND ".join(
                f'EXISTS (SELECT 1 FROM "{f.related_model._meta.db_table}" linked '
                f'WHERE linked."{f.target_field.column}" = "{f.column}")'
                for f in links
            )
    return dict(sorted(tables.items()))


def tenant_owned_tables() -> list[str]:
    """Tables of every installed model with a ``tenant`` foreign key to the tenant."""
    return sorted(model._meta.db_table for model in apps.get_models(include_auto_created=True) if _has_tenant(model))


def unguarded_links() -> list[str]:
    """Tables with no tenant column that point at a tenant-owned table and no policy covers
    (a many-to-many table declared with a model of its own, say): each one a hole in the wall."""
    guarded = guarded_tables()
    return sorted(
        model._meta.db_table
        for model in apps.get_models(include_auto_created=True)
        if model._meta.db_table not in guarded
        and any(
            f.is_relation and f.related_model is not None and _has_tenant(f.related_model)
            for f in model._meta.concrete_fields
        )
    )


def tables_missing_policy(using: str = "default") -> list[str]:
    """Guarded tables without row-level security enabled, forced, and the current policy."""
    tables = list(guarded_tables())
    with connections[using].cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND c.relname = ANY(%s) AND c.relrowsecurity "
            "AND c.relforcerowsecurity AND EXISTS "
            "(SELECT 1 FROM pg_policies p WHERE p.schemaname = n.nspname AND p.tablename = c.relname "
            "AND p.policyname = %s)",
            [tables, POLICY],
        )
        protected = {name for (name,) in cursor.fetchall()}
    return [table for table in tables if table not in protected]


def ensure_policies(using: str = "default") -> list[str]:
    """Give every guarded table its current policy (after ``migrate``); return the tables changed.

    Idempotent and cheap when nothing is missing, so the app role (which may not alter tables) can
    run it too, e.g. when the test runner flushes the database."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        return []
    missing = tables_missing_policy(using)
    conditions = guarded_tables()
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        for table in missing:
            cursor.execute(
                "SELECT policyname FROM pg_policies WHERE schemaname = current_schema() AND tablename = %s "
                "AND policyname LIKE %s",
                [table, f"{POLICY_PREFIX}%"],
            )
            for (old,) in cursor.fetchall():
                cursor.execute(f"DROP POLICY {quote(old)} ON {quote(table)}")
            cursor.execute(f"ALTER TABLE {quote(table)} ENABLE ROW LEVEL SECURITY")
            cursor.execute(f"ALTER TABLE {quote(table)} FORCE ROW LEVEL SECURITY")
            condition = conditions[table]
            cursor.execute(f"CREATE POLICY {POLICY} ON {quote(table)} USING ({condition}) WITH CHECK ({condition})")
    return missing


def grant_app_role(role: str, using: str = "default") -> None:
    """Create (if need be) the login role the app connects as, and grant it the rows, not the schema.

    Run as the tables' owner. The role gets no superuser, no BYPASSRLS and owns nothing, so the
    policies bind it; default privileges cover the tables later migrations create. It gets no
    TRUNCATE (which ignores row-level security) and may draw from sequences but not reset them."""
    connection = connections[using]
    quote = connection.ops.quote_name
    name = quote(role)
    with connection.cursor() as cursor:
        if not _role_exists(cursor, role):
            try:
                cursor.execute(f"CREATE ROLE {name} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE")
            except DatabaseError as exc:  # made meanwhile by another migrate or test run on the same server
                if not isinstance(exc.__cause__, psycopg.errors.DuplicateObject | psycopg.errors.UniqueViolation):
                    raise
        cursor.execute("SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = %s", [role])
        if cursor.fetchone()[0]:
            raise ValueError(f"Role {role} is a superuser or bypasses row-level security: pick another role.")
        cursor.execute(f"GRANT CONNECT, TEMPORARY ON DATABASE {quote(connection.settings_dict['NAME'])} TO {name}")
        cursor.execute(f"GRANT USAGE ON SCHEMA public TO {name}")
        rows, counters = "SELECT, INSERT, UPDATE, DELETE", "USAGE, SELECT"
        cursor.execute(f"GRANT {rows} ON ALL TABLES IN SCHEMA public TO {name}")
        cursor.execute(f"GRANT {counters} ON ALL SEQUENCES IN SCHEMA public TO {name}")
        cursor.execute(f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT {rows} ON TABLES TO {name}")
        cursor.execute(f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT {counters} ON SEQUENCES TO {name}")


def _role_exists(cursor, role: str) -> bool:
    cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
    return cursor.fetchone() is not None


def connected_role_bypasses(using: str = "default") -> bool:
    """True when the connection's role is a superuser, has BYPASSRLS, or owns a tenant-owned table:
    then the policies do not bind it (a deployment check warns)."""
    with connections[using].cursor() as cursor:
        cursor.execute(
            "SELECT r.rolsuper OR r.rolbypassrls OR EXISTS (SELECT 1 FROM pg_class c "
            "WHERE c.relowner = r.oid AND c.relname = ANY(%s)) FROM pg_roles r WHERE r.rolname = current_user",
            [list(guarded_tables())],
        )
        return bool(cursor.fetchone()[0])
