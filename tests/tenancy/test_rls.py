"""PostgreSQL row-level security (tenancy/rls.py): the database refuses other tenants' rows even to
raw SQL, whatever the application forgets. The suite connects as the app role (tests/conftest.py)."""

import pytest
from django.apps import apps
from django.db import DatabaseError, connection, transaction

from contracts.models import Organisation
from messaging.models import OutboundEmail
from tenancy import rls
from tenancy.models import TenantOwned
from tenancy.scoping import isolated_scope, scopes_disabled
from tests.conftest import APP_ROLE, OWNER_ROLE, owner_connection
from tests.factories import OrganisationFactory, TenantFactory

needs_app_role = pytest.mark.skipif(not APP_ROLE, reason="the suite runs as the owner (TEST_APP_DB_ROLE is empty)")


def raw(sql: str, params=()) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall() if cursor.description else []


def count(table: str) -> int:
    return raw(f"SELECT count(*) FROM {table}")[0][0]


@pytest.fixture
def two_tenants(db):
    first, second = TenantFactory(slug="first"), TenantFactory(slug="second")
    OrganisationFactory(tenant=first, name="First's client")
    OrganisationFactory(tenant=second, name="Second's client")
    OrganisationFactory(tenant=second, name="Second's other client")
    return first, second


def test_every_tenant_owned_model_and_every_table_linking_them_has_its_policy(db):
    tenant_owned = sorted(
        model._meta.db_table
        for model in apps.get_models()
        if issubclass(model, TenantOwned) and not model._meta.proxy and model._meta.managed
    )
    assert tenant_owned, "no tenant-owned models found"
    assert set(tenant_owned) <= set(rls.guarded_tables())
    # Many-to-many tables between tenant-owned models have no tenant column, and are guarded too.
    assert {"sessions_roster_discountcode_sessions", "packages_credits_clientpackage_services"} <= set(
        rls.guarded_tables()
    )
    assert rls.unguarded_links() == []
    assert rls.tables_missing_policy() == []


def test_migrate_runs_with_every_row_in_scope(monkeypatch):
    """FORCE binds an owner that is not a superuser: a data migration must still see every row."""
    from django.core.management import call_command
    from django.core.management.commands import migrate

    seen = []
    monkeypatch.setattr(migrate.Command, "handle", lambda self, *args, **options: seen.append(rls.wanted_settings()))
    with isolated_scope():
        call_command("migrate", verbosity=0)
    assert seen == [("all", "")]


@needs_app_role
def test_the_suite_connects_as_a_role_the_policies_bind(db):
    assert raw("SELECT current_user")[0][0] == APP_ROLE
    assert rls.connected_role_bypasses() is False
    with pytest.raises(DatabaseError, match="must be owner"), transaction.atomic():
        raw("ALTER TABLE contracts_organisation DISABLE ROW LEVEL SECURITY")


@needs_app_role
def test_raw_sql_with_no_tenant_set_sees_zero_rows(two_tenants):
    assert count("contracts_organisation") == 3  # the test body's scopes_disabled(): every row
    with isolated_scope():
        assert count("contracts_organisation") == 0
        assert raw("SELECT name FROM contracts_organisation WHERE name LIKE 'Second%%'") == []
        assert count("invitations_invitationcode") == 0


@needs_app_role
def test_raw_sql_in_a_tenant_scope_sees_and_changes_only_that_tenants_rows(two_tenants):
    first, second = two_tenants
    with isolated_scope(tenant=first):
        assert raw("SELECT name FROM contracts_organisation") == [("First's client",)]
        with connection.cursor() as cursor:
            cursor.execute("UPDATE contracts_organisation SET name = 'renamed'")
            assert cursor.rowcount == 1
            cursor.execute("DELETE FROM contracts_organisation WHERE tenant_id = %s", [second.pk])
            assert cursor.rowcount == 0
    with isolated_scope(tenant=second):
        assert count("contracts_organisation") == 2
    assert sorted(Organisation.objects.values_list("name", flat=True)) == [
        "Second's client",
        "Second's other client",
        "renamed",
    ]


@needs_app_role
def test_a_row_for_another_tenant_cannot_be_written_from_a_tenant_scope(two_tenants):
    first, second = two_tenants
    with isolated_scope(tenant=first), pytest.raises(DatabaseError, match="row-level security"):
        with transaction.atomic():
            Organisation.objects.create(tenant=second, name="Planted")
    with isolated_scope(tenant=first), pytest.raises(DatabaseError, match="row-level security"):
        with transaction.atomic():
            raw("UPDATE contracts_organisation SET tenant_id = %s", [second.pk])
    assert Organisation.objects.filter(name="Planted").count() == 0


@needs_app_role
def test_a_link_between_two_tenants_rows_is_refused_and_links_follow_their_rows(two_tenants):
    from sessions_roster.models import DiscountCode
    from tests.factories import SessionFactory

    first, second = two_tenants
    discount = DiscountCode.objects.create(tenant=first, code="TENOFF", value=10)
    own, foreign = SessionFactory(tenant=first), SessionFactory(tenant=second)
    with isolated_scope(tenant=first):
        discount.sessions.add(own)
        with pytest.raises(DatabaseError, match="row-level security"), transaction.atomic():
            raw(
                "INSERT INTO sessions_roster_discountcode_sessions (discountcode_id, session_id) VALUES (%s, %s)",
                [discount.pk, foreign.pk],
            )
        assert count("sessions_roster_discountcode_sessions") == 1
    with isolated_scope(tenant=second):
        assert count("sessions_roster_discountcode_sessions") == 0
    with isolated_scope():
        assert count("sessions_roster_discountcode_sessions") == 0


@needs_app_role
def test_a_server_side_cursor_keeps_the_scope_it_was_opened_in(two_tenants):
    """Inside a transaction the cursor fetches in chunks while the loop enters each row's own scope."""
    names = []
    with transaction.atomic():
        for organisation in Organisation.objects.select_related("tenant").order_by("pk").iterator(chunk_size=1):
            with isolated_scope(tenant=organisation.tenant):
                names.append(Organisation.objects.get(pk=organisation.pk).name)
    assert len(names) == 3


@needs_app_role
def test_copy_to_reads_through_the_scope(two_tenants):
    first, second = two_tenants
    with transaction.atomic():
        with isolated_scope(tenant=first):
            count("contracts_organisation")  # this transaction applied first's settings
        with isolated_scope(tenant=second), connection.cursor() as cursor:
            with cursor.copy("COPY (SELECT name FROM contracts_organisation ORDER BY name) TO STDOUT") as copy:
                rows = [bytes(row).decode() for row in copy]
    assert "".join(rows) == "Second's client\nSecond's other client\n"


@needs_app_role
@pytest.mark.django_db(transaction=True)
def test_the_app_role_may_not_truncate_which_ignores_the_policies():
    with scopes_disabled():
        first, second = TenantFactory(slug="first"), TenantFactory(slug="second")
        OrganisationFactory(tenant=second)
    with owner_connection() as owner:  # the suite grants TRUNCATE for its own flushes: take it back here
        owner.execute(f"REVOKE TRUNCATE ON contracts_organisation FROM {APP_ROLE}")
        try:
            with isolated_scope(tenant=first), pytest.raises(DatabaseError, match="permission denied"):
                raw("TRUNCATE contracts_organisation CASCADE")
        finally:
            owner.execute(f"GRANT TRUNCATE ON contracts_organisation TO {APP_ROLE}")
    with scopes_disabled():
        assert Organisation.objects.filter(tenant=second).count() == 1


@needs_app_role
def test_the_platform_scope_sees_only_rows_without_a_tenant(two_tenants):
    first, _ = two_tenants
    OutboundEmail.objects.create(
        tenant=None,
        to_email="someone@example.com",
        subject="Reset",
        body_text="b",
        template_key="k",
        idempotency_key="a",
    )
    OutboundEmail.objects.create(
        tenant=first, to_email="client@example.com", subject="Hi", body_text="b", template_key="k", idempotency_key="b"
    )
    with isolated_scope(tenant=None):
        assert raw("SELECT subject FROM messaging_outboundemail") == [("Reset",)]
        assert count("contracts_organisation") == 0


@needs_app_role
@pytest.mark.django_db(transaction=True)
def test_autocommit_statements_server_cursors_and_executemany_carry_the_scope():
    """Outside a transaction each statement is its own: the setting goes with it and is gone after."""
    with scopes_disabled():
        first, second = TenantFactory(slug="first"), TenantFactory(slug="second")
        OrganisationFactory.create_batch(3, tenant=first)
        OrganisationFactory.create_batch(2, tenant=second)
    assert connection.get_autocommit()
    with isolated_scope(tenant=first):
        assert count("contracts_organisation") == 3
        assert Organisation.objects.count() == 3
        assert len(list(Organisation.objects.iterator(chunk_size=2))) == 3  # a server-side cursor
        with connection.cursor() as cursor:
            cursor.executemany(
                "UPDATE contracts_organisation SET name = name || %s WHERE tenant_id = %s",
                [("!", first.pk), ("!", second.pk)],
            )
    with isolated_scope():
        assert count("contracts_organisation") == 0
        [(scope, tenant_id)] = raw(
            "SELECT current_setting('tessera.scope', true), current_setting('tessera.tenant_id', true)"
        )
        assert scope in ("", None, "none") and tenant_id in ("", None)  # nothing left on the session
    with scopes_disabled():
        assert Organisation.objects.filter(name__endswith="!").count() == 3
        assert count("contracts_organisation") == 5


@needs_app_role
def test_a_request_reads_only_its_workspace_even_through_the_database(two_tenants, client):
    """The middleware's scope reaches the database: a staff page of one workspace, served while the
    other's rows sit in the same tables, lists its own client only."""
    first, _ = two_tenants
    from tenancy.models import Role
    from tests.conftest import member, signed_in

    response = signed_in(member(first, Role.OWNER)).get(f"/t/{first.slug}/contracts/")
    assert response.status_code == 200
    assert b"First&#x27;s client" in response.content
    assert b"Second" not in response.content


@needs_app_role
@pytest.mark.django_db(transaction=True)
def test_the_deployment_check_and_the_meta_test_notice_a_table_left_unforced():
    from django.core import checks

    def warnings():
        found = checks.run_checks(tags=[checks.Tags.database], include_deployment_checks=True, databases=["default"])
        return [w.id for w in found if w.id.startswith("tenancy.")]

    assert warnings() == []
    with owner_connection() as owner:
        owner.execute("ALTER TABLE contracts_organisation NO FORCE ROW LEVEL SECURITY")
        try:
            assert rls.tables_missing_policy() == ["contracts_organisation"]
            assert warnings() == ["tenancy.W001"]
        finally:
            owner.execute("ALTER TABLE contracts_organisation FORCE ROW LEVEL SECURITY")
    assert rls.tables_missing_policy() == []


def test_the_app_role_is_never_a_role_that_bypasses_the_policies(db):
    with pytest.raises(ValueError, match="superuser or bypasses"):
        rls.grant_app_role(OWNER_ROLE)
