"""In a real browser, with JavaScript off: staff invite someone to a session with a discount; the
invitee opens the emailed link, finds the cart filled and checks out; staff cancel another
invitation and the public page shows the spot again; inviting to a full session asks first."""

import re
from decimal import Decimal

import pytest
from django.core import mail
from playwright.sync_api import expect

from sessions_roster.models import InvitationStatus, Registration, Session, SessionInvitation
from tenancy.models import Role

from ..conftest import member
from ..factories import DEFAULT_PASSWORD, DiscountFactory, SessionFactory, session_invite, session_register

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in(page, base, user):
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Email address").fill(user.email)
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def link_in(message) -> str:
    """The path of the emailed link (its host is the configured SITE_URL, not the test server)."""
    return re.search(r"https?://[^/\s]+(/\S+/register/invitation/\S+/)", message.body).group(1)


def test_staff_invite_with_a_discount_and_the_invitee_registers(live_server, chromium, page, screens, tenant):
    session = SessionFactory(tenant=tenant, title="Pottery for beginners", capacity=4, price=Decimal("40.00"))
    DiscountFactory(tenant=tenant, code="FRIENDS25", value=Decimal("25"))
    other, _ = session_invite(session, email="someone.else@example.com")
    staff = member(tenant, Role.STAFF)
    base, public = live_server.url, f"{live_server.url}/t/{tenant.slug}/register/s/{session.key}/"
    mail.outbox.clear()

    sign_in(page, base, staff)
    page.goto(f"{base}/t/{tenant.slug}/sessions/{session.pk}/")
    expect(page.get_by_text("Not locked: a forwarded link can be used by anyone")).to_be_visible()
    page.get_by_role("link", name="+Add Participant").click()
    page.get_by_label("Email").fill("mila@example.com")
    page.get_by_label("Discount code").select_option(label="FRIENDS25")
    screens.shot("invite-form")
    page.get_by_role("button", name="Send Invite").click()
    expect(page.get_by_text("Invitation sent to mila@example.com")).to_be_visible()
    expect(page.get_by_role("row").filter(has_text="mila@example.com")).to_be_visible()
    screens.shot("roster-with-invitation")

    [invitation_email] = mail.outbox
    assert invitation_email.to == ["mila@example.com"] and "FRIENDS25" in invitation_email.body
    invitee = chromium.new_context(java_script_enabled=False).new_page()
    invitee.goto(base + link_in(invitation_email))
    expect(invitee.get_by_role("heading", name="Your cart")).to_be_visible()
    expect(invitee.get_by_text("Spot held by your invitation")).to_be_visible()
    assert invitee.get_by_label("Discount code").input_value() == "FRIENDS25"
    expect(invitee.get_by_text("30.00 EUR")).to_be_visible()  # 40.00 less 25 %
    screens.shot("invitee-cart", invitee)
    invitee.get_by_role("link", name="Checkout").click()
    assert invitee.get_by_label("Contact email").input_value() == "mila@example.com"
    invitee.get_by_label("First name").fill("Mila")
    invitee.get_by_label("Last name").fill("Jansen")
    invitee.get_by_role("button", name=re.compile("Register")).click()
    expect(invitee.get_by_role("heading", name=re.compile("You are registered"))).to_be_visible()
    expect(invitee.get_by_text(re.compile(r"Please pay 30\.00 EUR"))).to_be_visible()
    screens.shot("invitee-registered", invitee)
    registration = Registration.objects.get(tenant=tenant, email="mila@example.com")
    assert registration.amount == Decimal("30.00") and registration.invitation.status == InvitationStatus.ACCEPTED
    invitee.close()

    # Two held by invitations (one used), so 2 of 4 spots are free on the public page.
    page.goto(public)
    expect(page.get_by_text("2 spots left")).to_be_visible()
    screens.shot("public-page-two-left")
    page.goto(f"{base}/t/{tenant.slug}/sessions/{session.pk}/")
    page.get_by_role("row").filter(has_text="someone.else@example.com").get_by_text("Actions").click()
    page.get_by_role("link", name="Cancel").click()
    screens.shot("cancel-confirmation")
    page.get_by_role("button", name="Cancel invitation").click()
    expect(page.get_by_text("Invitation for someone.else@example.com cancelled")).to_be_visible()
    assert SessionInvitation.objects.get(pk=other.pk).status == InvitationStatus.CANCELLED
    page.goto(public)
    expect(page.get_by_text("3 spots left")).to_be_visible()
    screens.shot("public-page-spot-back")


def test_inviting_to_a_full_session_asks_to_raise_the_capacity(live_server, page, screens, tenant):
    session = SessionFactory(tenant=tenant, capacity=1)
    session_register(session)
    admin = member(tenant, Role.ADMIN)
    sign_in(page, live_server.url, admin)
    page.goto(f"{live_server.url}/t/{tenant.slug}/sessions/{session.pk}/invite/")
    expect(page.get_by_text("This session is full").first).to_be_visible()
    page.get_by_label("Email").fill("late@example.com")
    page.get_by_role("button", name="Send Invite").click()
    expect(page.get_by_text("Tick “Raise the capacity by one”")).to_be_visible()
    assert not SessionInvitation.objects.filter(tenant=tenant).exists()
    screens.shot("full-asks")
    page.get_by_label("Raise the capacity by one").check()
    page.get_by_role("button", name="Send Invite").click()
    expect(page.get_by_text("the capacity was raised by one")).to_be_visible()
    session = Session.objects.get(pk=session.pk)
    assert (session.capacity, session.spots_taken) == (2, 2)
    screens.shot("raised")
