"""Erasing a person in one workspace leaves another workspace's hold on their login alone: a login
that waits for a session elsewhere is kept (deactivating it would lock the person out there)."""

from privacy.erasure import erasure_plan, person_erase
from sessions_roster.models import Registration, WaitlistEntry

from ..factories import ClientFactory, SessionFactory, UserFactory, session_register, waitlist_add
from ..test_isolation import snapshot

JANE = "jane.waiting@example.com"


def test_a_login_on_another_workspaces_waitlist_is_kept(tenant, other_tenant, owner):
    user = UserFactory(email=JANE)
    ClientFactory(tenant=tenant, email=JANE, user=user)
    full = SessionFactory(tenant=other_tenant, capacity=1)
    session_register(full)
    entry = waitlist_add(full, email=JANE)
    WaitlistEntry.objects.filter(pk=entry.pk).update(user=user)  # joined while signed in
    before = snapshot(other_tenant)

    plan = erasure_plan(tenant=tenant, email=JANE)
    assert plan.login == "kept"
    erasure = person_erase(tenant=tenant, email=JANE, actor=owner)

    user.refresh_from_db()
    assert user.is_active and user.email == JANE and not erasure.login_deactivated
    assert snapshot(other_tenant) == before


def test_a_login_registered_for_another_workspaces_session_by_someone_else_is_kept(tenant, other_tenant, owner):
    """Another workspace's My Account lists the sessions registered under the login's address,
    whoever paid: the login is used there."""
    user = UserFactory(email=JANE)
    ClientFactory(tenant=tenant, email=JANE, user=user)
    order = session_register(SessionFactory(tenant=other_tenant, capacity=3), email="booker@example.com")
    Registration.objects.filter(order=order).update(email=JANE)  # the booker registered Jane
    before = snapshot(other_tenant)

    assert erasure_plan(tenant=tenant, email=JANE).login == "kept"
    person_erase(tenant=tenant, email=JANE, actor=owner)

    user.refresh_from_db()
    assert user.is_active and user.email == JANE
    assert snapshot(other_tenant) == before
