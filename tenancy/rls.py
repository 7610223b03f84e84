"""PostgreSQL row-level security: the database's own wall between tenants, behind the scoped managers.

Every table with a ``tenant`` column has ``ENABLE`` and ``FORCE ROW LEVEL SECURITY`` and one policy,
``tenant_isolation``, reading two transaction-local settings:

- ``tessera.scope``: ``tenant`` (one tenant's rows), ``platform`` (rows without a tenant, as
  ``scope(tenant=None)``), ``all`` (``scopes_disabled()``: the Django admin, sweepers, a user's own
  memberships), or anything else (nothing set): no rows at all;
- ``tessera.tenant_id``: the tenant's id in the ``tenant`` scope.

The settings are not set by hand: the database backend (``tenancy/postgresql/base.py``) sends, with
each statement, the values that mirror the django-scopes state of the code issuing it, so a request
or task in a tenant's scope (the middleware, ``tenancy.tasks``, the API authentication) reads and
writes that tenant's rows only, even through raw SQL. The policy binds only a role that is neither
the tables' owner nor a superuser: the app connects as such a role (``grant_app_role``); migrations
run as the owner. docs/operations.md says how to set it up.
"""

from django.apps import apps
from django.db import DatabaseError, connections
from django_scopes import get_scope

SCOPE_SETTING = "tessera.scope"
TENANT_SETTING = "tessera.tenant_id"
POLICY = "tenant_isolation"

_POLICY_CONDITION = (
    f"tenant_id = NULLIF(current_setting('{TENANT_SETTING}', true), '')::bigint"
    f" OR current_setting('{SCOPE_SETTING}', true) = 'all'"
    f" OR (tenant_id IS NULL AND current_setting('{SCOPE_SETTING}', true) = 'platform')"
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


def tenant_owned_tables() -> list[str]:
    """Tables of every installed model with a ``tenant`` foreign key to the tenant."""
    tenant_model = apps.get_model("tenancy", "Tenant")
    tables = set()
    for model in apps.get_models(include_auto_created=True):
        field = next((f for f in model._meta.concrete_fields if f.name == "tenant"), None)
        if field is not None and field.is_relation and field.related_model is tenant_model:
            tables.add(model._meta.db_table)
    return sorted(tables)


def tables_missing_policy(using: str = "default") -> list[str]:
    """Tenant-owned tables without row-level security enabled, forced, and the tenant policy."""
    tables = tenant_owned_tables()
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
    """Give every tenant-owned table its policy (after ``migrate``); return the tables changed.

    Idempotent and cheap when nothing is missing, so the app role (which may not alter tables) can
    run it too, e.g. when the test runner flushes the database."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        return []
    missing = tables_missing_policy(using)
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        for table in missing:
            cursor.execute(f"ALTER TABLE {quote(table)} ENABLE ROW LEVEL SECURITY")
            cursor.execute(f"ALTER TABLE {quote(table)} FORCE ROW LEVEL SECURITY")
            cursor.execute(f"DROP POLICY IF EXISTS {POLICY} ON {quote(table)}")
            cursor.execute(
                f"CREATE POLICY {POLICY} ON {quote(table)} USING ({_POLICY_CONDITION}) WITH CHECK ({_POLICY_CONDITION})"
            )
    return missing


def grant_app_role(role: str, using: str = "default") -> None:
    """Create (if need be) the login role the app connects as, and grant it the data, not the schema.

    Run as the tables' owner. The role gets no superuser, no BYPASSRLS and owns nothing, so the
    policies bind it; default privileges cover the tables later migrations create."""
    connection = connections[using]
    quote = connection.ops.quote_name
    name = quote(role)
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = %s", [role])
        found = cursor.fetchone()
        if found is None:
            try:
                cursor.execute(f"CREATE ROLE {name} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE")
            except DatabaseError:  # made meanwhile by another migrate or test run on the same server
                if not connection.get_autocommit():
                    raise
        elif any(found):
            raise ValueError(f"Role {role} is a superuser or bypasses row-level security: pick another role.")
        cursor.execute(f"GRANT CONNECT, TEMPORARY ON DATABASE {quote(connection.settings_dict['NAME'])} TO {name}")
        cursor.execute(f"GRANT USAGE ON SCHEMA public TO {name}")
        data, counters = "SELECT, INSERT, UPDATE, DELETE, TRUNCATE", "USAGE, SELECT, UPDATE"
        cursor.execute(f"GRANT {data} ON ALL TABLES IN SCHEMA public TO {name}")
        cursor.execute(f"GRANT {counters} ON ALL SEQUENCES IN SCHEMA public TO {name}")
        cursor.execute(f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT {data} ON TABLES TO {name}")
        cursor.execute(f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT {counters} ON SEQUENCES TO {name}")


def connected_role_bypasses(using: str = "default") -> bool:
    """True when the connection's role is a superuser, has BYPASSRLS, or owns a tenant-owned table:
    then the policies do not bind it (a deployment check warns)."""
    with connections[using].cursor() as cursor:
        cursor.execute(
            "SELECT r.rolsuper OR r.rolbypassrls OR EXISTS (SELECT 1 FROM pg_class c "
            "WHERE c.relowner = r.oid AND c.relname = ANY(%s)) FROM pg_roles r WHERE r.rolname = current_user",
            [tenant_owned_tables()],
        )
        return bool(cursor.fetchone()[0])
