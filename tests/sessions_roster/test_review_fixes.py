"""The review fixes of session rosters, each proved the way a visitor or a staff member would notice
it: through the pages (Django test client), with the database checked for what was (not) written.

Links checked against the current SECRET_KEY, proof codes capped per invitation and kept out of the
subject, the total confirmed is the total charged, a cancellation recounts its order, someone using
another's link leaves their own invitation, no resend after the start, addresses up to 254
characters, discount guesses rate-limited, a second click lands on the order, the locked address
read-only, the waitlist numbered by place in line, and multi-day sessions showing their end date.
"""

import html
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import override_settings
from django.utils import timezone

from invitations.services import too_many_attempts
from messaging import private
from messaging.models import OutboundEmail
from sessions_roster import public
from sessions_roster.models import (
    HOLDING_REGISTRATION,
    DiscountCode,
    InvitationStatus,
    Order,
    OrderStatus,
    Registration,
    Session,
    SessionInvitation,
    WaitlistEntry,
    WaitlistStatus,
)
from sessions_roster.services import checkout as checkout_service
from sessions_roster.services import discounts as discount_service
from sessions_roster.services import invitations as invitation_service
from sessions_roster.services import waitlist as waitlist_service

from ..conftest import signed_in
from ..factories import DiscountFactory, SessionFactory, offer_token, session_invite, session_register, waitlist_add
from .test_pages import (
    ATTENDEE,
    backdate_sent,
    field_error,
    flashes,
    form_errors,
    plain,
    register_cart,
    section,
    text,
    u,
)

pytestmark = pytest.mark.django_db

# 257 characters: every part is valid for the email validator, the whole is over 254 (the column).
LONG_EMAIL = "a" * 64 + "@" + "b" * 63 + "." + "c" * 63 + "." + "d" * 60 + ".com"
TOO_LONG = "Ensure this value has at most 254 characters"


# Helpers


@pytest.fixture(autouse=True)
def _fresh_cache():
    """The discount-guess limit counts in the cache: every test starts with no attempts counted."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def session(tenant):
    return SessionFactory(tenant=tenant, title="Pottery basics", location="Studio A", capacity=3)


@pytest.fixture
def full_session(tenant):
    session = SessionFactory(tenant=tenant, title="Sold out class", capacity=1)
    session_register(session, "first@example.com")
    return session


def emails(key: str, to: str | None = None):
    rows = OutboundEmail.objects.filter(template_key=f"sessions_roster.{key}")
    return rows.filter(to_email=to) if to else rows


def private_value(email: OutboundEmail, name: str) -> str:
    """The real value behind a placeholder; it waits in ``private_values`` because the on-commit
    send never runs in these (rolled back) tests."""
    [value] = [value for placeholder, value in email.private_values.items() if placeholder.endswith(f"-{name}")]
    return value


def path_of(link: str) -> str:
    return link.removeprefix(settings.SITE_URL)


def input_tag(response, name: str) -> str:
    return re.search(rf'<input[^>]*name="{name}"[^>]*>', response.content.decode())[0]


def shown_total(response) -> str:
    """The total the checkout page asks the buyer to confirm (its hidden ``expected_total``)."""
    return re.search(r'name="expected_total" value="([^"]*)"', response.content.decode())[1]


def assert_counter_true(session: Session) -> None:
    """``spots_taken`` equals what holds a spot: registrations, pending invitations, open offers."""
    session.refresh_from_db()
    holding = Registration.objects.filter(session=session, status__in=HOLDING_REGISTRATION).count()
    invited = SessionInvitation.objects.filter(session=session, status=InvitationStatus.PENDING).count()
    offered = WaitlistEntry.objects.filter(session=session, status=WaitlistStatus.OFFERED).count()
    assert session.spots_taken == holding + invited + offered
    assert session.spots_taken <= session.capacity


def backdate_proof(invitation, seconds=60) -> None:
    """Move the last code's time back, past the 30-second guard against asking twice at once."""
    invitation.refresh_from_db()
    SessionInvitation.objects.filter(pk=invitation.pk).update(
        proof_expires_at=invitation.proof_expires_at - timedelta(seconds=seconds)
    )


def waitlist_rows(response) -> list[list[str]]:
    return [
        html.unescape(re.sub(r"<[^>]+>", " ", row)).split()
        for row in re.findall(r"<tr>(.*?)</tr>", section(response, "Waitlist"), re.S)[1:]
    ]


# 1. Addresses up to 254 characters


def test_an_over_long_address_at_checkout_is_a_form_error_and_writes_nothing(client, tenant, session):
    register_cart(client, tenant, session)

    response = client.post(u(tenant, "register:checkout"), {**ATTENDEE, "email": LONG_EMAIL})

    assert response.status_code == 200
    assert TOO_LONG in field_error(response, "email")
    assert not Order.objects.exists() and not Registration.objects.exists()
    assert not emails("order_confirmation").exists()
    session.refresh_from_db()
    assert session.spots_taken == 0


def test_an_over_long_address_on_the_invite_form_is_a_form_error_and_writes_nothing(staff_http, tenant, session):
    response = staff_http.post(u(tenant, "sessions:invite", session_id=session.pk), {"email": LONG_EMAIL})

    assert response.status_code == 200
    assert TOO_LONG in field_error(response, "email")
    assert not SessionInvitation.objects.exists()
    assert not emails("invitation").exists()
    session.refresh_from_db()
    assert session.spots_taken == 0


def test_an_over_long_address_on_the_waitlist_form_is_a_form_error_and_writes_nothing(client, tenant, full_session):
    response = client.post(
        u(tenant, "register:waitlist", session_key=full_session.key),
        {"first_name": "Wanda", "last_name": "Wait", "email": LONG_EMAIL},
    )

    assert response.status_code == 200
    assert TOO_LONG in field_error(response, "email")
    assert not WaitlistEntry.objects.exists()
    assert not emails("waitlist_joined").exists()


# 2. The total confirmed is the total charged


def test_a_discount_used_up_after_the_checkout_page_was_shown_refuses_the_order_with_the_new_total(
    client, tenant, session
):
    discount = DiscountFactory(tenant=tenant, code="SPRING", value=Decimal("25"), max_uses=1)
    register_cart(client, tenant, session)
    client.post(u(tenant, "register:cart"), {"discount_code": "SPRING"})
    page = client.get(u(tenant, "register:checkout"))
    assert shown_total(page) == "15.00"
    # Meanwhile someone else uses the last use of the code.
    session_register(SessionFactory(tenant=tenant, title="Watercolour"), "quick@example.com", discount="SPRING")
    discount.refresh_from_db()
    assert discount.uses == 1

    refused = client.post(u(tenant, "register:checkout"), {**ATTENDEE, "expected_total": shown_total(page)})

    assert refused.status_code == 200
    assert checkout_service.TOTAL_CHANGED.format(total="20.00", currency=tenant.currency) in form_errors(refused)
    assert not Order.objects.filter(email="ada@example.com").exists()
    assert not Registration.objects.filter(session=session).exists()
    session.refresh_from_db()
    discount.refresh_from_db()
    assert (session.spots_taken, discount.uses) == (0, 1)
    assert not emails("order_confirmation", "ada@example.com").exists()
    assert shown_total(refused) == "20.00"

    done = client.post(u(tenant, "register:checkout"), {**ATTENDEE, "expected_total": shown_total(refused)})

    order = Order.objects.get(email="ada@example.com")
    assert done.status_code == 302 and done["Location"] == u(tenant, "register:order", order_reference=order.reference)
    assert (order.total, order.discount_code) == (Decimal("20.00"), None)
    discount.refresh_from_db()
    assert discount.uses == 1


def test_a_price_changed_after_the_checkout_page_was_shown_refuses_the_order_with_the_new_total(
    client, tenant, session
):
    register_cart(client, tenant, session)
    page = client.get(u(tenant, "register:checkout"))
    assert shown_total(page) == "20.00"
    Session.objects.filter(pk=session.pk).update(price=Decimal("25.00"))

    refused = client.post(u(tenant, "register:checkout"), {**ATTENDEE, "expected_total": shown_total(page)})

    assert refused.status_code == 200
    assert checkout_service.TOTAL_CHANGED.format(total="25.00", currency=tenant.currency) in form_errors(refused)
    assert not Order.objects.exists() and not Registration.objects.exists()
    session.refresh_from_db()
    assert session.spots_taken == 0
    assert shown_total(refused) == "25.00"

    done = client.post(u(tenant, "register:checkout"), {**ATTENDEE, "expected_total": shown_total(refused)})

    order = Order.objects.get()
    assert done.status_code == 302 and done["Location"] == u(tenant, "register:order", order_reference=order.reference)
    assert order.total == Decimal("25.00")


# 3. A cancellation recounts its order


@pytest.fixture
def two_session_order(tenant):
    """Ada's order for two sessions (20 and 30 EUR) with 25% off: 5.00 and 7.50 off, 37.50 due."""
    first = SessionFactory(tenant=tenant, title="Pottery basics", price=Decimal("20.00"))
    second = SessionFactory(tenant=tenant, title="Watercolour", price=Decimal("30.00"))
    discount = DiscountFactory(tenant=tenant, code="QUARTER", value=Decimal("25"))
    order = checkout_service.order_checkout(
        tenant=tenant,
        lines=[checkout_service.CartLine(first.pk), checkout_service.CartLine(second.pk)],
        attendee=checkout_service.Attendee("Ada", "Lovelace", "ada@example.com"),
        discount_text="QUARTER",
    )
    assert (order.subtotal, order.discount_amount, order.total) == (
        Decimal("50.00"),
        Decimal("12.50"),
        Decimal("37.50"),
    )
    return order, first, second, discount


def test_cancelling_one_registration_of_an_order_recounts_it_and_the_last_cancels_it(
    staff_http, client, tenant, two_session_order
):
    order, first, second, discount = two_session_order
    kept = order.registrations.get(session=second)
    gone = order.registrations.get(session=first)

    staff_http.post(u(tenant, "sessions:registration_cancel", session_id=first.pk, registration_id=gone.pk))

    order.refresh_from_db()
    assert (order.subtotal, order.discount_amount, order.total) == (
        Decimal("30.00"),
        Decimal("7.50"),
        Decimal("22.50"),
    )
    assert order.status == OrderStatus.AWAITING_PAYMENT
    paid_page = staff_http.get(u(tenant, "sessions:registration_paid", session_id=second.pk, registration_id=kept.pk))
    assert f"Record that order {order.number} (22.50 {tenant.currency}) was paid?" in text(paid_page)
    assert "37.50" not in text(paid_page)
    order_page = plain(client.get(u(tenant, "register:order", order_reference=order.reference)))
    assert f"Total 22.50 {tenant.currency} (after 7.50 discount, code QUARTER)" in order_page
    discount.refresh_from_db()
    assert discount.uses == 1

    staff_http.post(u(tenant, "sessions:registration_cancel", session_id=second.pk, registration_id=kept.pk))

    order.refresh_from_db()
    discount.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED
    assert (order.subtotal, order.discount_amount, order.total) == (Decimal("0"), Decimal("0"), Decimal("0"))
    assert discount.uses == 0
    assert "Order cancelled" in text(client.get(u(tenant, "register:order", order_reference=order.reference)))


def test_after_a_cancellation_the_order_page_asks_to_pay_the_recounted_total(
    staff_http, client, tenant, two_session_order
):
    order, first, _, _ = two_session_order
    gone = order.registrations.get(session=first)

    staff_http.post(u(tenant, "sessions:registration_cancel", session_id=first.pk, registration_id=gone.pk))

    page = plain(client.get(u(tenant, "register:order", order_reference=order.reference)))
    assert f"Please pay 22.50 {tenant.currency}" in page
    assert "37.50" not in page


# 4. Links are checked against the current SECRET_KEY


def test_a_new_secret_key_closes_old_links_and_a_staff_resend_emails_one_that_works(client, tenant, session, staff):
    invitation, old_token = session_invite(session, "ivy@example.com")
    backdate_sent(invitation)
    full = SessionFactory(tenant=tenant, title="Sold out class", capacity=1)
    session_register(full, "first@example.com")
    entry = waitlist_add(full, "wendy@example.com")
    checkout_service.registration_cancel(
        tenant=tenant, registration=Registration.objects.get(session=full), actor=staff
    )
    old_offer = offer_token(entry)
    assert WaitlistEntry.objects.get(pk=entry.pk).status == WaitlistStatus.OFFERED

    with override_settings(SECRET_KEY="a-rotated-secret-key-for-this-test-only-0123456789"):
        invitation_page = client.get(u(tenant, "register:invitation", invite_token=old_token))
        verify_page = client.get(u(tenant, "register:invitation_verify", invite_token=old_token))
        offer_page = client.get(u(tenant, "register:offer", offer_token=old_offer))

        assert invitation_page.status_code == 404
        assert invitation_service.LINK_UNKNOWN in text(invitation_page)
        assert verify_page.status_code == 404
        assert offer_page.status_code == 404 and public.OFFER_UNKNOWN in text(offer_page)

        staff_http = signed_in(staff)  # the old key's login does not survive the rotation either
        resent = staff_http.post(
            u(tenant, "sessions:invitation_resend", session_id=session.pk, invite_id=invitation.pk), follow=True
        )
        assert "Invitation sent again to ivy@example.com, with the same link." in flashes(resent)
        newest = emails("invitation", "ivy@example.com").order_by("-id").first()
        link = private_value(newest, "link")
        assert old_token not in link

        opened = client.get(path_of(link), follow=True)

        assert opened.redirect_chain == [(u(tenant, "register:cart"), 302)]
        assert "Spot held by your invitation" in section(opened, "Your cart")
        assert client.get(u(tenant, "register:invitation", invite_token=old_token)).status_code == 404


# 5. No code in the proof email's subject


def test_the_proof_email_subject_has_neither_a_placeholder_nor_the_code_and_the_body_has_the_code(
    client, tenant, session
):
    _, token = session_invite(session, "invitee@example.com", lock_to_email=True)

    client.post(u(tenant, "register:invitation_verify", invite_token=token), {"action": "send"})

    [email] = emails("email_proof", "invitee@example.com")
    code = private_value(email, "code")
    assert re.fullmatch(r"\d{6}", code)
    assert "private-" not in email.subject and code not in email.subject
    assert "Pottery basics" in email.subject
    assert code in private.reveal(email.body_text, email.private_values)
    assert code in private.reveal(email.body_html, email.private_values, is_html=True)


# 6. Someone using another's link leaves their own invitation


def test_checking_out_with_someone_elses_link_closes_your_own_invitation_and_passes_its_spot_on(
    client, staff_http, tenant
):
    session = SessionFactory(tenant=tenant, title="Pottery basics", capacity=2)
    alices, alice_token = session_invite(session, "alice@example.com")
    bobs, _ = session_invite(session, "bob@example.com")
    wendy = waitlist_add(session, "wendy@example.com", first_name="Wendy")
    assert_counter_true(session)

    client.get(u(tenant, "register:invitation", invite_token=alice_token))
    done = client.post(
        u(tenant, "register:checkout"),
        {"first_name": "Bob", "last_name": "Builder", "email": "bob@example.com"},
        follow=True,
    )

    assert "You are registered" in text(done)
    assert Registration.objects.get(session=session).email == "bob@example.com"
    alices.refresh_from_db()
    bobs.refresh_from_db()
    wendy.refresh_from_db()
    assert alices.status == InvitationStatus.ACCEPTED
    assert bobs.status == InvitationStatus.ACCEPTED  # Bob's own invitation is closed
    assert wendy.status == WaitlistStatus.OFFERED  # and its spot passed on
    assert_counter_true(session)
    roster = staff_http.get(u(tenant, "sessions:roster", session_id=session.pk))
    assert "bob@example.com" not in section(roster, "Invited, pending")


# 7. No resend after the start


def test_resending_an_invitation_after_the_session_started_is_refused_and_the_roster_hides_resend(
    staff_http, tenant, session
):
    invitation, _ = session_invite(session, "late@example.com")
    backdate_sent(invitation)
    roster = u(tenant, "sessions:roster", session_id=session.pk)
    resend = u(tenant, "sessions:invitation_resend", session_id=session.pk, invite_id=invitation.pk)
    assert resend in section(staff_http.get(roster), "Invited, pending")
    Session.objects.filter(pk=session.pk).update(
        starts_at=timezone.now() - timedelta(minutes=5), ends_at=timezone.now() + timedelta(hours=1)
    )

    response = staff_http.post(resend, follow=True)

    assert response.redirect_chain == [(roster, 302)]
    assert waitlist_service.SESSION_STARTED in flashes(response)
    assert emails("invitation", "late@example.com").count() == 1
    invitation.refresh_from_db()
    assert invitation.times_sent == 1
    invited = section(staff_http.get(roster), "Invited, pending")
    assert "late@example.com" in invited
    assert resend not in invited and ">Resend<" not in invited
    assert u(tenant, "sessions:invitation_cancel", session_id=session.pk, invite_id=invitation.pk) in invited


# 8. Proof codes capped per invitation


def test_proof_codes_stop_after_the_allowance_and_a_staff_resend_restores_it(client, staff_http, tenant, session):
    invitation, token = session_invite(session, "invitee@example.com", lock_to_email=True)
    verify = u(tenant, "register:invitation_verify", invite_token=token)
    for n in range(settings.EMAIL_PROOF_CODES):
        if n:
            backdate_proof(invitation)
        sent = client.post(verify, {"action": "send"}, follow=True)
        assert public.PROOF_SENT.format(masked="i••••••@example.com") in flashes(sent)
    backdate_proof(invitation)

    refused = client.post(verify, {"action": "send"}, follow=True)

    assert invitation_service.PROOF_NO_MORE_CODES in flashes(refused)
    assert emails("email_proof", "invitee@example.com").count() == settings.EMAIL_PROOF_CODES

    backdate_sent(invitation)
    staff_http.post(u(tenant, "sessions:invitation_resend", session_id=session.pk, invite_id=invitation.pk))
    again = client.post(verify, {"action": "send"}, follow=True)

    assert public.PROOF_SENT.format(masked="i••••••@example.com") in flashes(again)
    assert emails("email_proof", "invitee@example.com").count() == settings.EMAIL_PROOF_CODES + 1
    code = private_value(emails("email_proof", "invitee@example.com").order_by("-id").first(), "code")
    proved = client.post(verify, {"action": "check", "code": code}, follow=True)
    assert public.PROVED in flashes(proved)


# 9. Discount guesses rate-limited


def apply_code(client, tenant, code):
    return client.post(u(tenant, "register:cart"), {"discount_code": code, "apply": "1"}, follow=True)


def discount_error(response) -> str:
    found = re.search(r'<p class="field-error" id="discount_error">(.*?)</p>', response.content.decode())
    return html.unescape(found[1]) if found else ""


@override_settings(CODE_ATTEMPT_LIMIT=3)
def test_too_many_wrong_discount_codes_are_refused_and_then_the_right_one_is_not_applied(client, tenant, session):
    DiscountFactory(tenant=tenant, code="SPRING", value=Decimal("25"))
    register_cart(client, tenant, session)
    blocked = too_many_attempts(60)
    for n in range(3):
        wrong = apply_code(client, tenant, f"GUESS{n}")
        assert discount_error(wrong) == discount_service.DISCOUNT_UNKNOWN
        assert blocked not in flashes(wrong)

    refused = apply_code(client, tenant, "GUESS3")
    assert blocked in flashes(refused)

    right = apply_code(client, tenant, "SPRING")

    assert blocked in flashes(right)
    cart = section(right, "Your cart")
    assert "SPRING" not in cart
    assert re.search(r"Total</th><td><strong>20\.00 EUR</strong>", cart)


@override_settings(CODE_ATTEMPT_LIMIT=3)
def test_a_right_discount_code_does_not_count_against_the_limit(client, tenant, session):
    DiscountFactory(tenant=tenant, code="SPRING", value=Decimal("25"))
    register_cart(client, tenant, session)
    blocked = too_many_attempts(60)

    right = apply_code(client, tenant, "SPRING")
    assert re.search(r"Total</th><td><strong>15\.00 EUR</strong>", section(right, "Your cart"))
    for n in range(3):
        wrong = apply_code(client, tenant, f"GUESS{n}")
        assert blocked not in flashes(wrong)
        assert discount_error(wrong) == discount_service.DISCOUNT_UNKNOWN

    assert blocked in flashes(apply_code(client, tenant, "GUESS3"))


def test_an_inactive_discount_code_reads_the_same_as_an_unknown_one(client, tenant, session):
    DiscountFactory(tenant=tenant, code="OLD", value=Decimal("25"), is_active=False)
    register_cart(client, tenant, session)

    inactive = discount_error(apply_code(client, tenant, "OLD"))
    unknown = discount_error(apply_code(client, tenant, "NEVER"))

    assert inactive == unknown == discount_service.DISCOUNT_UNKNOWN
    assert not DiscountCode.objects.filter(uses__gt=0).exists()


# 10. A second click lands on the order


def test_a_second_click_on_register_lands_on_the_same_order(client, tenant, session):
    register_cart(client, tenant, session)
    total = shown_total(client.get(u(tenant, "register:checkout")))
    data = {**ATTENDEE, "expected_total": total}

    first = client.post(u(tenant, "register:checkout"), data)
    second = client.post(u(tenant, "register:checkout"), data, follow=True)

    order = Order.objects.get()
    order_url = u(tenant, "register:order", order_reference=order.reference)
    assert first.status_code == 302 and first["Location"] == order_url
    assert second.redirect_chain == [(order_url, 302)]
    assert "You are registered" in text(second)
    assert checkout_service.CART_EMPTY not in flashes(second)
    assert Registration.objects.count() == 1


# 11. The locked address is read-only at checkout


def test_a_proved_locked_invitation_shows_the_invited_address_read_only_at_checkout(client, tenant, session):
    _, token = session_invite(session, "invitee@example.com", lock_to_email=True)
    verify = u(tenant, "register:invitation_verify", invite_token=token)
    client.post(verify, {"action": "send"})
    code = private_value(emails("email_proof", "invitee@example.com").get(), "code")
    proved = client.post(verify, {"action": "check", "code": code}, follow=True)
    assert "Spot held by your invitation" in section(proved, "Your cart")

    page = client.get(u(tenant, "register:checkout"))

    email = input_tag(page, "email")
    assert re.search(r"\breadonly\b", email)
    assert 'value="invitee@example.com"' in email
    assert "Your invitation is for this address." in text(page)
    assert "readonly" not in input_tag(page, "first_name")


# 12. The waitlist numbered by place in line


def test_the_waitlist_tab_numbers_only_the_people_still_waiting(staff_http, tenant, full_session, staff):
    entries = {}
    for n, name in enumerate(["Alice", "Bob", "Cleo", "Dan"]):
        entries[name] = waitlist_add(full_session, f"{name.lower()}@example.com", first_name=name, last_name="Waiter")
        WaitlistEntry.objects.filter(pk=entries[name].pk).update(created_at=timezone.now() - timedelta(minutes=10 - n))
    waitlist_service.waitlist_remove(tenant=tenant, entry=entries["Bob"])
    checkout_service.registration_cancel(
        tenant=tenant, registration=Registration.objects.get(session=full_session), actor=staff
    )
    entries["Alice"].refresh_from_db()
    assert entries["Alice"].status == WaitlistStatus.OFFERED

    response = staff_http.get(u(tenant, "sessions:waitlist", session_id=full_session.pk))

    assert [row[:2] for row in waitlist_rows(response)] == [
        ["—", "Alice"],  # holds the offer: no longer in line
        ["—", "Bob"],  # removed
        ["1", "Cleo"],
        ["2", "Dan"],
    ]


# 13. Multi-day sessions show their end date


def test_a_session_over_several_days_shows_its_end_date_on_the_public_page_and_the_roster(staff_http, client, tenant):
    start = timezone.localtime(timezone.now() + timedelta(days=10), tenant.zone).replace(
        hour=9, minute=0, second=0, microsecond=0
    )
    end = start + timedelta(days=2, hours=8)
    session = SessionFactory(tenant=tenant, title="Weekend retreat", starts_at=start, ends_at=end)
    when = f"{start:%A %-d %B %Y, %H:%M}–{end:%A %-d %B %Y, %H:%M}"

    public_page = plain(client.get(u(tenant, "register:session", session_key=session.key)))
    roster = plain(staff_http.get(u(tenant, "sessions:roster", session_id=session.pk)))

    assert f"{when} ({tenant.time_zone})" in public_page
    assert when in roster
    assert f"{start:%H:%M}–17:00 " not in public_page and f"{start:%H:%M}–17:00 " not in roster
