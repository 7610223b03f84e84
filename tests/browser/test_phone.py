"""The public pages on a phone (375 x 812, JavaScript off): each step a participant, invitee, learner or
customer sees is screenshotted to var/screenshots/phone-*.png, fits the width (nothing to scroll
sideways) and passes the accessibility check."""

import re
from decimal import Decimal

import pytest
from django.core import mail
from playwright.sync_api import expect

from ..factories import (
    DEFAULT_PASSWORD,
    CodeFactory,
    ParticipantFactory,
    PriceFactory,
    ProductSessionFactory,
    SessionFactory,
    UserFactory,
    seat_invite,
    seat_order,
    session_invite,
)
from .conftest import SCREENSHOTS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 375, "height": 812}


@pytest.fixture
def phone(page):
    page.set_viewport_size(PHONE)
    return page


def looks_right(page, accessibility, name):
    """Screenshot, no sideways scrolling, no serious accessibility problem."""
    page.screenshot(path=SCREENSHOTS / f"phone-{name}.png", full_page=True)
    width = page.evaluate("document.documentElement.scrollWidth")
    wide = page.evaluate(
        """() => Array.from(document.querySelectorAll('body *')).filter(e => e.getBoundingClientRect().right > 376)
             .slice(0, 5).map(e => e.tagName.toLowerCase() + (e.className ? '.' + e.className : ''))"""
    )
    assert width <= PHONE["width"], f"phone-{name}: the page is {width}px wide on a 375px screen; too wide: {wide}"
    accessibility.check(page, f"phone-{name}")


def test_booking_with_a_code_on_a_phone(live_server, phone, accessibility, tenant):
    """With a light brand colour: white on it would be unreadable, the check sees dark text instead."""
    tenant.brand_color = "#f5c400"
    tenant.save(update_fields=["brand_color"])
    price = PriceFactory(tenant=tenant, price_code="STD")
    participant = ParticipantFactory(
        tenant=tenant, contract=price.contract, first_name="Noor", email="noor@example.com"
    )
    code = CodeFactory(tenant=tenant, price=price, contract=price.contract, participant=participant)
    phone.goto(f"{live_server.url}/t/{tenant.slug}/book/")
    looks_right(phone, accessibility, "booking-code")

    phone.get_by_label("Your invitation code").fill("hello!")
    phone.get_by_role("button", name="Continue").click()
    expect(phone.get_by_text("That does not look like one of our codes")).to_be_visible()
    looks_right(phone, accessibility, "booking-code-mistyped")

    phone.get_by_label("Your invitation code").fill(code.shown)
    phone.get_by_role("button", name="Continue").click()
    expect(phone.get_by_role("heading", name="Pick a time")).to_be_visible()
    looks_right(phone, accessibility, "booking-times")
    phone.locator("button.slot").first.click()
    expect(phone.get_by_label("First name")).to_have_value("Noor")
    looks_right(phone, accessibility, "booking-details")
    phone.get_by_role("button", name="Book").click()
    expect(phone.get_by_role("heading", name="You are booked")).to_be_visible()
    looks_right(phone, accessibility, "booking-booked")


def test_session_page_invitation_link_cart_and_checkout_on_a_phone(live_server, phone, accessibility, tenant):
    session = SessionFactory(tenant=tenant, title="Pottery for beginners", capacity=4, price=Decimal("40.00"))
    _, token = session_invite(session, email="mila@example.com")
    phone.goto(f"{live_server.url}/t/{tenant.slug}/register/s/{session.key}/")
    expect(phone.get_by_role("heading", name="Pottery for beginners")).to_be_visible()
    looks_right(phone, accessibility, "session")

    phone.goto(f"{live_server.url}/t/{tenant.slug}/register/invitation/{token}/")
    expect(phone.get_by_role("heading", name="Your cart")).to_be_visible()
    looks_right(phone, accessibility, "invitation-cart")
    phone.get_by_role("link", name="Checkout").click()
    expect(phone.get_by_label("Contact email")).to_have_value("mila@example.com")
    phone.get_by_label("First name").fill("Mila")
    phone.get_by_label("Last name").fill("Jansen")
    looks_right(phone, accessibility, "checkout")
    phone.get_by_role("button", name=re.compile("Register")).click()
    expect(phone.get_by_role("heading", name=re.compile("You are registered"))).to_be_visible()
    looks_right(phone, accessibility, "checkout-done")


def test_seat_invitation_sign_in_and_my_account_on_a_phone(live_server, phone, accessibility, tenant):
    run = ProductSessionFactory(tenant=tenant, product__name="First aid at work")
    customer = UserFactory(email="casey@example.com", first_name="Casey", last_name="Customer")
    order = seat_order(run, customer, quantity=5)
    _, token = seat_invite(order, email="lena@example.com")
    mail.outbox.clear()

    phone.goto(f"{live_server.url}/t/{tenant.slug}/seats/invite/{token}/")
    expect(phone.get_by_text("First aid at work").first).to_be_visible()
    looks_right(phone, accessibility, "seat-invitation")

    phone.goto(f"{live_server.url}/accounts/login/")
    looks_right(phone, accessibility, "sign-in")
    phone.get_by_label("Email address").fill(customer.email)
    phone.get_by_label("Password").fill(DEFAULT_PASSWORD)
    phone.get_by_role("button", name="Sign in").click()
    phone.wait_for_load_state()
    phone.goto(f"{live_server.url}/t/{tenant.slug}/account/")
    expect(phone.get_by_text(re.compile(r"5 / 5|remaining")).first).to_be_visible()
    looks_right(phone, accessibility, "my-account")
    phone.goto(f"{live_server.url}/t/{tenant.slug}/account/seats/{order.pk}/")
    looks_right(phone, accessibility, "my-account-seats")
