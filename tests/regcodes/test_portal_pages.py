"""My Account pages of registration codes (issue 5), through the Django test client on PostgreSQL, as the
customer who bought the seats sees them: the Registration Codes tile, an order's Details page (create or tick
learners, email invitations, pending invites with their link, re-invite, withdraw, assign directly, completed
registrations with resend and remove), a learner's Your courses tile, and the separation of customers and
tenants on every seats_portal URL.

Every test that changes seats ends with ``assert_conserved`` (available + invited + claimed = seats bought, and
every code's status agrees with its access and invites); every refusal is checked to change nothing
(``snapshot``).
"""

import html
import re
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth import authenticate
from django.contrib.auth.tokens import default_token_generator
from django.test import Client as HttpClient
from django.urls import resolve, reverse
from django.utils import timezone
from django.utils.dateformat import format as date_format

from accounts.models import User
from messaging.models import OutboundEmail
from regcodes.forms_portal import (
    ADDRESS_INVALID,
    ADDRESS_TWICE,
    MAX_ADDRESSES,
    NO_ADDRESS,
    NOBODY_PICKED,
    TOO_MANY_ADDRESSES,
)
from regcodes.models import CourseAccess, LearnerInvite, LearnerInviteStatus, SeatOrder
from regcodes.services import (
    ALREADY_HAS_ACCESS,
    INVITE_GONE,
    INVITE_TAKEN,
    INVITE_WITHDRAWN,
    NOT_ENOUGH_SEATS,
    NewLearner,
    learners_assign,
)
from tenancy.urlresolvers import tenant_reverse

from ..conftest import signed_in
from ..factories import (
    DEFAULT_PASSWORD,
    ProductFactory,
    ProductSessionFactory,
    UserFactory,
    seat_invite,
    seat_order,
)
from .test_services import assert_conserved, flashes, plain, snapshot

pytestmark = pytest.mark.django_db

INVITATION = "regcodes.learner_invitation"
LOGIN_DETAILS = "regcodes.learner_login_details"
GOOD_PASSWORD = "violet-marmot-47-lantern"
NEW_NAMES_NEEDED = "A new learner needs a first and a last name."


# Fixtures and helpers ---------------------------------------------------------------------------------------


@pytest.fixture
def buyer(tenant):
    return UserFactory(email="buyer@customer.example", first_name="Bea", last_name="Buyer")


@pytest.fixture
def course(tenant):
    return ProductSessionFactory(
        tenant=tenant, product=ProductFactory(tenant=tenant, name="First aid at work"), name="Spring run"
    )


@pytest.fixture
def order(course, buyer):
    return seat_order(course, buyer, quantity=5)


@pytest.fixture
def http(buyer):
    return signed_in(buyer)


def url(order, name="order", **kwargs) -> str:
    return tenant_reverse(order.tenant, f"seats_portal:{name}", order_id=order.pk, **kwargs)


def home_url(tenant) -> str:
    return tenant_reverse(tenant, "portal:home")


def sent(tenant, key, **filters):
    return OutboundEmail.objects.filter(tenant=tenant, template_key=key, **filters).order_by("id")


def set_password_links(email: OutboundEmail) -> list[str]:
    return [value for value in email.private_values.values() if "/accounts/password/reset/" in value]


def stats(page) -> tuple[int, int, int]:
    """(remaining, invited, used / claimed) as the Details page shows them."""
    match = re.search(r"(\d+) Remaining (\d+) Invited (\d+) Used / claimed", plain(page))
    assert match, plain(page)[:2000]
    return tuple(int(n) for n in match.groups())


def field_errors(page, field) -> list[str]:
    return [html.unescape(m) for m in re.findall(rf'<p class="field-error" id="id_{field}_error">(.*?)</p>', page.text)]


def form_errors(page) -> list[str]:
    blocks = re.findall(r'<div class="form-errors" role="alert">(.*?)</div>', page.text, re.S)
    return [html.unescape(m) for block in blocks for m in re.findall(r"<p>(.*?)</p>", block, re.S)]


def invite_links(page) -> list[str]:
    inputs = re.findall(r'<input\b[^>]*\bid="link-\d+"[^>]*>', page.text)
    return [html.unescape(re.search(r'\bvalue="([^"]*)"', tag).group(1)) for tag in inputs]


def tile(page, title) -> str | None:
    """The text of the My Account tile called ``title`` (None when the page has no such tile)."""
    for section in re.findall(r'<section class="card tile">(.*?)</section>', page.text, re.S):
        heading = re.search(r"<h2>(.*?)</h2>", section, re.S)
        if heading and html.unescape(heading.group(1)).strip() == title:
            return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", section)).split())
    return None


def tile_row(page, order) -> tuple[str, str]:
    """The HTML and the text of the tile's row (a table row or a list item) of ``order``."""
    rows = [r for r in re.findall(r"<(?:tr|li)\b[^>]*>(.*?)</(?:tr|li)>", page.text, re.S) if order.number in r]
    assert len(rows) == 1, rows
    return rows[0], " ".join(html.unescape(re.sub(r"<[^>]+>", " ", rows[0])).split())


def assert_tile_row(page, order, *, day, product, run, remaining, invited, claimed):
    row_html, text = tile_row(page, order)
    assert order.number in text and day in text and product in text and run in text, text
    assert re.search(rf"\b{remaining} remaining\b", text) or re.search(rf"{run} {remaining}\b", text), text
    if invited:
        assert f"{invited} invited" in text, text
    else:
        assert "invited" not in text, text
    assert f"{claimed} / {order.quantity}" in text, text
    assert "Details" in text and f'href="{url(order)}"' in row_html, row_html


def day(value) -> str:
    return date_format(value, "j M Y")


def access_text(access) -> str:
    return f"Access {day(access.starts_on)} – {day(access.ends_on)}"


def give(order, *emails) -> list[CourseAccess]:
    return learners_assign(
        tenant=order.tenant,
        order=order,
        learners=[NewLearner(e, "Lee", e.split("@")[0].title()) for e in emails],
        actor=order.buyer,
    )


def earlier_learners(tenant, buyer, *emails) -> list[User]:
    """People who had a seat through ``buyer``'s codes (an earlier order of another course)."""
    earlier = seat_order(ProductSessionFactory(tenant=tenant), buyer, quantity=max(2, len(emails)))
    return [access.learner for access in give(earlier, *emails)]


def everything(order, invite, access) -> list[str]:
    """Every seats_portal URL of ``order``."""
    return [
        url(order),
        url(order, "learners"),
        url(order, "invites"),
        url(order, "invite_again", seat_invite_id=invite.pk),
        url(order, "invite_withdraw", seat_invite_id=invite.pk),
        url(order, "invite_assign", seat_invite_id=invite.pk),
        url(order, "access_remove", access_id=access.pk),
        url(order, "access_resend", access_id=access.pk),
    ]


ACTING_POST = {
    "email": "intruder@example.com",
    "first_name": "In",
    "last_name": "Truder",
    "addresses": "intruder@example.com",
    "message": "hello",
}


# The Registration Codes tile ----------------------------------------------------------------------------------


def test_my_account_shows_the_registration_codes_tile_with_each_order(tenant, other_tenant, course, order, http):
    SeatOrder.objects.filter(pk=order.pk).update(created_at=datetime(2026, 3, 14, 12, 0, tzinfo=UTC))
    give(order, "one@example.com")
    seat_invite(order, "two@example.com")
    older = seat_order(
        ProductSessionFactory(tenant=tenant, product=ProductFactory(tenant=tenant, name="Fire")), order.buyer, 2
    )
    SeatOrder.objects.filter(pk=older.pk).update(created_at=datetime(2025, 11, 2, 12, 0, tzinfo=UTC))
    elsewhere = seat_order(ProductSessionFactory(tenant=other_tenant), order.buyer, quantity=3)
    single = seat_order(ProductSessionFactory(tenant=tenant), order.buyer, quantity=1)

    page = http.get(home_url(tenant))

    assert page.status_code == 200
    text = tile(page, "Registration Codes")
    assert text is not None
    assert_tile_row(
        page, order, day="14 Mar 2026", product="First aid at work", run="Spring run", remaining=3, invited=1, claimed=1
    )
    assert_tile_row(
        page, older, day="2 Nov 2025", product="Fire", run=older.product_session.name, remaining=2, invited=0, claimed=0
    )
    assert text.index(order.number) < text.index(older.number)  # newest first
    assert elsewhere.number not in text  # another tenant's order
    assert single.number not in text  # one seat: no codes
    assert f'href="{url(order)}"' in page.text
    assert f'href="{url(older)}"' in page.text
    details = http.get(url(order))
    assert details.status_code == 200
    assert stats(details) == (3, 1, 1)
    assert_conserved(order)


def test_a_customer_without_seat_orders_sees_the_tile_only_to_buy_seats(tenant, other_tenant, buyer):
    seat_order(ProductSessionFactory(tenant=tenant), buyer, quantity=1)  # their own seat: no codes to hand out
    seat_order(ProductSessionFactory(tenant=tenant, generates_codes=False), buyer, quantity=1)
    seat_order(ProductSessionFactory(tenant=other_tenant), buyer, quantity=4)  # codes, in another tenant
    nobody = UserFactory(email="nobody@example.com")

    for person in (buyer, nobody):
        page = signed_in(person).get(home_url(tenant))
        assert page.status_code == 200
        codes_tile = tile(page, "Registration Codes")
        assert "Buy seats" in codes_tile and "Details" not in codes_tile  # courses are on sale here
    assert tile(signed_in(buyer).get(home_url(other_tenant)), "Registration Codes") is not None


def test_without_courses_on_sale_a_customer_without_seat_orders_sees_no_codes_tile(tenant, buyer):
    page = signed_in(buyer).get(home_url(tenant))
    assert tile(page, "Registration Codes") is None


def test_a_learner_sees_your_courses_with_access_dates_and_a_removed_one_disappears(tenant, course, order, http):
    other_course = ProductSessionFactory(
        tenant=tenant, product=ProductFactory(tenant=tenant, name="Manual handling"), name="Autumn run"
    )
    [access] = give(order, "lena@example.com")
    learner = access.learner
    [kept] = give(seat_order(other_course, UserFactory(), quantity=2), "lena@example.com")
    learner_http = signed_in(learner)

    text = tile(learner_http.get(home_url(tenant)), "Your courses")

    assert text is not None
    assert f"First aid at work · Spring run {access_text(access)}" in text
    assert f"Manual handling · Autumn run {access_text(kept)}" in text
    assert (access.ends_on - access.starts_on).days == course.access_days
    assert "Details" not in tile(learner_http.get(home_url(tenant)), "Registration Codes")  # a learner is no buyer

    removed = http.post(url(order, "access_remove", access_id=access.pk))
    assert removed.status_code == 302

    text = tile(learner_http.get(home_url(tenant)), "Your courses")
    assert "First aid at work" not in text
    assert f"Manual handling · Autumn run {access_text(kept)}" in text
    not_mine = tenant_reverse(tenant, "seats_portal:access_remove", order_id=kept.code.order_id, access_id=kept.pk)
    assert http.post(not_mine).status_code == 404  # not the buyer of that order
    assert CourseAccess.objects.get(pk=kept.pk).revoked_at is None
    assert_conserved(order)


def test_with_every_course_removed_the_your_courses_tile_is_gone(tenant, order, http):
    [access] = give(order, "lena@example.com")
    learner_http = signed_in(access.learner)
    assert tile(learner_http.get(home_url(tenant)), "Your courses") is not None

    http.post(url(order, "access_remove", access_id=access.pk))

    page = learner_http.get(home_url(tenant))
    assert page.status_code == 200
    assert tile(page, "Your courses") is None
    assert "First aid at work" not in plain(page)
    assert_conserved(order)


# The Details page: counts and creating learners --------------------------------------------------------------


def test_the_details_page_shows_the_order_its_counts_and_both_lists(tenant, order, http):
    SeatOrder.objects.filter(pk=order.pk).update(created_at=datetime(2026, 3, 14, 12, 0, tzinfo=UTC))
    [access] = give(order, "ann@example.com")
    seat_invite(order, "ivy@example.com")
    seat_invite(order, "joe@example.com")

    page = http.get(url(order))

    assert page.status_code == 200
    text = plain(page)
    assert f"First aid at work: {order.number}" in text
    assert "Spring run · ordered 14 March 2026 · 5 seats" in text
    assert stats(page) == (2, 2, 1)
    assert "Pending invites (2)" in text and "ivy@example.com" in text and "joe@example.com" in text
    assert "Completed registrations (1)" in text
    assert f"Lee Ann ann@example.com {day(access.starts_on)} – {day(access.ends_on)}" in text
    assert f'href="{home_url(tenant)}"' in page.text
    assert_conserved(order)


def test_a_fresh_order_shows_empty_lists_and_no_earlier_learners_box(order, http):
    page = http.get(url(order))

    assert page.status_code == 200
    assert stats(page) == (5, 0, 0)
    text = plain(page)
    assert "No pending invites" in text and "Nobody has a seat yet" in text
    assert 'name="earlier"' not in page.text
    assert "Or tick earlier learners" not in text


def test_creating_a_new_learner_makes_a_login_gives_access_and_emails_a_set_password_link(
    tenant, course, order, buyer, http
):
    response = http.post(
        url(order, "learners"),
        {"email": " New.Learner@Example.com ", "first_name": "Nia", "last_name": "Newman", "password": ""},
    )

    assert response.status_code == 302
    assert response["Location"] == url(order)
    page = http.get(response["Location"])
    assert "1 learner given a seat and emailed." in flashes(page)
    assert stats(page) == (4, 0, 1)
    assert "Nia Newman new.learner@example.com" in plain(page)
    user = User.objects.get(email="new.learner@example.com")
    assert (user.first_name, user.last_name) == ("Nia", "Newman")
    assert not user.has_usable_password()  # none until they choose one from the emailed link
    assert not user.email_verified
    [access] = CourseAccess.objects.filter(learner=user, product_session=course, revoked_at__isnull=True)
    assert access.code.order_id == order.pk
    [email] = sent(tenant, LOGIN_DETAILS)
    assert email.to_email == "new.learner@example.com" and email.created_by == buyer
    [link] = set_password_links(email)
    assert link not in email.body_text
    match = resolve(urlsplit(link).path)
    assert match.view_name == "accounts:password_reset_confirm"
    assert default_token_generator.check_token(user, match.kwargs["token"])
    assert "First aid at work" in email.subject
    assert not sent(tenant, INVITATION).exists()
    assert_conserved(order)


def test_a_new_learner_with_a_password_can_sign_in_with_it(tenant, order, http):
    response = http.post(
        url(order, "learners"),
        {"email": "pia@example.com", "first_name": "Pia", "last_name": "Pass", "password": GOOD_PASSWORD},
    )

    assert response.status_code == 302
    user = User.objects.get(email="pia@example.com")
    assert authenticate(username="pia@example.com", password=GOOD_PASSWORD) == user
    assert sent(tenant, LOGIN_DETAILS, to_email="pia@example.com").count() == 1
    assert_conserved(order)


def test_an_existing_login_gets_the_seat_without_a_new_user_or_a_new_password(tenant, course, order, http):
    existing = UserFactory(email="known@example.com", first_name="Kim", last_name="Known")
    users = User.objects.count()

    response = http.post(
        url(order, "learners"),
        {"email": "KNOWN@example.com", "first_name": "Someone", "last_name": "Else", "password": GOOD_PASSWORD},
    )

    assert response.status_code == 302
    assert User.objects.count() == users
    existing.refresh_from_db()
    assert (existing.first_name, existing.last_name) == ("Kim", "Known")
    assert authenticate(username="known@example.com", password=DEFAULT_PASSWORD) == existing
    assert authenticate(username="known@example.com", password=GOOD_PASSWORD) is None
    assert CourseAccess.objects.filter(learner=existing, product_session=course, revoked_at__isnull=True).count() == 1
    [email] = sent(tenant, LOGIN_DETAILS)
    assert email.to_email == "known@example.com"
    assert set_password_links(email) == []
    assert_conserved(order)


def test_a_learner_who_already_has_the_course_is_refused_on_the_page_and_nothing_changes(tenant, order, http):
    give(order, "lena@example.com")
    before = snapshot(tenant)

    page = http.post(url(order, "learners"), {"email": "Lena@example.com", "first_name": "Lena", "last_name": "L"})

    assert page.status_code == 200
    assert ALREADY_HAS_ACCESS.format(email="lena@example.com") in form_errors(page)
    assert snapshot(tenant) == before
    assert_conserved(order)


@pytest.mark.parametrize("weak", ["123", "password", "nia@example.com"])
def test_a_weak_password_for_a_new_learner_is_refused_beside_the_field(tenant, order, http, weak):
    before = snapshot(tenant)

    page = http.post(
        url(order, "learners"),
        {"email": "nia@example.com", "first_name": "Nia", "last_name": "Newman", "password": weak},
    )

    assert page.status_code == 200
    assert field_errors(page, "password")
    assert snapshot(tenant) == before


@pytest.mark.parametrize(
    "names", [{}, {"first_name": "Nia"}, {"last_name": "Newman"}, {"first_name": " ", "last_name": " "}]
)
def test_a_new_learner_without_names_is_refused_beside_the_name_field_and_nothing_changes(tenant, order, http, names):
    before = snapshot(tenant)

    page = http.post(url(order, "learners"), {"email": "nia@example.com", **names})

    assert page.status_code == 200
    assert NEW_NAMES_NEEDED in field_errors(page, "first_name") + field_errors(page, "last_name")
    assert 'value="nia@example.com"' in page.text  # what was typed stays
    assert stats(page) == (5, 0, 0)
    assert snapshot(tenant) == before
    assert not User.objects.filter(email="nia@example.com").exists()


def test_a_missing_last_name_is_marked_beside_the_last_name_field(order, http):
    page = http.post(url(order, "learners"), {"email": "nia@example.com", "first_name": "Nia"})

    assert page.status_code == 200
    assert field_errors(page, "last_name") == [NEW_NAMES_NEEDED]
    assert field_errors(page, "first_name") == []


def test_posting_nobody_says_so_and_changes_nothing(tenant, order, http):
    before = snapshot(tenant)

    page = http.post(url(order, "learners"), {"email": "", "first_name": "", "last_name": ""})

    assert page.status_code == 200
    assert NOBODY_PICKED in form_errors(page)
    assert snapshot(tenant) == before


def test_the_earlier_learners_box_lists_this_customers_earlier_learners_only(tenant, course, order, buyer, http):
    ada, bo = earlier_learners(tenant, buyer, "ada@example.com", "bo@example.com")
    earlier_learners(tenant, UserFactory(email="rival@customer.example"), "theirs@example.com")  # another customer's
    [has_it] = earlier_learners(tenant, buyer, "has.it@example.com")
    give(order, "has.it@example.com")  # already on this course: nothing to tick

    page = http.get(url(order))

    assert "Or tick earlier learners" in plain(page)
    ticks = set(re.findall(r'name="earlier" value="(\d+)"', page.text))
    assert ticks == {str(ada.pk), str(bo.pk)}
    assert f"{ada.get_full_name()} (ada@example.com)" in plain(page)
    assert "theirs@example.com" not in plain(page)
    assert_conserved(order)


def test_ticking_earlier_learners_gives_each_a_seat_and_an_email(tenant, course, order, buyer, http):
    ada, bo, cy = earlier_learners(tenant, buyer, "ada@example.com", "bo@example.com", "cy@example.com")
    users = User.objects.count()

    response = http.post(url(order, "learners"), {"earlier": [ada.pk, bo.pk]})

    assert response.status_code == 302
    page = http.get(response["Location"])
    assert "2 learners given a seat and emailed." in flashes(page)
    assert stats(page) == (3, 0, 2)
    assert User.objects.count() == users
    for person in (ada, bo):
        assert CourseAccess.objects.filter(learner=person, product_session=course, revoked_at__isnull=True).exists()
        granted = CourseAccess.objects.get(learner=person, product_session=course, revoked_at__isnull=True)
        [email] = sent(tenant, LOGIN_DETAILS, to_email=person.email).filter(
            idempotency_key__endswith=f"regcode-login-details:granted:{granted.pk}"
        )
        assert set_password_links(email) == []
    assert not CourseAccess.objects.filter(learner=cy, product_session=course).exists()
    ticks = set(re.findall(r'name="earlier" value="(\d+)"', page.text))
    assert ticks == {str(cy.pk)}  # the two now on the course are no longer offered
    assert_conserved(order)


def test_earlier_learners_and_a_new_one_together(tenant, course, order, buyer, http):
    [ada] = earlier_learners(tenant, buyer, "ada@example.com")

    response = http.post(
        url(order, "learners"),
        {"earlier": [ada.pk], "email": "new@example.com", "first_name": "Ned", "last_name": "New"},
    )

    assert response.status_code == 302
    assert "2 learners given a seat and emailed." in flashes(http.get(response["Location"]))
    assert CourseAccess.objects.filter(product_session=course, revoked_at__isnull=True).count() == 2
    assert assert_conserved(order) == {"available": 3, "invited": 0, "claimed": 2}


def test_ticking_another_customers_learner_is_refused_and_changes_nothing(tenant, course, order, buyer, http):
    earlier_learners(tenant, buyer, "ada@example.com")
    [theirs] = earlier_learners(tenant, UserFactory(email="rival@customer.example"), "theirs@example.com")
    before = snapshot(tenant)

    page = http.post(url(order, "learners"), {"earlier": [theirs.pk]})

    assert page.status_code == 200
    assert field_errors(page, "earlier")
    assert snapshot(tenant) == before
    assert not CourseAccess.objects.filter(learner=theirs, product_session=course).exists()


def test_more_learners_than_seats_left_is_refused_with_the_message_and_nothing_changes(tenant, course, buyer, http):
    small = seat_order(course, buyer, quantity=2)
    ada, bo = earlier_learners(tenant, buyer, "ada@example.com", "bo@example.com")
    before = snapshot(tenant)

    page = http.post(
        url(small, "learners"),
        {"earlier": [ada.pk, bo.pk], "email": "new@example.com", "first_name": "Ned", "last_name": "New"},
    )

    assert page.status_code == 200
    assert NOT_ENOUGH_SEATS.format(remaining=2, s="s", asked=3) in form_errors(page)
    assert stats(page) == (2, 0, 0)
    assert snapshot(tenant) == before
    assert not User.objects.filter(email="new@example.com").exists()
    assert assert_conserved(small) == {"available": 2, "invited": 0, "claimed": 0}


def test_with_one_seat_left_two_learners_are_refused(tenant, course, buyer, http):
    small = seat_order(course, buyer, quantity=3)
    give(small, "one@example.com")
    seat_invite(small, "two@example.com")
    [ada] = earlier_learners(tenant, buyer, "ada@example.com")
    before = snapshot(tenant)

    page = http.post(
        url(small, "learners"),
        {"earlier": [ada.pk], "email": "new@example.com", "first_name": "Ned", "last_name": "New"},
    )

    assert page.status_code == 200
    assert NOT_ENOUGH_SEATS.format(remaining=1, s="", asked=2) in form_errors(page)
    assert snapshot(tenant) == before
    assert assert_conserved(small) == {"available": 1, "invited": 1, "claimed": 1}


# Email invitations ----------------------------------------------------------------------------------------------


def test_invitations_go_one_per_address_with_the_message(tenant, order, buyer, http):
    response = http.post(
        url(order, "invites"),
        {"addresses": "ivy@example.com\r\nJoe@Example.com, kai@example.com\n\n", "message": "See you on Monday!"},
    )

    assert response.status_code == 302
    assert response["Location"] == url(order)
    page = http.get(response["Location"])
    assert "3 invitations sent." in flashes(page)
    assert stats(page) == (2, 3, 0)
    invites = LearnerInvite.objects.filter(code__order=order)
    assert sorted(invites.values_list("email", flat=True)) == ["ivy@example.com", "joe@example.com", "kai@example.com"]
    assert {i.status for i in invites} == {LearnerInviteStatus.OPEN}
    assert len({i.code_id for i in invites}) == 3
    emails = list(sent(tenant, INVITATION))
    assert sorted(e.to_email for e in emails) == ["ivy@example.com", "joe@example.com", "kai@example.com"]
    for email in emails:
        assert "See you on Monday!" in email.body_text
        assert email.created_by == buyer
    assert not sent(tenant, LOGIN_DETAILS).exists()
    assert "Pending invites (3)" in plain(page)
    assert_conserved(order)


BAD_ADDRESSES = [
    ("ivy@example.com, not-an-email", ADDRESS_INVALID.format(bad="not-an-email")),
    ("ivy@example.com\nIVY@example.com", ADDRESS_TWICE.format(twice="ivy@example.com")),
    ("ivy@example.com\njoe@example.com\nivy@example.com", ADDRESS_TWICE.format(twice="ivy@example.com")),
    (" , ; ,", NO_ADDRESS),
    ("\n".join(f"p{n}@example.com" for n in range(MAX_ADDRESSES + 1)), TOO_MANY_ADDRESSES),
]


@pytest.mark.parametrize(
    ("addresses", "message"), BAD_ADDRESSES, ids=["invalid", "twice", "twice-apart", "none", "too-many"]
)
def test_bad_addresses_show_the_form_message_and_send_nothing(tenant, order, http, addresses, message):
    before = snapshot(tenant)

    page = http.post(url(order, "invites"), {"addresses": addresses, "message": "Hi"})

    assert page.status_code == 200
    assert field_errors(page, "addresses") == [message]
    assert stats(page) == (5, 0, 0)
    assert snapshot(tenant) == before
    assert not sent(tenant, INVITATION).exists()


@pytest.mark.parametrize("addresses", ["", "   \n  "], ids=["empty", "blank"])
def test_an_empty_address_box_shows_the_no_address_message_and_sends_nothing(tenant, order, http, addresses):
    before = snapshot(tenant)

    page = http.post(url(order, "invites"), {"addresses": addresses, "message": "Hi"})

    assert page.status_code == 200
    assert field_errors(page, "addresses") == [NO_ADDRESS]
    assert stats(page) == (5, 0, 0)
    assert snapshot(tenant) == before


def test_more_addresses_than_seats_left_show_not_enough_seats_and_send_nothing(tenant, order, http):
    give(order, "one@example.com")
    before = snapshot(tenant)

    page = http.post(url(order, "invites"), {"addresses": "\n".join(f"p{n}@example.com" for n in range(6))})

    assert page.status_code == 200
    assert NOT_ENOUGH_SEATS.format(remaining=4, s="s", asked=6) in form_errors(page)
    assert stats(page) == (4, 0, 1)
    assert snapshot(tenant) == before
    assert_conserved(order)


# Pending invites: link, re-invite, withdraw, assign directly ----------------------------------------------------


def test_each_pending_invite_shows_its_working_link(tenant, order, http):
    http.post(url(order, "invites"), {"addresses": "ivy@example.com, joe@example.com"})
    invites = {i.email: i for i in LearnerInvite.objects.filter(code__order=order)}

    page = http.get(url(order))

    links = invite_links(page)
    assert len(links) == 2
    for invite in invites.values():
        [emailed] = [v for v in sent(tenant, INVITATION, to_email=invite.email).get().private_values.values()]
        assert emailed in links
        assert emailed == f"http://testserver{tenant_reverse(tenant, 'seats:accept', seat_token=invite.token)}"
        landing = HttpClient().get(urlsplit(emailed).path)
        assert landing.status_code == 200
        assert "A seat on First aid at work" in plain(landing)
        assert invite.email in plain(landing)
    assert_conserved(order)


def test_reinviting_another_address_keeps_both_open_and_emails_the_new_one(tenant, order, buyer, http):
    first, _ = seat_invite(order, "ivy@example.com", message="Welcome")
    again_url = url(order, "invite_again", seat_invite_id=first.pk)

    form = http.get(again_url)
    assert form.status_code == 200
    assert "Re-invite" in plain(form) and "ivy@example.com" in plain(form)
    assert 'name="email"' in form.text

    response = http.post(again_url, {"email": "Zoe@example.com"})

    assert response.status_code == 302
    assert response["Location"] == url(order)
    page = http.get(response["Location"])
    assert any("zoe@example.com" in f for f in flashes(page))
    both = LearnerInvite.objects.filter(code=first.code).order_by("id")
    assert [(i.email, i.status) for i in both] == [
        ("ivy@example.com", LearnerInviteStatus.OPEN),
        ("zoe@example.com", LearnerInviteStatus.OPEN),
    ]
    [email] = sent(tenant, INVITATION, to_email="zoe@example.com")
    assert email.created_by == buyer
    assert "Welcome" in email.body_text
    assert stats(page) == (4, 1, 0)
    assert len(invite_links(page)) == 2
    for link in invite_links(page):
        assert HttpClient().get(urlsplit(link).path).status_code == 200
    assert_conserved(order)


def test_reinviting_with_no_address_sends_the_same_person_a_new_link(tenant, order, http):
    first, _ = seat_invite(order, "ivy@example.com")

    response = http.post(url(order, "invite_again", seat_invite_id=first.pk), {"email": ""})

    assert response.status_code == 302
    assert sent(tenant, INVITATION, to_email="ivy@example.com").count() == 2
    assert LearnerInvite.objects.filter(code=first.code, status=LearnerInviteStatus.OPEN).count() == 2
    assert_conserved(order)


def test_reinviting_to_a_bad_address_shows_the_error_and_sends_nothing(tenant, order, http):
    first, _ = seat_invite(order, "ivy@example.com")
    before = snapshot(tenant)

    page = http.post(url(order, "invite_again", seat_invite_id=first.pk), {"email": "not an address"})

    assert page.status_code == 200
    assert field_errors(page, "email")
    assert snapshot(tenant) == before


def test_withdrawing_asks_first_then_frees_the_seat_and_the_link_stops_working(tenant, order, http):
    invite, token = seat_invite(order, "ivy@example.com")
    withdraw = url(order, "invite_withdraw", seat_invite_id=invite.pk)
    before = snapshot(tenant)

    confirm = http.get(withdraw)

    assert confirm.status_code == 200
    assert "Withdraw the invitation sent to ivy@example.com?" in plain(confirm)
    assert f'href="{url(order)}"' in confirm.text  # Cancel goes back
    assert snapshot(tenant) == before

    response = http.post(withdraw)

    assert response.status_code == 302
    assert response["Location"] == url(order)
    page = http.get(response["Location"])
    assert "Invitation for ivy@example.com withdrawn." in flashes(page)
    assert stats(page) == (5, 0, 0)
    assert "No pending invites" in plain(page)
    invite.refresh_from_db()
    assert invite.status == LearnerInviteStatus.WITHDRAWN
    landing = HttpClient().get(tenant_reverse(tenant, "seats:accept", seat_token=token))
    assert landing.status_code == 410
    assert INVITE_GONE.format(why=INVITE_WITHDRAWN) in plain(landing)
    assert http.get(withdraw).status_code == 404  # no longer pending
    assert http.post(withdraw).status_code == 404
    assert assert_conserved(order) == {"available": 5, "invited": 0, "claimed": 0}


def test_withdrawing_one_of_two_invites_for_a_seat_keeps_it_invited(tenant, order, http):
    first, _ = seat_invite(order, "ivy@example.com")
    http.post(url(order, "invite_again", seat_invite_id=first.pk), {"email": "zoe@example.com"})

    http.post(url(order, "invite_withdraw", seat_invite_id=first.pk))

    assert stats(http.get(url(order))) == (4, 1, 0)
    assert assert_conserved(order) == {"available": 4, "invited": 1, "claimed": 0}


def test_assigning_directly_gives_the_invited_address_the_seat_with_a_new_login(tenant, course, order, http):
    invite, token = seat_invite(order, "ivy@example.com")
    http.post(url(order, "invite_again", seat_invite_id=invite.pk), {"email": "zoe@example.com"})
    other = LearnerInvite.objects.get(email="zoe@example.com")
    assign = url(order, "invite_assign", seat_invite_id=invite.pk)
    before = snapshot(tenant)

    confirm = http.get(assign)

    assert confirm.status_code == 200
    assert "Give the seat to ivy@example.com now?" in plain(confirm)
    assert snapshot(tenant) == before

    response = http.post(assign)

    assert response.status_code == 302
    page = http.get(response["Location"])
    assert "ivy@example.com has the seat and was emailed." in flashes(page)
    user = User.objects.get(email="ivy@example.com")
    assert CourseAccess.objects.filter(learner=user, product_session=course, revoked_at__isnull=True).count() == 1
    invite.refresh_from_db()
    other.refresh_from_db()
    assert invite.status == LearnerInviteStatus.ACCEPTED
    assert other.status == LearnerInviteStatus.INVALID
    [email] = sent(tenant, LOGIN_DETAILS, to_email="ivy@example.com")
    assert len(set_password_links(email)) == 1
    assert stats(page) == (4, 0, 1)
    assert "No pending invites" in plain(page)
    assert "ivy@example.com" in plain(page)  # now under completed registrations
    assert HttpClient().get(tenant_reverse(tenant, "seats:accept", seat_token=token)).status_code == 410
    landing = HttpClient().get(tenant_reverse(tenant, "seats:accept", seat_token=other.token))
    assert landing.status_code == 410
    assert INVITE_GONE.format(why=INVITE_TAKEN) in plain(landing)
    assert assert_conserved(order) == {"available": 4, "invited": 0, "claimed": 1}


def test_assigning_directly_to_an_existing_login_makes_no_new_user(tenant, course, order, http):
    existing = UserFactory(email="ivy@example.com")
    invite, _ = seat_invite(order, "ivy@example.com")
    users = User.objects.count()

    response = http.post(url(order, "invite_assign", seat_invite_id=invite.pk))

    assert response.status_code == 302
    assert User.objects.count() == users
    assert authenticate(username="ivy@example.com", password=DEFAULT_PASSWORD) == existing
    assert CourseAccess.objects.filter(learner=existing, product_session=course, revoked_at__isnull=True).exists()
    [email] = sent(tenant, LOGIN_DETAILS, to_email="ivy@example.com")
    assert set_password_links(email) == []
    assert_conserved(order)


# Completed registrations: resend and remove --------------------------------------------------------------------


def test_resending_the_confirmation_asks_first_then_sends_one_more_email_without_a_password_link(tenant, order, http):
    http.post(url(order, "learners"), {"email": "nia@example.com", "first_name": "Nia", "last_name": "Newman"})
    access = CourseAccess.objects.get(learner__email="nia@example.com")
    resend = url(order, "access_resend", access_id=access.pk)
    before = snapshot(tenant)

    confirm = http.get(resend)

    assert confirm.status_code == 200
    assert "Send nia@example.com their course confirmation again?" in plain(confirm)
    assert snapshot(tenant) == before

    response = http.post(resend)

    assert response.status_code == 302
    assert "Confirmation sent again to nia@example.com." in flashes(http.get(response["Location"]))
    first, again = sent(tenant, LOGIN_DETAILS, to_email="nia@example.com")
    assert len(set_password_links(first)) == 1
    assert set_password_links(again) == []
    assert again.subject == first.subject
    http.post(resend)  # a second click at once (a double click) sends nothing more
    assert sent(tenant, LOGIN_DETAILS, to_email="nia@example.com").count() == 2
    assert CourseAccess.objects.get(pk=access.pk).revoked_at is None
    assert_conserved(order)


def test_removing_a_learner_asks_first_then_revokes_access_and_returns_the_seat(tenant, course, order, http):
    [access, stays] = give(order, "lena@example.com", "max@example.com")
    remove = url(order, "access_remove", access_id=access.pk)
    before = snapshot(tenant)

    confirm = http.get(remove)

    assert confirm.status_code == 200
    assert "Remove Lee Lena (lena@example.com) from the course?" in plain(confirm)
    assert snapshot(tenant) == before
    assert stats(http.get(url(order))) == (3, 0, 2)

    response = http.post(remove)

    assert response.status_code == 302
    page = http.get(response["Location"])
    assert "lena@example.com no longer has access; the seat is back in your remaining seats." in flashes(page)
    assert stats(page) == (4, 0, 1)
    access.refresh_from_db()
    assert access.revoked_at is not None
    assert "lena@example.com" not in plain(page).split("Completed registrations")[1]
    assert "max@example.com" in plain(page)
    assert tile(signed_in(access.learner).get(home_url(tenant)), "Your courses") is None
    assert tile(signed_in(stays.learner).get(home_url(tenant)), "Your courses") is not None
    home = http.get(home_url(tenant))
    assert_tile_row(
        home,
        order,
        day=day(timezone.localtime(order.created_at, tenant.zone)),
        product="First aid at work",
        run="Spring run",
        remaining=4,
        invited=0,
        claimed=1,
    )
    assert http.get(remove).status_code == 404  # gone from the list
    assert http.post(remove).status_code == 404
    assert assert_conserved(order) == {"available": 4, "invited": 0, "claimed": 1}


def test_a_removed_seat_can_be_given_again_to_someone_new_or_to_the_same_learner(tenant, course, buyer, http):
    small = seat_order(course, buyer, quantity=2)
    [lena, _] = give(small, "lena@example.com", "max@example.com")
    http.post(url(small, "access_remove", access_id=lena.pk))
    assert_conserved(small)

    page = http.get(url(small))
    assert re.search(rf'name="earlier" value="{lena.learner_id}"', page.text)  # the removed learner can be ticked
    response = http.post(url(small, "learners"), {"earlier": [lena.learner_id]})
    assert response.status_code == 302
    assert tile(signed_in(lena.learner).get(home_url(tenant)), "Your courses") is not None
    assert assert_conserved(small) == {"available": 0, "invited": 0, "claimed": 2}

    again = CourseAccess.objects.get(learner=lena.learner, product_session=course, revoked_at__isnull=True)
    http.post(url(small, "access_remove", access_id=again.pk))
    response = http.post(url(small, "learners"), {"email": "new@example.com", "first_name": "Ned", "last_name": "New"})
    assert response.status_code == 302
    assert CourseAccess.objects.filter(learner__email="new@example.com", revoked_at__isnull=True).count() == 1
    assert assert_conserved(small) == {"available": 0, "invited": 0, "claimed": 2}

    full = http.post(url(small, "learners"), {"email": "late@example.com", "first_name": "La", "last_name": "Te"})
    assert full.status_code == 200
    assert NOT_ENOUGH_SEATS.format(remaining=0, s="s", asked=1) in form_errors(full)
    assert assert_conserved(small) == {"available": 0, "invited": 0, "claimed": 2}


# Customers and tenants kept apart --------------------------------------------------------------------------------


@pytest.fixture
def busy_order(order):
    """An order with a pending invite and a learner, so that every URL has something to reach."""
    invite, _ = seat_invite(order, "ivy@example.com")
    [access] = give(order, "lena@example.com")
    return order, invite, access


def test_another_customer_gets_404_on_every_url_of_the_order_and_nothing_changes(tenant, busy_order):
    order, invite, access = busy_order
    rival = UserFactory(email="rival@customer.example")
    seat_order(order.product_session, rival, quantity=3)  # a customer with codes of their own
    before = snapshot(tenant)

    for person in (rival, access.learner):  # another customer, and the learner the buyer gave a seat
        client = signed_in(person)
        for address in everything(order, invite, access):
            assert client.get(address).status_code == 404, (person, address)
            assert client.post(address, ACTING_POST).status_code == 404, (person, address)
        assert order.number not in plain(client.get(home_url(tenant)))

    assert snapshot(tenant) == before
    invite.refresh_from_db()
    assert invite.status == LearnerInviteStatus.OPEN
    assert not User.objects.filter(email="intruder@example.com").exists()
    assert assert_conserved(order) == {"available": 3, "invited": 1, "claimed": 1}


def test_ids_of_another_customers_order_in_my_order_urls_are_404(tenant, busy_order, buyer, http):
    order, invite, access = busy_order
    theirs = seat_order(order.product_session, UserFactory(email="rival@customer.example"), quantity=3)
    their_invite, _ = seat_invite(theirs, "their-invitee@example.com")
    [their_access] = give(theirs, "their-learner@example.com")
    mine = seat_order(order.product_session, buyer, quantity=3)
    before = snapshot(tenant)

    # my other order's URL with this order's invite and access, and mine with theirs
    for host, inv, acc in ((mine, invite, access), (order, their_invite, their_access)):
        for address in everything(host, inv, acc)[3:]:
            assert http.get(address).status_code == 404, address
            assert http.post(address, ACTING_POST).status_code == 404, address
    assert snapshot(tenant) == before
    assert assert_conserved(theirs) == {"available": 1, "invited": 1, "claimed": 1}
    assert assert_conserved(order) == {"available": 3, "invited": 1, "claimed": 1}


def test_another_tenants_order_id_in_this_tenants_urls_is_404(tenant, other_tenant, busy_order, buyer, http):
    order, invite, access = busy_order
    there = seat_order(ProductSessionFactory(tenant=other_tenant), buyer, quantity=3)  # the same buyer, elsewhere
    there_invite, _ = seat_invite(there, "ivy@example.com")
    [there_access] = give(there, "lena@example.com")
    before_here, before_there = snapshot(tenant), snapshot(other_tenant)

    for address in everything(there, there_invite, there_access):
        address_here = address.replace(f"/t/{other_tenant.slug}/", f"/t/{tenant.slug}/", 1)
        assert address_here != address
        assert http.get(address_here).status_code == 404, address_here
        assert http.post(address_here, ACTING_POST).status_code == 404, address_here
    for address in everything(order, invite, access):  # and this tenant's order under the other tenant
        address_there = address.replace(f"/t/{tenant.slug}/", f"/t/{other_tenant.slug}/", 1)
        assert http.get(address_there).status_code == 404, address_there
        assert http.post(address_there, ACTING_POST).status_code == 404, address_there

    assert (snapshot(tenant), snapshot(other_tenant)) == (before_here, before_there)
    assert http.get(url(there)).status_code == 200  # in its own tenant, the page is there
    assert_conserved(order)
    assert_conserved(there)


def test_anonymous_is_sent_to_sign_in_from_every_url_and_nothing_changes(tenant, busy_order):
    order, invite, access = busy_order
    before = snapshot(tenant)
    login = reverse("accounts:login")

    for address in [*everything(order, invite, access), home_url(tenant)]:
        for response in (HttpClient().get(address), HttpClient().post(address, ACTING_POST)):
            assert response.status_code == 302, address
            where = urlsplit(response["Location"])
            assert where.path == login
            assert parse_qs(where.query) == {"next": [address]}

    assert snapshot(tenant) == before
    assert_conserved(order)


# Junk ----------------------------------------------------------------------------------------------------------------


JUNK = [
    {},
    {"email": "x" * 300, "first_name": "y" * 5000, "last_name": "z" * 5000, "password": "p" * 10000},
    {"email": "a\x00@example.com", "first_name": "N\x00", "last_name": "\x1b[31m"},
    {"earlier": ["abc", "1.5", "", "-1", "99999999999999999999999", "0x10"]},
    {"earlier": "1; DROP TABLE users"},
    {"addresses": "a@b.co " * 8000, "message": "m" * 100_000},
    {"addresses": "\x00", "message": "\x00"},
    {"addresses": "<script>alert(1)</script>@x.com", "message": "{{ tenant }}{% now 'Y' %}"},
    {"email": ["a@example.com", "not-an-email"], "addresses": ["a@example.com", "not-an-email"], "earlier": ["x", "y"]},
]


def test_junk_posts_never_500(tenant, course, busy_order, buyer, http):
    order, invite, access = busy_order
    earlier_learners(tenant, buyer, "ada@example.com")  # so that the earlier box is there
    quiet = everything(order, invite, access)[:3]  # the pages that act only on a valid form
    before = snapshot(tenant)

    for address in quiet:
        for data in JUNK:
            response = http.post(address, data)
            assert response.status_code < 500, (address, data)
            assert response.status_code in (200, 302, 400), (address, data)
        for body, content_type in (
            ('{"addresses": "a@example.com"}', "application/json"),
            ("\xff\xfe garbage", "application/octet-stream"),
            ("addresses=%ZZ&earlier=%00", "application/x-www-form-urlencoded"),
            ("--x\r\nbroken", "multipart/form-data; boundary=x"),
        ):
            assert http.post(address, body, content_type=content_type).status_code < 500, (address, body)
    assert snapshot(tenant) == before
    page = http.post(url(order, "invites"), JUNK[7])
    assert "<script>alert(1)</script>" not in page.text  # shown escaped

    for address in everything(order, invite, access)[3:]:  # re-invite (no address: the same one) and the rest act
        for data in JUNK[:4]:
            assert http.post(address, data).status_code < 500, (address, data)
    assert_conserved(order)


@pytest.mark.parametrize("number", ["0", "2147483648", "9223372036854775808", "99999999999999999999999"])
def test_odd_ids_in_the_url_are_404_never_500(tenant, busy_order, http, number):
    order, invite, access = busy_order
    before = snapshot(tenant)
    base = f"/t/{tenant.slug}/account/seats"
    for address in (
        f"{base}/{number}/",
        f"{base}/{number}/learners/",
        f"{base}/{number}/invitations/{invite.pk}/assign/",
        f"{base}/{order.pk}/invitations/{number}/again/",
        f"{base}/{order.pk}/invitations/{number}/withdraw/",
        f"{base}/{order.pk}/invitations/{number}/assign/",
        f"{base}/{order.pk}/learners/{number}/remove/",
        f"{base}/{order.pk}/learners/{number}/resend/",
    ):
        assert http.get(address).status_code == 404, address
        assert http.post(address, ACTING_POST).status_code == 404, address
    assert snapshot(tenant) == before
    assert_conserved(order)
