"""The roster of a busy session: 50 people a page with their total, pending invitations paged on
their own, and the same queries for an empty session as for one with many registrations."""

import html
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from sessions_roster.services import checkout as checkout_service
from sessions_roster.services import invitations as invitation_service
from tenancy.urlresolvers import tenant_reverse

from ..factories import SessionFactory, session_invite, session_register

pytestmark = pytest.mark.django_db


def plain(response) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.content.decode())).split())


def roster_url(session) -> str:
    return tenant_reverse(session.tenant, "sessions:roster", session_id=session.pk)


def fill(session, owner, registrations: int, invitations: int) -> None:
    for n in range(registrations):
        order = session_register(session, f"person{n:03d}@example.com", first_name="Per", last_name=f"Son{n:03d}")
        if n % 3 == 0:
            checkout_service.order_mark_paid(tenant=session.tenant, order=order, actor=owner)
    for n in range(invitations):
        invitation, _ = session_invite(session, f"invited{n:03d}@example.com")
        if n % 4 == 0:
            invitation_service.invitation_cancel(tenant=session.tenant, invitation=invitation, actor=owner)


def test_the_roster_shows_50_registrations_a_page_with_the_total(staff_http, tenant, owner):
    session = SessionFactory(tenant=tenant, capacity=100)
    fill(session, owner, 60, 0)

    first = plain(staff_http.get(roster_url(session)))
    second = plain(staff_http.get(roster_url(session), {"page": 2}))

    assert "Registered (60)" in first and "Page 1 of 2 · 60 in all" in first
    assert "Son000" in first and "Son049" in first and "Son050" not in first
    assert "Son050" in second and "Son059" in second and "Son049" not in second


def test_pending_invitations_page_on_their_own(staff_http, tenant, owner):
    session = SessionFactory(tenant=tenant, capacity=100)
    fill(session, owner, 0, 72)  # 18 of them cancelled: 54 pending

    first = plain(staff_http.get(roster_url(session)))
    second = plain(staff_http.get(roster_url(session), {"invited_page": 2}))

    assert "Invited, pending (54)" in first and "Nobody registered yet" in first
    assert "Page 1 of 2 · 54 in all" in first and "Page 2 of 2 · 54 in all" in second
    assert "invited001@example.com" in first and "invited001@example.com" not in second


def test_the_roster_takes_the_same_queries_empty_or_busy(staff_http, tenant, owner):
    session = SessionFactory(tenant=tenant, capacity=200)

    def queries(**params):
        with CaptureQueriesContext(connection) as captured:
            assert staff_http.get(roster_url(session), params).status_code == 200
        return len(captured)

    staff_http.get(roster_url(session))
    empty = queries(), queries(page=2, invited_page=2)
    fill(session, owner, 70, 60)

    assert (queries(), queries(page=2, invited_page=2)) == empty
