"""My Account finds a person's registrations through an index on (tenant, lower(email)), whatever
the number of registrations in the tenant: the query must be one that index can answer
(``email__iexact`` compares upper() and reads every row)."""

import pytest
from django.db import connection

from sessions_roster.selectors import registrations_for_person, waitlist_for_person

from ..factories import SessionFactory, session_register, waitlist_add

pytestmark = pytest.mark.django_db


def _plan(queryset) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # tiny tables: make the planner show what it can use
        sql, params = queryset.query.sql_with_params()
        cursor.execute(f"EXPLAIN {sql}", params)
        return "\n".join(row[0] for row in cursor.fetchall())


def test_registrations_of_a_person_are_found_by_the_index_whatever_the_case(tenant):
    session = SessionFactory(tenant=tenant)
    session_register(session, "Pat@Example.com")
    session_register(session, "someone@example.com")

    found = registrations_for_person(tenant=tenant, email="pat@example.COM")

    assert [r.email for r in found] == ["pat@example.com"]  # stored as normalised
    assert "registration_person_idx" in _plan(found)


def test_waitlist_places_of_a_person_are_found_whatever_the_case(tenant):
    # Open waitlist places are few; the unique index on open places by (tenant, session, address) serves.
    full = SessionFactory(tenant=tenant, capacity=1)
    session_register(full)
    waitlist_add(full, "Wes@Example.com")

    found = waitlist_for_person(tenant=tenant, email="WES@example.com")

    assert [entry.email for entry in found] == ["wes@example.com"]
