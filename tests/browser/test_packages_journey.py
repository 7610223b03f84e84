"""In a real browser, with JavaScript off: staff add a package to a client with an adjusted price
and a manual payment; the client signs in to My Account, books with a credit and sees it applied;
the usage counter moves on the client card."""

import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from bookings.models import Booking
from packages_credits.models import ClientPackage
from packages_credits.services import package_save
from tenancy.models import Role

from ..conftest import member
from ..factories import DEFAULT_PASSWORD, ClientFactory, ServiceFactory, UserFactory, open_every_day

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in(page, base, email):
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_a_package_with_a_manual_payment_pays_for_a_booking_the_client_makes(
    live_server, chromium, page, screens, tenant
):
    yoga = open_every_day(ServiceFactory(tenant=tenant, name="Morning yoga", price=Decimal("20.00")), capacity=5)
    package_save(tenant=tenant, items=[(yoga, 10)], name="Ten yoga classes", price=Decimal("180.00"), validity_days=90)
    client = ClientFactory(tenant=tenant, first_name="Cleo", last_name="Client", email="cleo@example.com")
    staff = member(tenant, Role.STAFF)
    base = live_server.url

    sign_in(page, base, staff.email)
    page.goto(f"{base}/t/{tenant.slug}/clients/{client.pk}/")
    page.get_by_role("link", name="Payments · Packages").click()
    page.get_by_role("link", name="Add").first.click()
    assert page.get_by_label("Price").input_value() == "180.00"
    page.get_by_label("Price").fill("150.00")
    page.get_by_label("Payment received").select_option(label="Cash")
    page.get_by_label("Amount paid").fill("100.00")
    page.get_by_label("Reference").fill("Receipt 17")
    screens.shot("add-package")
    page.get_by_role("button", name="Add package").click()
    expect(page.get_by_text(re.compile(r"added to Cleo Client; 50\.00 EUR still due"))).to_be_visible()
    row = page.get_by_role("row").filter(has_text="Ten yoga classes")
    assert "0 / 10" in row.inner_text() and "50.00 due" in row.inner_text()
    screens.shot("client-card")

    UserFactory(email="cleo@example.com", first_name="Cleo", last_name="Client")
    cleo = chromium.new_context(java_script_enabled=False).new_page()
    sign_in(cleo, base, "cleo@example.com")
    cleo.goto(f"{base}/t/{tenant.slug}/account/")
    expect(cleo.get_by_role("heading", name="Your packages")).to_be_visible()
    expect(cleo.get_by_text("Ten yoga classes · 10 sessions, 0 used")).to_be_visible()
    screens.shot("client-account", cleo)
    cleo.get_by_role("link", name="Book with a credit").click()
    cleo.get_by_role("button", name="Show times").click()
    expect(cleo.get_by_text("pays for this booking: no charge")).to_be_visible()
    screens.shot("client-books", cleo)
    cleo.get_by_role("button", name="Book with a credit").click()
    expect(cleo.get_by_text(re.compile("Paid with a credit of your package"))).to_be_visible()
    screens.shot("client-booked", cleo)
    cleo.goto(f"{base}/t/{tenant.slug}/account/")
    expect(cleo.get_by_text("Ten yoga classes · 10 sessions, 1 used")).to_be_visible()  # her counter moved too
    expect(cleo.get_by_text(re.compile(r"^Morning yoga, \d+ \w+ \d{4}, \d\d:\d\d$"))).to_be_visible()
    screens.shot("client-account-after", cleo)
    cleo.close()

    booking = Booking.objects.get(tenant=tenant, email="cleo@example.com")
    assert booking.price_amount == 0
    held = ClientPackage.objects.get(client=client)
    assert (held.price, held.amount_paid) == (Decimal("150.00"), Decimal("100.00"))
    page.reload()
    assert "1 / 10" in page.get_by_role("row").filter(has_text="Ten yoga classes").first.inner_text()
    expect(page.get_by_role("link", name=re.compile("Morning yoga"))).to_be_visible()
    screens.shot("counter-moved")
