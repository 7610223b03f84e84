"""In a real browser, with JavaScript off: the owner invites a colleague, sees the email in the
outbox, and the colleague joins from the link. Also: the dashboard fits a phone screen."""

import re

import pytest
from django.core import mail
from playwright.sync_api import expect

from messaging.models import OutboundEmail
from tenancy.models import Membership, Role

from ..conftest import member
from ..factories import DEFAULT_PASSWORD, ClientFactory
from .conftest import SCREENSHOTS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in(page, base, email, password=DEFAULT_PASSWORD):
    page.goto(f"{base}/")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()  # the next page, not the form still on screen


def test_owner_invites_a_colleague_who_joins_from_the_emailed_link(live_server, page, screens, tenant):
    owner = member(tenant, Role.OWNER, email="owner@acme.example", first_name="Olga", last_name="Owner")
    base = live_server.url

    sign_in(page, base, "OWNER@acme.example", "wrong password")
    expect(page.get_by_text("do not match an account")).to_be_visible()
    screens.shot("login-error")
    sign_in(page, base, owner.email)
    expect(page.get_by_role("heading", name="Acme Training")).to_be_visible()
    screens.shot("home")

    page.locator(".sidebar").get_by_role("link", name="Team").click()
    page.get_by_role("link", name="Invite someone").click()
    page.get_by_label("Email address").fill("not an email")
    page.get_by_role("button", name="Send invitation").click()
    assert page.locator("#id_email_error").inner_text() == "Enter a valid email address."
    screens.shot("invite-error")
    page.get_by_label("Email address").fill("casey@acme.example")
    page.get_by_label("Role").select_option("staff")
    page.get_by_role("button", name="Send invitation").click()
    expect(page.get_by_text("Invitation sent to casey@acme.example.")).to_be_visible()
    screens.shot("team-with-invitation")

    page.locator(".sidebar").get_by_role("link", name="Outbox").click()
    row = page.get_by_role("row").filter(has_text="casey@acme.example")
    assert "Sent" in row.inner_text()
    screens.shot("outbox")
    row.get_by_role("link").click()
    text = page.locator("pre.email-text").inner_text()
    screens.shot("outbox-email")
    # Staff see the email, but not the private link in it: that is only in the recipient's copy.
    assert "[private link — only in the recipient's copy]" in text and "/join/" not in text
    assert OutboundEmail.objects.get(to_email="casey@acme.example").status == "sent"
    [delivered] = mail.outbox
    path = re.search(r"https?://[^/\s]+(/t/acme/join/\S+/)", delivered.body)[1]

    page.context.clear_cookies()
    page.goto(base + path)
    page.get_by_label("First name").fill("Casey")
    page.get_by_label("Last name").fill("Colleague")
    page.get_by_label("Password", exact=True).fill("a-good-long-passphrase")
    page.get_by_label("Password again").fill("a-good-long-passphrase")
    screens.shot("join")
    page.get_by_role("button", name="Create account and join").click()
    expect(page.get_by_text("Welcome to Acme Training. You joined as Staff.")).to_be_visible()
    screens.shot("joined")
    assert Membership.objects.get(tenant=tenant, user__email="casey@acme.example").role == Role.STAFF


def test_the_dashboard_fits_a_phone(live_server, chromium, tenant):
    owner = member(tenant, Role.OWNER)
    for index in range(30):
        ClientFactory(tenant=tenant, first_name=f"Client{index}")
    context = chromium.new_context(java_script_enabled=False, viewport={"width": 375, "height": 812})
    page = context.new_page()
    sign_in(page, live_server.url, owner.email)
    for path in ("/t/acme/", "/t/acme/clients/", "/t/acme/team/", "/t/acme/outbox/"):
        page.goto(live_server.url + path)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 375, f"{path} is {width}px wide on a 375px phone"
    page.screenshot(path=SCREENSHOTS / "phone-clients.png")
    page.goto(live_server.url + "/t/acme/")
    page.get_by_text("Menu").click()
    page.locator(".nav-toggle").get_by_role("link", name="Clients").click()
    expect(page.get_by_role("heading", name="Clients")).to_be_visible()
    context.close()
