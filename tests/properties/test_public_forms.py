"""Properties of every public form (no sign-in needed, so anyone on the internet can post anything):
booking with a code (start, times, details), the session cart and checkout, a session invitation's
address check, a waitlist, a seat invitation, a staff invitation, sign-in and password reset.

Whatever is posted in any field — any unicode, huge values, NUL and control characters, formulas,
fields missing or repeated — there is no server error (the test client raises it), nothing is written
unless the step succeeded, and the page says what went wrong."""

import html
import re
from urllib.parse import quote

import pytest
from django.test import Client as HttpClient
from hypothesis import given
from hypothesis import strategies as st

from bookings.models import Booking
from invitations.models import Redemption
from sessions_roster.models import Order, Registration

from .conftest import CODE
from .strategies import FORMS, field_text, name_text
from .support import changed, snapshot, undone

pytestmark = pytest.mark.django_db

MESSAGE = re.compile(r'class="(flash flash-\w+|form-errors|field-error)"')
# Every public URL that takes a token, key or reference
PUBLIC_LINKS = (
    "/t/acme/seats/invite/{}/",
    "/t/acme/join/{}/",
    "/t/acme/register/offer/{}/",
    "/t/acme/register/invitation/{}/",
    "/t/acme/register/invitation/{}/verify/",
    "/t/acme/register/s/{}/",
    "/t/acme/register/s/{}/add/",
    "/t/acme/register/s/{}/waitlist/",
    "/t/acme/register/orders/{}/",
    "/t/acme/book/done/{}/",
)


def posted(fields: tuple[str, ...]) -> st.SearchStrategy[dict]:
    """A POST body for these fields: any text in each, some fields missing, some sent twice. Never
    empty: a browser sends every field of the form it shows, so an empty post is not one of its."""
    value = st.one_of(field_text(), field_text(), st.lists(field_text(), min_size=2, max_size=3))
    return st.fixed_dictionaries({}, optional={name: value for name in fields}).filter(bool)


def page_after(http, response):
    return http.get(response["Location"]) if response.status_code in (301, 302, 303) else response


def says_something(response) -> bool:
    if response.status_code >= 400:  # a refusal page (404, 409, 410) says why in its body
        return b"<h1" in response.content or b"<p" in response.content
    return bool(MESSAGE.search(response.content.decode()))


def judge(http, response, before, *, succeeded: bool) -> None:
    """The promises every public form keeps, for one post."""
    assert response.status_code < 500
    if succeeded:
        return
    assert changed(before, snapshot()) == set(), "a refused post wrote something"
    page = page_after(http, response)
    assert page.status_code < 500
    assert says_something(page), html.unescape(page.content.decode())[:3000]


# Booking with a code --------------------------------------------------------------------------


@FORMS
@given(body=posted(("code",)))
def test_booking_start_with_any_code_text(bookable, body):
    with undone():
        http, before = HttpClient(), snapshot()
        response = http.post("/t/acme/book/", body)
        judge(http, response, before, succeeded=response.status_code == 302)


@FORMS
@given(body=posted(("starts_at",)), when=field_text())
def test_booking_times_with_any_time(bookable, body, when):
    with undone():
        http = HttpClient()
        assert http.post("/t/acme/book/", {"code": CODE}).status_code == 302
        assert http.get(f"/t/acme/book/times/?from={quote(when)}").status_code == 200
        before = snapshot()
        response = http.post("/t/acme/book/times/", body)
        judge(http, response, before, succeeded=response.get("Location") == "/t/acme/book/details/")


@FORMS
@given(body=posted(("first_name", "last_name", "email", "phone", "date_of_birth", "notes")))
def test_booking_details_with_anything_in_every_field(bookable, body):
    with undone():
        http = HttpClient()
        assert http.post("/t/acme/book/", {"code": CODE}).status_code == 302
        assert http.post("/t/acme/book/times/", {"starts_at": bookable.isoformat()}).status_code == 302
        before = snapshot()
        response = http.post("/t/acme/book/details/", body)
        judge(http, response, before, succeeded=response.get("Location", "").startswith("/t/acme/book/done/"))


# Session registration: cart, checkout, waitlist, invitation address check ---------------------


@FORMS
@given(body=posted(("remove", "discount_code", "clear_discount")))
def test_the_cart_with_anything_posted(session, body):
    with undone():
        http = HttpClient()
        assert http.post(f"/t/acme/register/s/{session.key}/add/").status_code == 302
        before = snapshot()
        response = http.post("/t/acme/register/cart/", body)
        assert response.status_code == 302  # the cart only keeps its state in the session
        assert changed(before, snapshot()) == set()
        assert http.get("/t/acme/register/cart/").status_code == 200


@FORMS
@given(body=posted(("first_name", "last_name", "email", "expected_total")))
def test_checkout_with_anything_in_every_field(session, body):
    with undone():
        http = HttpClient()
        assert http.post(f"/t/acme/register/s/{session.key}/add/").status_code == 302
        before = snapshot()
        response = http.post("/t/acme/register/checkout/", body)
        judge(http, response, before, succeeded=response.get("Location", "").startswith("/t/acme/register/orders/"))


@FORMS
@given(body=posted(("first_name", "last_name", "email")))
def test_joining_a_waitlist_with_anything(full_session, body):
    with undone():
        http, before = HttpClient(), snapshot()
        response = http.post(f"/t/acme/register/s/{full_session.key}/waitlist/", body)
        judge(http, response, before, succeeded=response.status_code == 302)


@FORMS
@given(body=posted(("action", "code")), token=field_text())
def test_an_invitation_link_and_its_address_check_with_anything(locked_invitation, body, token):
    with undone():
        http, before = HttpClient(), snapshot()
        response = http.get(f"/t/acme/register/invitation/{quote(token, safe='')}/")
        judge(http, response, before, succeeded=False)
        before = snapshot()
        response = http.post(f"/t/acme/register/invitation/{locked_invitation}/verify/", {**body, "action": "check"})
        judge(http, response, before, succeeded=response.status_code == 302)


# Seat invitation and staff invitation ----------------------------------------------------------


@FORMS
@given(body=posted(("first_name", "last_name", "password1", "password2")))
def test_accepting_a_seat_invitation_with_anything(seat_token, body):
    with undone():
        http, before = HttpClient(), snapshot()
        response = http.post(f"/t/acme/seats/invite/{seat_token}/", body)
        judge(http, response, before, succeeded=response.status_code == 302)


@FORMS
@given(body=posted(("first_name", "last_name", "password1", "password2")))
def test_accepting_a_staff_invitation_with_anything(staff_token, body):
    with undone():
        http, before = HttpClient(), snapshot()
        response = http.post(f"/t/acme/join/{staff_token}/", body)
        judge(http, response, before, succeeded=response.status_code == 302)


@FORMS
@given(token=field_text())
def test_any_link_text_is_refused_with_a_page(tenant, token):
    with undone():
        http, before = HttpClient(), snapshot()
        for url in PUBLIC_LINKS:
            response = http.get(url.format(quote(token, safe="")))
            judge(http, response, before, succeeded=False)


# Sign-in and password reset ---------------------------------------------------------------------


@FORMS
@given(body=posted(("username", "password")))
def test_signing_in_with_anything(account, body):
    with undone():
        http, before = HttpClient(), snapshot()
        response = http.post("/accounts/login/", body)
        judge(http, response, before, succeeded=False)


@FORMS
@given(body=posted(("email",)), uid=field_text(), token=field_text())
def test_password_reset_with_anything(account, body, uid, token):
    with undone():
        http, before = HttpClient(), snapshot()
        response = http.post("/accounts/password/reset/", body)
        assert response.status_code < 500
        if response.status_code == 200:  # refused: the form says why, nothing queued
            assert changed(before, snapshot()) == set()
            assert says_something(response)
        response = http.get(f"/accounts/password/reset/{quote(uid, safe='')}/{quote(token, safe='')}/")
        assert response.status_code < 500


# Good input in any script is accepted and kept as typed ------------------------------------------

EMAIL = st.from_regex(r"[a-z0-9][a-z0-9+_-]{0,19}@(example|mail)\.(com|org|nl)", fullmatch=True)
NOTES = st.text(st.characters(exclude_characters="\x00", exclude_categories=("Cs",)), max_size=300)


@FORMS
@given(first=name_text(), last=name_text(), email=EMAIL, notes=NOTES)
def test_booking_with_any_name_books_once_with_the_name_as_typed(bookable, first, last, email, notes):
    with undone():
        http = HttpClient()
        assert http.post("/t/acme/book/", {"code": CODE}).status_code == 302
        assert http.post("/t/acme/book/times/", {"starts_at": bookable.isoformat()}).status_code == 302
        details = {"first_name": first, "last_name": last, "email": email, "phone": "", "notes": notes}

        response = http.post("/t/acme/book/details/", details)

        assert response.status_code == 302 and response["Location"].startswith("/t/acme/book/done/")
        booking = Booking.objects.get()
        assert (booking.first_name, booking.last_name, booking.email) == (first.strip(), last.strip(), email)
        assert Redemption.objects.count() == 1


@FORMS
@given(first=name_text(), last=name_text(), email=EMAIL)
def test_checkout_with_any_name_registers_once(session, first, last, email):
    with undone():
        http = HttpClient()
        assert http.post(f"/t/acme/register/s/{session.key}/add/").status_code == 302

        response = http.post("/t/acme/register/checkout/", {"first_name": first, "last_name": last, "email": email})

        assert response.status_code == 302 and response["Location"].startswith("/t/acme/register/orders/")
        order = Order.objects.get()
        assert (order.first_name, order.last_name, order.email) == (first.strip(), last.strip(), email)
        assert Registration.objects.filter(session=session).count() == 1


@pytest.mark.parametrize("url", PUBLIC_LINKS)
def test_a_link_with_a_nul_byte_is_not_found(tenant, url):
    """PostgreSQL cannot compare text holding NUL: such a session key, order or booking reference was a
    server error (found by the property above)."""
    http = HttpClient()
    for response in (http.get(url.format("a%00b")), http.post(url.format("a%00b"))):
        assert response.status_code in (404, 410)
