import os

import psycopg
import pytest
from django.conf import settings
from django.db import connections
from django.test import Client as HttpClient

from tenancy.models import Role
from tenancy.scoping import scopes_disabled

from .factories import DEFAULT_PASSWORD, MembershipFactory, TenantFactory, UserFactory


def pytest_sessionstart(session):
    """Fail fast, in one line, when the PostgreSQL the suite needs is not there."""
    db = settings.DATABASES["default"]
    if "postgresql" not in db["ENGINE"]:
        pytest.exit("The tests run on PostgreSQL: set DATABASE_URL=postgres://… (see README).", returncode=2)
    try:
        psycopg.connect(
            host=db.get("HOST") or None,
            port=db.get("PORT") or None,
            user=db.get("USER") or None,
            password=db.get("PASSWORD") or None,
            dbname="postgres",
            connect_timeout=3,
        ).close()
    except psycopg.OperationalError as exc:
        where = f"{db.get('HOST') or 'local socket'}:{db.get('PORT') or 5432}"
        pytest.exit(
            f"PostgreSQL is not answering at {where} ({str(exc).strip().splitlines()[0]}). "
            "Start one, e.g. `docker compose up -d db redis`, or point DATABASE_URL at one.",
            returncode=2,
        )


# The role the suite's code connects as once the owner has made the test database: neither owner nor
# superuser, so PostgreSQL's row-level security binds every query the app and the tests make.
# TEST_APP_DB_ROLE= (empty) runs the suite as the owner instead.
APP_ROLE = os.environ.get("TEST_APP_DB_ROLE", "tessera_app")
OWNER_ROLE = settings.DATABASES["default"]["USER"]


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    if not APP_ROLE:
        yield
        return
    from tenancy import rls

    db = connections["default"]
    owner = db.settings_dict["USER"]
    with django_db_blocker.unblock():
        rls.grant_app_role(APP_ROLE)
        with db.cursor() as cursor:  # what the test runner's flush and sequence resets need, and the app does not
            cursor.execute(f"GRANT TRUNCATE ON ALL TABLES IN SCHEMA public TO {APP_ROLE}")
            cursor.execute(f"GRANT UPDATE ON ALL SEQUENCES IN SCHEMA public TO {APP_ROLE}")
        db.close()
    db.settings_dict["USER"] = APP_ROLE
    try:
        yield
    finally:
        with django_db_blocker.unblock():
            db.close()
        db.settings_dict["USER"] = owner  # the owner drops the test database


def owner_connection() -> psycopg.Connection:
    """A connection to the test database as the tables' owner, for what the app role may not do
    (altering a table). Its statements commit at once: use it in transactional tests and undo."""
    db = connections["default"].settings_dict
    return psycopg.connect(
        host=db["HOST"] or None,
        port=db["PORT"] or None,
        user=OWNER_ROLE,
        password=db.get("PASSWORD") or None,
        dbname=db["NAME"],
        autocommit=True,
    )


@pytest.fixture(autouse=True)
def _test_body_crosses_tenants():
    """Test bodies set up and inspect rows of several tenants. Requests never inherit this: the
    middleware starts each one from a fresh scope (tests/tenancy/test_scoping.py proves it)."""
    with scopes_disabled():
        yield


@pytest.fixture
def tenant(db):
    return TenantFactory(name="Acme Training", slug="acme")


@pytest.fixture
def other_tenant(db):
    return TenantFactory(name="Globex Studio", slug="globex")


def member(tenant, role, **user_fields):
    return MembershipFactory(tenant=tenant, role=role, user=UserFactory(**user_fields)).user


@pytest.fixture
def owner(tenant):
    return member(tenant, Role.OWNER, email="owner@acme.example", first_name="Olga", last_name="Owner")


@pytest.fixture
def admin(tenant):
    return member(tenant, Role.ADMIN, email="admin@acme.example", first_name="Adam", last_name="Admin")


@pytest.fixture
def staff(tenant):
    return member(tenant, Role.STAFF, email="staff@acme.example", first_name="Stan", last_name="Staff")


def signed_in(user) -> HttpClient:
    client = HttpClient()
    client.force_login(user)
    return client


@pytest.fixture
def owner_http(owner):
    return signed_in(owner)


@pytest.fixture
def admin_http(admin):
    return signed_in(admin)


@pytest.fixture
def staff_http(staff):
    return signed_in(staff)


@pytest.fixture
def password():
    return DEFAULT_PASSWORD


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Rate-limit counts and progress live in the cache, which a test's rollback does not undo."""
    from django.core.cache import cache

    cache.clear()
    yield
