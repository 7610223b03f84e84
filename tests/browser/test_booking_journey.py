"""In a real browser, with JavaScript off: a participant mistypes their code, then books with the
code assigned to them and finds the form filled in; staff see the booking on the contract."""

import re

import pytest
from django.core import mail
from playwright.sync_api import expect

from bookings.models import Booking
from invitations.models import InvitationCode
from tenancy.models import Role

from ..conftest import member
from ..factories import CodeFactory, ParticipantFactory, PriceFactory, ServiceFactory, open_every_day

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_participant_books_with_their_code(live_server, page, screens, tenant):
    price = PriceFactory(
        tenant=tenant,
        price_code="STD",
        service=open_every_day(ServiceFactory(tenant=tenant, name="Driving lesson")),
        contract__name="Drivers 2027",
        contract__organisation__name="Northwind Logistics",
    )
    participant = ParticipantFactory(
        tenant=tenant, contract=price.contract, first_name="Noor", last_name="Visser", email="noor@northwind.example"
    )
    code = CodeFactory(
        tenant=tenant,
        price=price,
        contract=price.contract,
        participant=participant,
        code=price.contract.invitation_prefix + "7KD9QX2MF4",
    )
    base = f"{live_server.url}/t/{tenant.slug}/book/"

    page.goto(base)
    expect(page.get_by_label("Your invitation code")).to_be_visible()
    screens.shot("booking-page")
    page.get_by_label("Your invitation code").fill("hello!")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_text("That does not look like one of our codes")).to_be_visible()
    screens.shot("mistyped")

    page.get_by_label("Your invitation code").fill(code.shown.lower().replace("-", " "))
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name="Pick a time")).to_be_visible()
    expect(page.get_by_text(f"{price.amount} {tenant.currency}").first).to_be_visible()
    screens.shot("times")
    page.locator("button.slot").first.click()

    assert page.get_by_label("First name").input_value() == "Noor"
    assert page.get_by_label("Email address").input_value() == "noor@northwind.example"
    screens.shot("details-filled-in")
    page.get_by_role("button", name="Book").click()

    expect(page.get_by_role("heading", name="You are booked")).to_be_visible()
    screens.shot("booked")
    booking = Booking.objects.get(tenant=tenant)
    assert booking.email == "noor@northwind.example" and booking.price_amount == price.amount
    assert InvitationCode.objects.get(pk=code.pk).uses == 1
    [confirmation] = mail.outbox
    assert confirmation.to == ["noor@northwind.example"] and booking.reference in confirmation.body
    assert f"Price: {price.amount} {tenant.currency}" in confirmation.body

    staff = member(tenant, Role.STAFF)
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Email address").fill(staff.email)
    page.get_by_label("Password").fill("correct-horse-battery")
    page.get_by_role("button", name="Sign in").click()
    page.goto(f"{live_server.url}/t/{tenant.slug}/contracts/{price.contract.pk}/bookings/")
    row = page.get_by_role("row").filter(has_text="Noor Visser")
    assert code.shown in row.inner_text()
    screens.shot("contract-bookings")
    assert re.search(r"Confirmed", row.inner_text())

    # The confirmation email, as staff read it in the outbox: sent, to Noor, with the booking's reference.
    page.locator(".sidebar").get_by_role("link", name="Outbox").click()
    sent = page.get_by_role("row").filter(has_text="noor@northwind.example")
    expect(sent).to_have_count(1)
    expect(sent).to_contain_text("Sent")
    sent.get_by_role("link").first.click()
    expect(page.get_by_role("heading", name=re.compile(f"^Your booking: {price.service.name} on "))).to_be_visible()
    text = page.locator("pre.email-text").inner_text()
    assert "Hello Noor" in text and f"Reference: {booking.reference}" in text
    screens.shot("outbox-confirmation")

    # The dashboard lists the contract with its redeemed code.
    page.locator(".sidebar").get_by_role("link", name="Home").click()
    expect(page.get_by_role("heading", name=tenant.name, exact=True)).to_be_visible()
    expect(page.get_by_role("row").filter(has_text="Drivers 2027")).to_be_visible()
    screens.shot("dashboard")
