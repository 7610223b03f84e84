"""In a real browser, with JavaScript off: a customer buys 5 seats, creates a learner, invites two
people by email; the first to accept gets the seat and the other sees a clear page; the customer
removes a learner and the seat returns to the pool."""

import re
from decimal import Decimal

import pytest
from django.core import mail
from playwright.sync_api import expect

from regcodes.models import CodeStatus, CourseAccess, RegistrationCode

from ..factories import DEFAULT_PASSWORD, ProductSessionFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in(page, base, email, password=DEFAULT_PASSWORD):
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def link_to_seat(message) -> str:
    return re.search(r"https?://[^/\s]+(/\S+/seats/invite/\S+/)", message.body).group(1)


def shown(page) -> dict:
    """The order page's counters, as the customer reads them."""
    stats = page.locator(".stat")
    return {
        stats.nth(i).locator(".stat-label").inner_text(): stats.nth(i).locator(".stat-value").inner_text()
        for i in range(stats.count())
    }


def seats(order) -> dict:
    return {s: RegistrationCode.objects.filter(order=order, status=s).count() for s in CodeStatus.values}


def test_a_customer_hands_out_seats_and_the_first_invitee_to_accept_wins(live_server, chromium, page, screens, tenant):
    run = ProductSessionFactory(tenant=tenant, product__name="First aid at work", price=Decimal("120.00"))
    customer = UserFactory(email="casey@example.com", first_name="Casey", last_name="Customer")
    base, account = live_server.url, f"{live_server.url}/t/{tenant.slug}/account/"

    sign_in(page, base, customer.email)
    page.goto(account + "seats/buy/")
    page.get_by_label("Course session").select_option(index=0)
    page.get_by_label("Seats").fill("5")
    page.get_by_role("button", name="Place order").click()
    screens.shot("after-order")
    expect(page.get_by_text(re.compile(r"Order R-\d+ placed"))).to_be_visible()
    screens.shot("order-details")
    order = run.orders.get()
    assert seats(order) == {"available": 5, "invited": 0, "claimed": 0}
    assert shown(page) == {"Remaining": "5", "Invited": "0", "Used / claimed": "0"}

    page.get_by_label("Email", exact=True).fill("lena@example.com")
    page.get_by_label("First name").fill("Lena")
    page.get_by_label("Last name").fill("Berg")
    page.get_by_role("button", name="Give a seat").click()
    expect(page.get_by_text("1 learner given a seat and emailed.")).to_be_visible()
    assert shown(page) == {"Remaining": "4", "Invited": "0", "Used / claimed": "1"}
    screens.shot("learner-created")

    mail.outbox.clear()
    page.get_by_label("Email addresses").fill("ann@example.com, bo@example.com")
    page.get_by_label("Added message (optional)").fill("See you at the course!")
    page.get_by_role("button", name="Send invitations").click()
    expect(page.get_by_text("2 invitations sent.")).to_be_visible()
    screens.shot("pending-invites")
    assert seats(order) == {"available": 2, "invited": 2, "claimed": 1}
    assert shown(page) == {"Remaining": "2", "Invited": "2", "Used / claimed": "1"}

    # Both invitations are for seats; the customer re-invites Ann's seat to Cy, so two people hold
    # a link to the same seat. Cy accepts first; Ann then finds it taken.
    ann_link = link_to_seat(next(m for m in mail.outbox if m.to == ["ann@example.com"]))
    page.get_by_role("row").filter(has_text="ann@example.com").get_by_text("Actions").click()
    page.get_by_role("link", name="Re-invite").click()
    page.get_by_label("Send to").fill("cy@example.com")
    page.get_by_role("button", name="Send invitation").click()
    cy_link = link_to_seat(next(m for m in mail.outbox if m.to == ["cy@example.com"]))

    cy = chromium.new_context(java_script_enabled=False).new_page()
    cy.goto(base + cy_link)
    expect(cy.get_by_role("heading", name="A seat on First aid at work")).to_be_visible()
    cy.get_by_label("First name").fill("Cy")
    cy.get_by_label("Last name").fill("Dekker")
    cy.get_by_label("Choose a password").fill("a-long-pass-for-cy")
    cy.get_by_label("Password again").fill("a-long-pass-for-cy")
    cy.get_by_role("button", name="Set up and accept").click()
    expect(cy.get_by_text("Your seat on First aid at work is yours")).to_be_visible()
    expect(cy.get_by_role("heading", name="Your courses")).to_be_visible()
    screens.shot("learner-my-account", cy)
    cy.close()

    ann = chromium.new_context(java_script_enabled=False).new_page()
    ann.goto(base + ann_link)
    expect(ann.get_by_text("someone else accepted an invitation for this seat first")).to_be_visible()
    screens.shot("ann-too-late", ann)
    ann.close()

    page.goto(f"{account}seats/{order.pk}/")
    page.get_by_role("row").filter(has_text="lena@example.com").get_by_text("Actions").click()
    page.get_by_role("link", name="Remove").click()
    page.get_by_role("button", name="Remove").click()
    expect(page.get_by_text("lena@example.com no longer has access")).to_be_visible()
    screens.shot("after-remove")
    assert not CourseAccess.objects.filter(learner__email="lena@example.com", revoked_at__isnull=True).exists()
    assert seats(order) == {"available": 3, "invited": 1, "claimed": 1}
    # Lena's seat is back in the pool: the counters say so, and so does the My Account tile.
    assert shown(page) == {"Remaining": "3", "Invited": "1", "Used / claimed": "1"}
    page.goto(account)
    expect(page.get_by_text(re.compile(r"3 remaining, 1 invited · 1 / 5 used"))).to_be_visible()
    screens.shot("my-account-seats")
