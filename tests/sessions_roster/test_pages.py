"""Pages of session rosters, through the Django test client: what staff see and do under
/t/<slug>/sessions/ (sessions, roster, +Add Participant, resend/cancel, payments, waitlist, discount
codes) and what the public sees under /t/<slug>/register/ (listing, session page, cart, checkout,
invitation and waitlist-offer links, proving an invited address, the order page, My Account)."""

import html
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from messaging.models import OutboundEmail
from sessions_roster import public
from sessions_roster.models import (
    DiscountCode,
    InvitationStatus,
    Order,
    OrderStatus,
    Registration,
    RegistrationStatus,
    Session,
    SessionInvitation,
    WaitlistEntry,
    WaitlistStatus,
)
from sessions_roster.services import checkout as checkout_service
from sessions_roster.services import discounts as discount_service
from sessions_roster.services import invitations as invitation_service
from sessions_roster.services import sessions as session_service
from sessions_roster.services import waitlist as waitlist_service
from tenancy.models import Role
from tenancy.urlresolvers import tenant_reverse

from ..conftest import member, signed_in
from ..factories import (
    DiscountFactory,
    SessionFactory,
    UserFactory,
    offer_token,
    session_invite,
    session_register,
    waitlist_add,
)

pytestmark = pytest.mark.django_db


# Helpers


def text(response) -> str:
    return html.unescape(response.content.decode())


def plain(response) -> str:
    """The page's text without tags, spaces squeezed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.content.decode())).split())


def field_error(response, field: str) -> str:
    return html.unescape(
        " ".join(re.findall(rf'<p class="field-error" id="id_{field}_error">(.*?)</p>', response.content.decode()))
    )


def form_errors(response) -> str:
    found = re.search(r'<div class="form-errors" role="alert">(.*?)</div>', response.content.decode(), re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", found[1])).strip() if found else ""


def flashes(response) -> list[str]:
    return [html.unescape(m) for m in re.findall(r'<p class="flash flash-\w+">(.*?)</p>', response.content.decode())]


def stats(response) -> dict[str, int]:
    found = re.findall(
        r'<span class="stat-value">(\d+)</span><span class="stat-label">([^<]+)</span>', response.content.decode()
    )
    return {label: int(value) for value, label in found}


def section(response, heading: str) -> str:
    """The text of the card whose heading starts with ``heading``."""
    for part in response.content.decode().split("<section")[1:]:
        if re.search(rf"<h[12][^>]*>{re.escape(heading)}", part):
            return html.unescape(part.split("</section>")[0])
    raise AssertionError(f"no section {heading!r}")


def rows(fragment) -> list[str]:
    """The text of each table row of an HTML fragment (a response or a string), spaces squeezed."""
    source = fragment if isinstance(fragment, str) else fragment.content.decode()
    return [
        " ".join(html.unescape(re.sub(r"<[^>]+>", " ", row)).split())
        for row in re.findall(r"<tr[^>]*>(.*?)</tr>", source, re.S)
    ]


def row_with(fragment, needle: str) -> str:
    [found] = [row for row in rows(fragment) if needle in row]
    return found


def u(tenant, name, **kwargs) -> str:
    return tenant_reverse(tenant, name, **kwargs)


def emails(key: str, to: str | None = None):
    rows = OutboundEmail.objects.filter(template_key=key)
    return rows.filter(to_email=to) if to else rows


def private_value(email: OutboundEmail) -> str:
    [value] = email.private_values.values()
    return value


def local(tenant, moment) -> datetime:
    return timezone.localtime(moment, tenant.zone)


def register_cart(http, tenant, session):
    """Put ``session`` in the visitor's cart through the page."""
    response = http.post(u(tenant, "register:add", session_key=session.key))
    assert response.status_code == 302 and response["Location"] == u(tenant, "register:cart")


ATTENDEE = {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com"}


@pytest.fixture
def session(tenant):
    return SessionFactory(tenant=tenant, title="Pottery basics", location="Studio A", capacity=3)


def backdate_sent(invitation, seconds=60):
    SessionInvitation.objects.filter(pk=invitation.pk).update(sent_at=timezone.now() - timedelta(seconds=seconds))


# Staff: sessions list


def test_the_sessions_list_shows_spots_taken_or_held_over_capacity_and_a_full_badge(owner_http, tenant):
    roomy = SessionFactory(tenant=tenant, title="Roomy workshop", capacity=5)
    session_register(roomy)
    session_register(roomy)
    session_invite(roomy)
    tight = SessionFactory(tenant=tenant, title="Tight workshop", capacity=1)
    session_register(tight)

    response = owner_http.get(u(tenant, "sessions:list"))

    assert response.status_code == 200
    roomy_row, tight_row = row_with(response, "Roomy workshop"), row_with(response, "Tight workshop")
    assert "3 / 5" in roomy_row and "2 registered" in roomy_row and "Full" not in roomy_row
    assert "1 / 1" in tight_row and "Full" in tight_row


def test_the_sessions_list_searches_title_and_location(owner_http, tenant):
    SessionFactory(tenant=tenant, title="Pottery basics", location="Studio A")
    SessionFactory(tenant=tenant, title="Watercolour", location="Garden room")

    by_title = text(owner_http.get(u(tenant, "sessions:list"), {"q": "pottery"}))
    by_location = text(owner_http.get(u(tenant, "sessions:list"), {"q": "garden"}))

    assert "Pottery basics" in by_title and "Watercolour" not in by_title
    assert "Watercolour" in by_location and "Pottery basics" not in by_location


def test_the_sessions_list_shows_upcoming_by_default_and_past_or_all_on_request(owner_http, tenant):
    now = timezone.now()
    SessionFactory(tenant=tenant, title="Next week class")
    SessionFactory(tenant=tenant, title="Last month class", starts_at=now - timedelta(days=30))

    upcoming = text(owner_http.get(u(tenant, "sessions:list")))
    past = text(owner_http.get(u(tenant, "sessions:list"), {"when": "past"}))
    every = text(owner_http.get(u(tenant, "sessions:list"), {"when": "all"}))

    assert "Next week class" in upcoming and "Last month class" not in upcoming
    assert "Last month class" in past and "Next week class" not in past
    assert "Last month class" in every and "Next week class" in every


def test_the_sessions_list_says_when_there_is_nothing_and_when_nothing_matches(owner_http, staff_http, tenant):
    empty = text(owner_http.get(u(tenant, "sessions:list")))
    assert "No upcoming sessions" in empty and "Add a session" in empty
    assert "An admin or owner adds sessions." in text(staff_http.get(u(tenant, "sessions:list")))

    SessionFactory(tenant=tenant, title="Pottery basics")
    nothing = text(owner_http.get(u(tenant, "sessions:list"), {"q": "juggling"}))
    assert "No sessions match" in nothing and "Show upcoming sessions" in nothing


def test_the_sessions_list_pages_by_25(owner_http, tenant):
    start = timezone.now().replace(microsecond=0) + timedelta(days=2)
    for n in range(30):
        SessionFactory(tenant=tenant, title=f"Class {n:02d}", starts_at=start + timedelta(hours=n))

    first = text(owner_http.get(u(tenant, "sessions:list")))
    second = text(owner_http.get(u(tenant, "sessions:list"), {"page": "2"}))

    assert "Class 00" in first and "Class 24" in first and "Class 25" not in first
    assert "Page 1 of 2 · 30 in all" in first
    assert "Class 25" in second and "Class 29" in second and "Class 24" not in second


def test_paging_keeps_the_search(owner_http, tenant):
    start = timezone.now().replace(microsecond=0) + timedelta(days=2)
    for n in range(27):
        SessionFactory(tenant=tenant, title=f"Pottery {n:02d}", starts_at=start + timedelta(hours=n))
    SessionFactory(tenant=tenant, title="Watercolour")

    first = owner_http.get(u(tenant, "sessions:list"), {"q": "pottery"})
    following = html.unescape(re.search(r'<a href="([^"]+)" rel="next">', first.content.decode())[1])
    second = text(owner_http.get(u(tenant, "sessions:list") + following if following.startswith("?") else following))

    assert "q=pottery" in following and "page=2" in following
    assert "Pottery 25" in second and "Pottery 26" in second and "Watercolour" not in second


@pytest.mark.parametrize(
    "params",
    [
        {"page": "abc"},
        {"page": "999"},
        {"page": "-1"},
        {"when": "tomorrow"},
        {"when": ["past", "all"]},
        {"q": "x" * 500},
        {"q": "nul\x00byte"},
        {"q": "'; drop table--", "when": "all", "page": "0"},
    ],
)
def test_junk_query_parameters_never_break_the_sessions_list(owner_http, tenant, params):
    SessionFactory(tenant=tenant, title="Pottery basics")

    response = owner_http.get(u(tenant, "sessions:list"), params)

    assert response.status_code == 200


def test_an_unknown_when_is_ignored_with_a_note(owner_http, tenant):
    SessionFactory(tenant=tenant, title="Pottery basics")

    page = text(owner_http.get(u(tenant, "sessions:list"), {"when": "tomorrow"}))

    assert "This filter was ignored." in page and "Pottery basics" in page


# Staff: who may create and edit


@pytest.mark.parametrize("name", ["sessions:create", "sessions:discount_create"])
def test_staff_cannot_open_the_create_pages(staff_http, tenant, name):
    assert staff_http.get(u(tenant, name)).status_code == 403


def test_staff_cannot_create_or_edit_sessions_or_discount_codes(staff_http, tenant, session):
    discount = DiscountFactory(tenant=tenant, code="SPRING")

    assert staff_http.get(u(tenant, "sessions:edit", session_id=session.pk)).status_code == 403
    assert staff_http.get(u(tenant, "sessions:discount_edit", discount_id=discount.pk)).status_code == 403
    assert staff_http.post(u(tenant, "sessions:create"), {"title": "Sneaky"}).status_code == 403
    assert staff_http.post(u(tenant, "sessions:edit", session_id=session.pk), {"title": "Renamed"}).status_code == 403
    assert staff_http.post(u(tenant, "sessions:discount_create"), {"code": "SNEAKY"}).status_code == 403
    assert not Session.objects.filter(title__in=["Sneaky", "Renamed"]).exists()
    assert not DiscountCode.objects.filter(code="SNEAKY").exists()


def test_staff_see_no_edit_buttons_but_can_use_the_roster(staff_http, tenant, session):
    listing = text(staff_http.get(u(tenant, "sessions:list")))
    roster = staff_http.get(u(tenant, "sessions:roster", session_id=session.pk))

    assert "Add session" not in listing
    assert roster.status_code == 200
    assert "Edit session" not in text(roster) and "+Add Participant" in text(roster)


def test_admin_can_open_the_create_and_edit_pages(admin_http, tenant, session):
    discount = DiscountFactory(tenant=tenant)

    for address in (
        u(tenant, "sessions:create"),
        u(tenant, "sessions:edit", session_id=session.pk),
        u(tenant, "sessions:discount_create"),
        u(tenant, "sessions:discount_edit", discount_id=discount.pk),
    ):
        assert admin_http.get(address).status_code == 200


def test_signed_out_people_are_sent_to_sign_in(client, tenant, session):
    response = client.get(u(tenant, "sessions:roster", session_id=session.pk))

    assert response.status_code == 302 and "/login/" in response["Location"]


def test_another_tenants_session_is_not_found(owner_http, tenant, other_tenant):
    foreign = SessionFactory(tenant=other_tenant)

    assert owner_http.get(u(tenant, "sessions:roster", session_id=foreign.pk)).status_code == 404
    assert owner_http.get(u(tenant, "sessions:invite", session_id=foreign.pk)).status_code == 404


# Staff: the session form


def session_form(**overrides):
    year = timezone.now().year + 1
    return {
        "title": "Evening class",
        "description": "Bring an apron.",
        "location": "Hall",
        "starts_at": f"{year}-06-01T19:00",
        "ends_at": f"{year}-06-01T21:00",
        "capacity": "12",
        "price": "15.00",
        "registration_opens_at": "",
        "is_listed": "on",
        "offer_hold_hours": "24",
        **overrides,
    }


def test_admin_creates_a_session_with_times_in_the_tenants_time_zone(admin_http, tenant):
    year = timezone.now().year + 1
    response = admin_http.post(
        u(tenant, "sessions:create"), session_form(registration_opens_at=f"{year}-01-15T09:30"), follow=True
    )

    created = Session.objects.get(title="Evening class")
    assert response.redirect_chain[-1][0] == u(tenant, "sessions:roster", session_id=created.pk)
    assert "Session “Evening class” saved." in flashes(response)
    assert created.starts_at == datetime(year, 6, 1, 17, 0, tzinfo=UTC)  # CEST, UTC+2
    assert created.ends_at == datetime(year, 6, 1, 19, 0, tzinfo=UTC)
    assert created.registration_opens_at == datetime(year, 1, 15, 8, 30, tzinfo=UTC)  # CET, UTC+1
    assert (created.capacity, created.price, created.is_listed, created.tenant) == (12, Decimal("15.00"), True, tenant)
    assert "Times are in Europe/Amsterdam." in text(admin_http.get(u(tenant, "sessions:create")))
    assert "19:00–21:00" in text(response)
    public_page = plain(admin_http.get(u(tenant, "register:session", session_key=created.key)))
    assert "19:00–21:00 (Europe/Amsterdam)" in public_page
    assert f"15 January {year}, 09:30" in public_page


def test_the_session_form_shows_times_back_in_the_tenants_time_zone(admin_http, tenant):
    admin_http.post(u(tenant, "sessions:create"), session_form())
    created = Session.objects.get(title="Evening class")

    page = admin_http.get(u(tenant, "sessions:edit", session_id=created.pk)).content.decode()

    year = timezone.now().year + 1
    assert f'value="{year}-06-01T19:00"' in page and f'value="{year}-06-01T21:00"' in page


def test_an_end_before_the_start_is_refused_beside_the_end(admin_http, tenant):
    year = timezone.now().year + 1
    response = admin_http.post(u(tenant, "sessions:create"), session_form(ends_at=f"{year}-06-01T18:00"))

    assert response.status_code == 200
    assert not Session.objects.exists()
    assert "Constraint" not in form_errors(response)
    assert field_error(response, "ends_at") == session_service.ENDS_BEFORE_START


def test_registration_opening_after_the_start_is_refused_beside_the_field(admin_http, tenant):
    year = timezone.now().year + 1
    response = admin_http.post(u(tenant, "sessions:create"), session_form(registration_opens_at=f"{year}-06-02T09:00"))

    assert field_error(response, "registration_opens_at") == session_service.OPENS_AFTER_START
    assert not Session.objects.exists()


def test_missing_and_malformed_fields_are_shown_beside_them(admin_http, tenant):
    response = admin_http.post(
        u(tenant, "sessions:create"), session_form(title="", starts_at="next tuesday", capacity="0")
    )

    assert response.status_code == 200
    assert field_error(response, "title") == "This field is required."
    assert field_error(response, "starts_at") == "Enter a valid date/time."
    assert "greater than or equal to 1" in field_error(response, "capacity")
    assert not Session.objects.exists()


def test_the_capacity_cannot_go_below_the_spots_taken(admin_http, tenant, session):
    session_register(session)
    session_invite(session)

    response = admin_http.post(
        u(tenant, "sessions:edit", session_id=session.pk),
        session_form(
            title=session.title,
            starts_at=f"{local(tenant, session.starts_at):%Y-%m-%dT%H:%M}",
            ends_at=f"{local(tenant, session.ends_at):%Y-%m-%dT%H:%M}",
            capacity="1",
        ),
    )

    assert response.status_code == 200
    assert field_error(response, "capacity") == session_service.CAPACITY_BELOW_TAKEN.format(taken=2)
    session.refresh_from_db()
    assert session.capacity == 3


def test_editing_a_session_saves_it_and_a_raised_capacity_goes_to_the_waitlist(admin_http, tenant):
    session = SessionFactory(tenant=tenant, title="Pottery basics", capacity=1)
    session_register(session)
    entry = waitlist_add(session, "wendy@example.com")

    response = admin_http.post(
        u(tenant, "sessions:edit", session_id=session.pk),
        session_form(
            title="Pottery basics II",
            starts_at=f"{local(tenant, session.starts_at):%Y-%m-%dT%H:%M}",
            ends_at=f"{local(tenant, session.ends_at):%Y-%m-%dT%H:%M}",
            capacity="2",
        ),
        follow=True,
    )

    assert "Session “Pottery basics II” saved." in flashes(response)
    session.refresh_from_db()
    entry.refresh_from_db()
    assert (session.title, session.capacity, session.spots_taken) == ("Pottery basics II", 2, 2)
    assert entry.status == WaitlistStatus.OFFERED
    assert emails("sessions_roster.waitlist_offer", "wendy@example.com").count() == 1


def test_admin_deletes_an_unused_session_after_confirming(admin_http, staff_http, tenant, session):
    address = u(tenant, "sessions:delete", session_id=session.pk)
    assert staff_http.post(address).status_code == 403
    assert "Delete the session “Pottery basics”?" in text(admin_http.get(address))
    assert Session.objects.filter(pk=session.pk).exists()

    response = admin_http.post(address, follow=True)

    assert response.redirect_chain == [(u(tenant, "sessions:list"), 302)]
    assert "Session “Pottery basics” deleted." in flashes(response)
    assert not Session.objects.filter(pk=session.pk).exists()


def test_a_session_in_use_cannot_be_deleted(admin_http, tenant, session):
    session_invite(session)

    response = admin_http.post(u(tenant, "sessions:delete", session_id=session.pk), follow=True)

    assert response.redirect_chain == [(u(tenant, "sessions:roster", session_id=session.pk), 302)]
    assert session_service.SESSION_IN_USE in flashes(response)
    assert Session.objects.filter(pk=session.pk).exists()


# Staff: the roster


@pytest.fixture
def busy_session(tenant, owner):
    """Capacity 6: one awaiting payment, one confirmed, one unlocked and one locked invitation, one
    cancelled registration and one cancelled invitation."""
    session = SessionFactory(tenant=tenant, title="Pottery basics", capacity=6)
    session_register(session, "awaiting@example.com", first_name="Anna", last_name="Waits")
    paid = session_register(session, "confirmed@example.com", first_name="Carl", last_name="Paid")
    checkout_service.order_mark_paid(tenant=tenant, order=paid, actor=owner)
    session_invite(session, "open@example.com")
    session_invite(session, "locked@example.com", lock_to_email=True)
    gone = session_register(session, "gone@example.com", first_name="Gina", last_name="Gone")
    checkout_service.registration_cancel(tenant=tenant, registration=gone.registrations.get(), actor=owner)
    withdrawn, _ = session_invite(session, "withdrawn@example.com")
    invitation_service.invitation_cancel(tenant=tenant, invitation=withdrawn, actor=owner)
    return session


def test_the_roster_lists_registrations_with_their_status(staff_http, tenant, busy_session):
    response = staff_http.get(u(tenant, "sessions:roster", session_id=busy_session.pk))

    registered = section(response, "Registered")
    assert "Registered (2)" in registered
    assert "Anna Waits" in registered and "awaiting@example.com" in registered
    assert "Carl Paid" in registered and "confirmed@example.com" in registered
    assert re.search(r"Awaiting payment</span>", registered) and re.search(r"Confirmed</span>", registered)
    assert "Mark paid" in registered  # only for the one awaiting payment
    assert registered.count("Mark paid") == 1
    assert "Gina Gone" not in registered


def test_the_roster_lists_pending_invitations_with_sent_time_and_lock_state(staff_http, tenant, busy_session):
    response = staff_http.get(u(tenant, "sessions:roster", session_id=busy_session.pk))

    invited = section(response, "Invited, pending")
    assert "Invited, pending (2)" in invited
    open_row, locked_row = (
        row for row in re.findall(r"<tr>(.*?)</tr>", invited, re.S) if "open@" in row or "locked@" in row
    )
    assert "Not locked: a forwarded link can be used by anyone" in open_row
    assert "Locked to this address" not in open_row
    assert "Locked to this address" in locked_row
    assert "Not locked" not in locked_row
    sent = SessionInvitation.objects.get(email="open@example.com").sent_at
    assert f"{local(tenant, sent):%-d %b %Y, %H:%M}" in open_row
    assert "withdrawn@example.com" not in invited


def test_the_roster_lists_what_was_cancelled(staff_http, tenant, busy_session):
    response = staff_http.get(u(tenant, "sessions:roster", session_id=busy_session.pk))

    cancelled = section(response, "Cancelled")
    assert "Gina Gone" in cancelled and "Registration cancelled by Olga Owner" in cancelled
    assert "withdrawn@example.com" in cancelled and "Invitation cancelled by Olga Owner" in cancelled


def test_the_roster_sums_up_the_capacity(staff_http, tenant, busy_session):
    response = staff_http.get(u(tenant, "sessions:roster", session_id=busy_session.pk))

    assert stats(response) == {
        "Capacity": 6,
        "Confirmed": 1,
        "Awaiting payment": 1,
        "Invited (held)": 2,
        "Waitlist offers (held)": 0,
        "Free": 2,
    }


def test_a_full_roster_says_full_and_an_empty_one_says_nobody_yet(staff_http, tenant):
    full = SessionFactory(tenant=tenant, capacity=1)
    session_register(full)
    empty = SessionFactory(tenant=tenant, capacity=4)

    assert stats(staff_http.get(u(tenant, "sessions:roster", session_id=full.pk)))["Full"] == 0
    page = staff_http.get(u(tenant, "sessions:roster", session_id=empty.pk))
    assert stats(page)["Free"] == 4
    assert "Nobody registered yet" in text(page) and "No pending invitations" in text(page)
    assert "Nothing cancelled" in text(page)


# Staff: +Add Participant


def test_add_participant_sends_an_invitation_that_holds_a_spot(staff_http, tenant, session, staff):
    discount = DiscountFactory(tenant=tenant, code="FRIENDS", value=Decimal("50"))

    response = staff_http.post(
        u(tenant, "sessions:invite", session_id=session.pk),
        {"email": "New.Person@Example.com", "discount_code": discount.pk},
        follow=True,
    )

    assert response.redirect_chain == [(u(tenant, "sessions:roster", session_id=session.pk), 302)]
    invitation = SessionInvitation.objects.get()
    assert "Invitation sent to new.person@example.com. Their spot is held." in flashes(response)
    assert invitation.status == InvitationStatus.PENDING
    assert (invitation.discount_code, invitation.created_by, invitation.lock_to_email) == (discount, staff, False)
    [sent] = emails("sessions_roster.invitation")
    assert sent.to_email == invitation.email
    assert "invites you to Pottery basics" in sent.body_text
    assert "Your discount: 50% off (code FRIENDS, already in your cart)" in sent.body_text
    assert "new.person@example.com" in section(response, "Invited, pending")
    assert "FRIENDS" in section(response, "Invited, pending")
    session.refresh_from_db()
    assert session.spots_taken == 1


def test_the_emailed_link_opens_the_cart_with_the_discount(staff_http, client, tenant, session):
    DiscountFactory(tenant=tenant, code="FRIENDS", value=Decimal("50"))
    staff_http.post(
        u(tenant, "sessions:invite", session_id=session.pk),
        {"email": "friend@example.com", "discount_code": DiscountCode.objects.get().pk},
    )
    link = private_value(emails("sessions_roster.invitation").get())
    assert link.startswith("http://testserver/t/acme/register/invitation/")

    response = client.get(link.removeprefix("http://testserver"), follow=True)

    cart = section(response, "Your cart")
    assert "Pottery basics" in cart and "FRIENDS" in cart
    assert re.search(r"Total</th><td><strong>10\.00 EUR</strong>", cart)


def test_add_participant_page_offers_the_sessions_discount_codes_only(staff_http, tenant, session):
    DiscountFactory(tenant=tenant, code="EVERYONE")
    DiscountFactory(tenant=tenant, code="OLDCODE", is_active=False)
    DiscountFactory(tenant=tenant, code="ELSEWHERE").sessions.set([SessionFactory(tenant=tenant)])

    page = text(staff_http.get(u(tenant, "sessions:invite", session_id=session.pk)))

    assert "EVERYONE" in page and "OLDCODE" not in page and "ELSEWHERE" not in page


def test_add_participant_shows_a_bad_address_beside_the_field(staff_http, tenant, session):
    response = staff_http.post(u(tenant, "sessions:invite", session_id=session.pk), {"email": "not-an-address"})

    assert response.status_code == 200
    assert field_error(response, "email") == "Enter a valid email address."
    assert not SessionInvitation.objects.exists() and not OutboundEmail.objects.exists()


@pytest.mark.parametrize(
    ("expires", "message"),
    [
        (lambda session: timezone.now() - timedelta(hours=1), invitation_service.EXPIRY_IN_PAST),
        (lambda session: session.starts_at + timedelta(hours=1), invitation_service.EXPIRY_AFTER_START),
    ],
)
def test_an_expiry_in_the_past_or_after_the_start_is_refused_beside_it(staff_http, tenant, session, expires, message):
    moment = f"{local(tenant, expires(session)):%Y-%m-%dT%H:%M}"

    response = staff_http.post(
        u(tenant, "sessions:invite", session_id=session.pk), {"email": "x@example.com", "expires_at": moment}
    )

    assert field_error(response, "expires_at") == message
    assert not SessionInvitation.objects.exists()


def test_an_expiry_is_read_in_the_tenants_time_zone_and_shown_on_the_roster(staff_http, tenant, session):
    day = local(tenant, session.starts_at).date() - timedelta(days=1)

    response = staff_http.post(
        u(tenant, "sessions:invite", session_id=session.pk),
        {"email": "soon@example.com", "expires_at": f"{day:%Y-%m-%d}T18:00"},
        follow=True,
    )

    invitation = SessionInvitation.objects.get()
    assert local(tenant, invitation.expires_at).replace(tzinfo=None) == datetime(day.year, day.month, day.day, 18)
    assert f"{day:%-d %b %Y}, 18:00" in row_with(section(response, "Invited, pending"), "soon@example.com")


def test_a_locked_invitation_is_sent_locked(staff_http, tenant, session):
    response = staff_http.post(
        u(tenant, "sessions:invite", session_id=session.pk),
        {"email": "locked@example.com", "lock_to_email": "on"},
        follow=True,
    )

    assert SessionInvitation.objects.get().lock_to_email
    assert "Locked to this address" in row_with(section(response, "Invited, pending"), "locked@example.com")


def test_inviting_the_same_address_twice_is_refused(staff_http, tenant, session):
    session_invite(session, "twice@example.com")

    response = staff_http.post(u(tenant, "sessions:invite", session_id=session.pk), {"email": "TWICE@example.com"})

    assert field_error(response, "email") == invitation_service.ALREADY_INVITED
    assert SessionInvitation.objects.count() == 1


def test_a_session_that_is_not_full_has_no_raise_capacity_checkbox(staff_http, tenant, session):
    page = text(staff_http.get(u(tenant, "sessions:invite", session_id=session.pk)))

    assert 'name="raise_capacity"' not in page and "Raise the capacity by one" not in page
    assert "This session is full" not in page


@pytest.fixture
def full_session(tenant):
    session = SessionFactory(tenant=tenant, title="Sold out class", capacity=1)
    session_register(session, "first@example.com")
    return session


def test_a_full_session_warns_and_asks_to_raise_the_capacity(staff_http, tenant, full_session):
    page = text(staff_http.get(u(tenant, "sessions:invite", session_id=full_session.pk)))

    assert "This session is full (1 of 1 spots taken or held)" in page
    assert 'name="raise_capacity"' in page and "Raise the capacity by one" in page


def test_inviting_to_a_full_session_without_ticking_changes_nothing(staff_http, tenant, full_session):
    response = staff_http.post(u(tenant, "sessions:invite", session_id=full_session.pk), {"email": "extra@example.com"})

    assert response.status_code == 200
    assert invitation_service.SESSION_FULL in form_errors(response)
    assert 'name="raise_capacity"' in response.content.decode()
    assert not SessionInvitation.objects.exists()
    assert not emails("sessions_roster.invitation").exists()
    full_session.refresh_from_db()
    assert (full_session.capacity, full_session.spots_taken) == (1, 1)


def test_ticking_raise_capacity_invites_to_a_full_session(staff_http, tenant, full_session):
    response = staff_http.post(
        u(tenant, "sessions:invite", session_id=full_session.pk),
        {"email": "extra@example.com", "raise_capacity": "on"},
        follow=True,
    )

    assert "Invitation sent to extra@example.com. Their spot is held (the capacity was raised by one)." in flashes(
        response
    )
    full_session.refresh_from_db()
    assert (full_session.capacity, full_session.spots_taken) == (2, 2)
    invitation = SessionInvitation.objects.get()
    assert invitation.raised_capacity and invitation.status == InvitationStatus.PENDING
    assert emails("sessions_roster.invitation", "extra@example.com").count() == 1
    assert "Capacity was raised by one for this invitation" in section(response, "Invited, pending")


def test_raise_capacity_is_ignored_for_a_session_that_is_not_full(staff_http, tenant, session):
    staff_http.post(
        u(tenant, "sessions:invite", session_id=session.pk), {"email": "extra@example.com", "raise_capacity": "on"}
    )

    session.refresh_from_db()
    assert (session.capacity, session.spots_taken) == (3, 1)
    assert not SessionInvitation.objects.get().raised_capacity


# Staff: resend and cancel an invitation


def test_resend_asks_first_then_sends_a_second_email_with_the_same_link(staff_http, tenant, session):
    invitation, _ = session_invite(session, "again@example.com")
    backdate_sent(invitation)
    address = u(tenant, "sessions:invitation_resend", session_id=session.pk, invite_id=invitation.pk)

    asked = staff_http.get(address)
    assert asked.status_code == 200
    assert "Send the invitation to again@example.com again?" in text(asked)
    assert emails("sessions_roster.invitation").count() == 1

    response = staff_http.post(address, follow=True)

    assert "Invitation sent again to again@example.com, with the same link." in flashes(response)
    first, second = emails("sessions_roster.invitation", "again@example.com").order_by("id")
    assert private_value(first) == private_value(second)
    invitation.refresh_from_db()
    assert invitation.times_sent == 2 and invitation.status == InvitationStatus.PENDING
    assert "sent 2 times" in section(response, "Invited, pending")


def test_a_double_click_on_resend_sends_once(staff_http, tenant, session):
    invitation, _ = session_invite(session, "again@example.com")
    backdate_sent(invitation)
    address = u(tenant, "sessions:invitation_resend", session_id=session.pk, invite_id=invitation.pk)

    staff_http.post(address)
    response = staff_http.post(address, follow=True)

    assert invitation_service.SENT_A_MOMENT_AGO in flashes(response)
    assert emails("sessions_roster.invitation").count() == 2


def test_resending_an_invitation_past_its_expiry_expires_it_and_frees_the_spot(staff_http, tenant, session):
    invitation, _ = session_invite(session, "late@example.com", expires_at=timezone.now() + timedelta(hours=1))
    SessionInvitation.objects.filter(pk=invitation.pk).update(
        expires_at=timezone.now() - timedelta(minutes=1), sent_at=timezone.now() - timedelta(hours=1)
    )

    response = staff_http.post(
        u(tenant, "sessions:invitation_resend", session_id=session.pk, invite_id=invitation.pk), follow=True
    )

    assert invitation_service.NOT_PENDING.format(action="resent") in flashes(response)
    assert emails("sessions_roster.invitation").count() == 1
    invitation.refresh_from_db()
    session.refresh_from_db()
    assert (invitation.status, session.spots_taken) == (InvitationStatus.EXPIRED, 0)
    assert "late@example.com" not in section(response, "Invited, pending")


def test_cancel_asks_first_then_frees_the_spot(staff_http, client, tenant, session, staff):
    invitation, token = session_invite(session, "bye@example.com")
    address = u(tenant, "sessions:invitation_cancel", session_id=session.pk, invite_id=invitation.pk)
    public_page = u(tenant, "register:session", session_key=session.key)
    assert "2 spots left" in text(client.get(public_page))

    asked = staff_http.get(address)
    assert "Cancel the invitation for bye@example.com?" in text(asked)
    invitation.refresh_from_db()
    assert invitation.status == InvitationStatus.PENDING

    response = staff_http.post(address, follow=True)

    assert "Invitation for bye@example.com cancelled; the spot is free again." in flashes(response)
    invitation.refresh_from_db()
    assert (invitation.status, invitation.cancelled_by) == (InvitationStatus.CANCELLED, staff)
    assert "3 spots left" in text(client.get(public_page))
    assert "Invitation cancelled by Stan Staff" in section(response, "Cancelled")
    closed = client.get(u(tenant, "register:invitation", invite_token=token))
    assert closed.status_code == 410 and invitation_service.LINK_CANCELLED in text(closed)


def test_a_cancelled_invitation_cannot_be_cancelled_or_resent_again(staff_http, tenant, session, owner):
    invitation, _ = session_invite(session, "bye@example.com")
    invitation_service.invitation_cancel(tenant=tenant, invitation=invitation, actor=owner)

    cancel = staff_http.post(
        u(tenant, "sessions:invitation_cancel", session_id=session.pk, invite_id=invitation.pk), follow=True
    )
    resend = staff_http.post(
        u(tenant, "sessions:invitation_resend", session_id=session.pk, invite_id=invitation.pk), follow=True
    )

    assert invitation_service.NOT_PENDING.format(action="cancelled") in flashes(cancel)
    assert invitation_service.NOT_PENDING.format(action="resent") in flashes(resend)
    assert emails("sessions_roster.invitation").count() == 1
    session.refresh_from_db()
    assert session.spots_taken == 0


# Staff: payments and cancelled registrations


def test_mark_paid_asks_first_then_confirms_and_tells_the_buyer(staff_http, tenant, session):
    order = session_register(session, "payer@example.com", first_name="Pam", last_name="Payer")
    registration = order.registrations.get()
    address = u(tenant, "sessions:registration_paid", session_id=session.pk, registration_id=registration.pk)

    asked = staff_http.get(address)
    assert f"Record that order {order.number} (20.00 EUR) was paid?" in text(asked)
    order.refresh_from_db()
    assert order.status == OrderStatus.AWAITING_PAYMENT

    response = staff_http.post(address, follow=True)

    assert f"Order {order.number} marked paid; payer@example.com was told." in flashes(response)
    order.refresh_from_db()
    registration.refresh_from_db()
    assert (order.status, registration.status) == (OrderStatus.PAID, RegistrationStatus.CONFIRMED)
    assert emails("sessions_roster.payment_received", "payer@example.com").count() == 1
    assert stats(response)["Confirmed"] == 1 and "Mark paid" not in section(response, "Registered")

    again = staff_http.post(address, follow=True)
    assert checkout_service.NOT_AWAITING_PAYMENT in flashes(again)
    assert emails("sessions_roster.payment_received").count() == 1


def test_cancel_registration_asks_first_then_frees_the_spot_and_tells_the_attendee(staff_http, client, tenant, session):
    order = session_register(session, "leaver@example.com", first_name="Lee", last_name="Leaver")
    registration = order.registrations.get()
    address = u(tenant, "sessions:registration_cancel", session_id=session.pk, registration_id=registration.pk)
    assert "2 spots left" in text(client.get(u(tenant, "register:session", session_key=session.key)))

    asked = staff_http.get(address)
    assert "Cancel the registration of Lee Leaver (leaver@example.com)?" in text(asked)
    registration.refresh_from_db()
    assert registration.status == RegistrationStatus.AWAITING_PAYMENT

    response = staff_http.post(address, follow=True)

    assert "Registration of Lee Leaver cancelled; the spot is free again." in flashes(response)
    registration.refresh_from_db()
    order.refresh_from_db()
    assert (registration.status, order.status) == (RegistrationStatus.CANCELLED, OrderStatus.CANCELLED)
    assert emails("sessions_roster.registration_cancelled", "leaver@example.com").count() == 1
    assert "Lee Leaver" in section(response, "Cancelled") and "Lee Leaver" not in section(response, "Registered")
    assert "3 spots left" in text(client.get(u(tenant, "register:session", session_key=session.key)))

    again = staff_http.post(address, follow=True)
    assert checkout_service.ALREADY_CANCELLED in flashes(again)
    assert emails("sessions_roster.registration_cancelled").count() == 1


def test_cancelling_the_only_registration_of_an_order_gives_the_discount_use_back(staff_http, tenant, session):
    discount = DiscountFactory(tenant=tenant, code="ONCE", max_uses=1)
    order = session_register(session, discount="ONCE")
    discount.refresh_from_db()
    assert discount.uses == 1

    staff_http.post(
        u(tenant, "sessions:registration_cancel", session_id=session.pk, registration_id=order.registrations.get().pk)
    )

    discount.refresh_from_db()
    assert discount.uses == 0


def test_a_cancelled_registration_gives_its_spot_to_the_first_person_waiting(staff_http, tenant, full_session):
    first = waitlist_add(full_session, "one@example.com", first_name="Una")
    second = waitlist_add(full_session, "two@example.com", first_name="Duo")
    registration = Registration.objects.get(session=full_session)

    staff_http.post(
        u(tenant, "sessions:registration_cancel", session_id=full_session.pk, registration_id=registration.pk)
    )

    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.status) == (WaitlistStatus.OFFERED, WaitlistStatus.WAITING)
    assert emails("sessions_roster.waitlist_offer").get().to_email == "one@example.com"
    full_session.refresh_from_db()
    assert full_session.spots_taken == 1


# Staff: the waitlist tab


def test_the_waitlist_tab_lists_people_in_order_with_their_status(staff_http, tenant, full_session, owner):
    for n, name in enumerate(["Alice", "Bob", "Cleo"]):
        entry = waitlist_add(full_session, f"{name.lower()}@example.com", first_name=name, last_name="Waiter")
        WaitlistEntry.objects.filter(pk=entry.pk).update(created_at=timezone.now() - timedelta(minutes=10 - n))
    registration = Registration.objects.get(session=full_session)
    checkout_service.registration_cancel(tenant=tenant, registration=registration, actor=owner)

    response = staff_http.get(u(tenant, "sessions:waitlist", session_id=full_session.pk))

    rows = [
        html.unescape(re.sub(r"<[^>]+>", " ", row))
        for row in re.findall(r"<tr>(.*?)</tr>", section(response, "Waitlist"), re.S)[1:]
    ]
    # Alice holds the offer, so Bob is next in line.
    assert [row.split()[:3] for row in rows] == [
        ["—", "Alice", "Waiter"],
        ["1", "Bob", "Waiter"],
        ["2", "Cleo", "Waiter"],
    ]
    assert "Offer sent" in rows[0] and "held until" in rows[0]
    assert "Waiting" in rows[1] and "Waiting" in rows[2]
    assert stats(response)["Waitlist offers (held)"] == 1


def test_an_empty_waitlist_says_nobody_is_waiting(staff_http, tenant, session):
    assert "Nobody is waiting" in text(staff_http.get(u(tenant, "sessions:waitlist", session_id=session.pk)))


def test_remove_from_waitlist_asks_first_then_removes(staff_http, tenant, full_session):
    entry = waitlist_add(full_session, "wanda@example.com", first_name="Wanda", last_name="Wait")
    address = u(tenant, "sessions:waitlist_remove", session_id=full_session.pk, entry_id=entry.pk)

    asked = staff_http.get(address)
    assert "Remove Wanda Wait (wanda@example.com) from the waitlist?" in text(asked)
    entry.refresh_from_db()
    assert entry.status == WaitlistStatus.WAITING

    response = staff_http.post(address, follow=True)

    assert response.redirect_chain[-1][0] == u(tenant, "sessions:waitlist", session_id=full_session.pk)
    assert "Wanda Wait removed from the waitlist." in flashes(response)
    entry.refresh_from_db()
    assert entry.status == WaitlistStatus.REMOVED
    assert "Removed" in section(response, "Waitlist")

    again = staff_http.post(address, follow=True)
    assert waitlist_service.ENTRY_CLOSED in flashes(again)


def test_removing_someone_holding_an_offer_passes_it_to_the_next(staff_http, tenant, full_session, owner):
    first = waitlist_add(full_session, "one@example.com")
    second = waitlist_add(full_session, "two@example.com")
    checkout_service.registration_cancel(
        tenant=tenant, registration=Registration.objects.get(session=full_session), actor=owner
    )
    first.refresh_from_db()
    assert first.status == WaitlistStatus.OFFERED

    staff_http.post(u(tenant, "sessions:waitlist_remove", session_id=full_session.pk, entry_id=first.pk))

    second.refresh_from_db()
    assert second.status == WaitlistStatus.OFFERED
    assert emails("sessions_roster.waitlist_offer", "two@example.com").count() == 1


# Staff: discount codes


def discount_form(**overrides):
    return {"code": "spring-10", "kind": "percent", "value": "10", "max_uses": "", "is_active": "on", **overrides}


def test_the_discount_list_shows_codes_and_staff_cannot_add(staff_http, tenant):
    DiscountFactory(tenant=tenant, code="SPRING", kind="percent", value=Decimal("15"), max_uses=10, uses=3)
    DiscountFactory(tenant=tenant, code="TENOFF", kind="fixed", value=Decimal("10.00"), is_active=False)

    page = text(staff_http.get(u(tenant, "sessions:discounts")))

    assert "SPRING" in page and "15% off" in page and "3 / 10" in page
    assert "TENOFF" in page and "10.00 off EUR" in page and "Inactive" in page
    assert "Add discount code" not in page


def test_the_discount_list_searches_and_says_when_nothing_matches(owner_http, tenant):
    DiscountFactory(tenant=tenant, code="SPRING")
    DiscountFactory(tenant=tenant, code="AUTUMN")

    found = text(owner_http.get(u(tenant, "sessions:discounts"), {"q": "spr"}))
    nothing = text(owner_http.get(u(tenant, "sessions:discounts"), {"q": "winter"}))

    assert "SPRING" in found and "AUTUMN" not in found
    assert "No discount codes match" in nothing
    assert owner_http.get(u(tenant, "sessions:discounts"), {"q": "a\x00b", "page": "x"}).status_code == 200


def test_an_empty_discount_list_invites_an_admin_to_add_one(admin_http, tenant):
    page = text(admin_http.get(u(tenant, "sessions:discounts")))

    assert "No discount codes yet" in page and "Add a discount code" in page


def test_admin_creates_a_discount_code_for_some_sessions(admin_http, tenant, session):
    response = admin_http.post(u(tenant, "sessions:discount_create"), discount_form(sessions=[session.pk]), follow=True)

    assert response.redirect_chain[-1][0] == u(tenant, "sessions:discounts")
    assert "Discount code SPRING-10 saved." in flashes(response)
    discount = DiscountCode.objects.get()
    assert (discount.code, discount.kind, discount.value, discount.tenant) == (
        "SPRING-10",
        "percent",
        Decimal("10"),
        tenant,
    )
    assert list(discount.sessions.all()) == [session]


def test_a_duplicate_code_is_refused_beside_the_code(admin_http, tenant):
    DiscountFactory(tenant=tenant, code="SPRING-10")

    response = admin_http.post(u(tenant, "sessions:discount_create"), discount_form(code="Spring-10"))

    assert response.status_code == 200
    assert field_error(response, "code") == discount_service.DISCOUNT_CODE_TAKEN
    assert DiscountCode.objects.count() == 1


def test_the_same_code_in_another_tenant_is_fine(admin_http, tenant, other_tenant):
    DiscountFactory(tenant=other_tenant, code="SPRING-10")

    admin_http.post(u(tenant, "sessions:discount_create"), discount_form())

    assert DiscountCode.objects.filter(tenant=tenant, code="SPRING-10").exists()


def test_a_code_with_odd_characters_is_refused(admin_http, tenant):
    response = admin_http.post(u(tenant, "sessions:discount_create"), discount_form(code="save 10%"))

    assert field_error(response, "code") == "Use letters, digits and dashes only."
    assert not DiscountCode.objects.exists()


def test_a_percentage_above_100_is_refused_beside_the_value(admin_http, tenant):
    response = admin_http.post(u(tenant, "sessions:discount_create"), discount_form(value="150"))

    assert response.status_code == 200
    assert not DiscountCode.objects.exists()
    assert "Constraint" not in form_errors(response)
    assert field_error(response, "value") == discount_service.DISCOUNT_PERCENT_TOO_HIGH


def test_valid_until_before_valid_from_is_refused_beside_the_field(admin_http, tenant):
    year = timezone.now().year + 1
    response = admin_http.post(
        u(tenant, "sessions:discount_create"),
        discount_form(valid_from=f"{year}-05-01T00:00", valid_until=f"{year}-04-01T00:00"),
    )

    assert field_error(response, "valid_until") == discount_service.DISCOUNT_UNTIL_BEFORE_FROM
    assert not DiscountCode.objects.exists()


def test_admin_edits_a_discount_code(admin_http, tenant):
    discount = DiscountFactory(tenant=tenant, code="SPRING", value=Decimal("10"), uses=2)

    page = text(admin_http.get(u(tenant, "sessions:discount_edit", discount_id=discount.pk)))
    assert "Edit discount code SPRING" in page and "Used 2 times so far." in page

    response = admin_http.post(
        u(tenant, "sessions:discount_edit", discount_id=discount.pk),
        discount_form(code="spring", value="25", max_uses="5"),
        follow=True,
    )

    assert "Discount code SPRING saved." in flashes(response)
    discount.refresh_from_db()
    assert (discount.value, discount.max_uses, discount.uses) == (Decimal("25"), 5, 2)


def test_editing_a_code_onto_another_codes_text_is_refused(admin_http, tenant):
    DiscountFactory(tenant=tenant, code="AUTUMN")
    spring = DiscountFactory(tenant=tenant, code="SPRING")

    response = admin_http.post(u(tenant, "sessions:discount_edit", discount_id=spring.pk), discount_form(code="autumn"))

    assert field_error(response, "code") == discount_service.DISCOUNT_CODE_TAKEN
    spring.refresh_from_db()
    assert spring.code == "SPRING"


def test_max_uses_cannot_go_below_the_uses(admin_http, tenant):
    discount = DiscountFactory(tenant=tenant, code="SPRING", uses=4)

    response = admin_http.post(
        u(tenant, "sessions:discount_edit", discount_id=discount.pk), discount_form(code="SPRING", max_uses="2")
    )

    assert field_error(response, "max_uses") == discount_service.DISCOUNT_MAX_BELOW_USES.format(uses=4)
    discount.refresh_from_db()
    assert discount.max_uses is None


# Public: the listing


def test_the_listing_shows_listed_upcoming_sessions_with_their_availability(client, tenant):
    SessionFactory(tenant=tenant, title="Open class", capacity=3)
    almost = SessionFactory(tenant=tenant, title="Almost full class", capacity=2)
    session_register(almost)
    full = SessionFactory(tenant=tenant, title="Full class", capacity=1)
    session_register(full)
    opens = timezone.now().replace(microsecond=0) + timedelta(days=2)
    SessionFactory(tenant=tenant, title="Later class", registration_opens_at=opens)
    SessionFactory(tenant=tenant, title="Secret class", is_listed=False)
    SessionFactory(tenant=tenant, title="Old class", starts_at=timezone.now() - timedelta(days=3))

    response = client.get(u(tenant, "register:listing"))

    assert response.status_code == 200
    tiles = {
        re.search(r">([^<]+)</a></h2>", tile)[1]: html.unescape(re.sub(r"<[^>]+>", " ", tile))
        for tile in response.content.decode().split('<section class="card tile">')[1:]
    }
    assert set(tiles) == {"Open class", "Almost full class", "Full class", "Later class"}
    assert "3 spots left" in tiles["Open class"]
    assert "1 spot left" in tiles["Almost full class"]
    assert "Full" in tiles["Full class"] and "spot" not in tiles["Full class"]
    assert f"Opens {local(tenant, opens):%-d %B %Y, %H:%M}" in tiles["Later class"]


def test_an_unlisted_session_is_reachable_by_its_key(client, tenant):
    secret = SessionFactory(tenant=tenant, title="Secret class", is_listed=False)

    response = client.get(u(tenant, "register:session", session_key=secret.key))

    assert response.status_code == 200 and "Secret class" in text(response) and "Add to cart" in text(response)


def test_an_empty_listing_says_so(client, tenant):
    assert "No sessions are open for registration right now" in text(client.get(u(tenant, "register:listing")))


def test_a_pending_invitation_takes_a_spot_off_the_public_count_at_once(client, staff_http, tenant, session):
    assert "3 spots left" in text(client.get(u(tenant, "register:listing")))

    staff_http.post(u(tenant, "sessions:invite", session_id=session.pk), {"email": "held@example.com"})

    assert "2 spots left" in text(client.get(u(tenant, "register:listing")))
    assert "2 spots left" in text(client.get(u(tenant, "register:session", session_key=session.key)))


def test_another_tenants_session_key_is_not_found(client, tenant, other_tenant):
    foreign = SessionFactory(tenant=other_tenant)

    assert client.get(u(tenant, "register:session", session_key=foreign.key)).status_code == 404
    assert client.get(u(tenant, "register:session", session_key="nope")).status_code == 404


# Public: the session page


def test_add_to_cart_puts_the_session_in_the_cart(client, tenant, session):
    page = text(client.get(u(tenant, "register:session", session_key=session.key)))
    assert "Pottery basics" in page and "Studio A" in page and "20.00 EUR" in page

    response = client.post(u(tenant, "register:add", session_key=session.key), follow=True)

    assert response.redirect_chain == [(u(tenant, "register:cart"), 302)]
    assert public.ADDED.format(title="Pottery basics") in flashes(response)
    assert "Pottery basics" in section(response, "Your cart")
    assert "Total" in text(response) and "20.00 EUR" in text(response)


def test_add_to_cart_by_get_just_shows_the_session(client, tenant, session):
    response = client.get(u(tenant, "register:add", session_key=session.key))

    assert response.status_code == 302 and response["Location"] == u(
        tenant, "register:session", session_key=session.key
    )


def test_a_session_not_open_yet_cannot_be_added(client, tenant):
    opens = timezone.now().replace(microsecond=0) + timedelta(days=2)
    later = SessionFactory(tenant=tenant, title="Later class", registration_opens_at=opens)

    page = text(client.get(u(tenant, "register:session", session_key=later.key)))
    assert "Registration opens on" in page and "Add to cart" not in page

    response = client.post(u(tenant, "register:add", session_key=later.key), follow=True)

    assert response.redirect_chain == [(u(tenant, "register:session", session_key=later.key), 302)]
    assert public.NOT_OPEN in flashes(response)
    assert "Your cart is empty" in text(client.get(u(tenant, "register:cart")))


def test_a_full_session_shows_the_waitlist_form_instead_of_add_to_cart(client, tenant, full_session):
    page = text(client.get(u(tenant, "register:session", session_key=full_session.key)))

    assert "Join the waitlist" in page and "Add to cart" not in page

    response = client.post(u(tenant, "register:add", session_key=full_session.key), follow=True)
    assert public.FULL in flashes(response)
    assert "Your cart is empty" in text(client.get(u(tenant, "register:cart")))


def test_a_started_session_cannot_be_added(client, tenant):
    started = SessionFactory(tenant=tenant, starts_at=timezone.now() - timedelta(minutes=30))

    page = text(client.get(u(tenant, "register:session", session_key=started.key)))
    response = client.post(u(tenant, "register:add", session_key=started.key), follow=True)

    assert "This session has already started." in page and "Add to cart" not in page
    assert public.STARTED in flashes(response)


def test_joining_the_waitlist_confirms_and_emails(client, tenant, full_session):
    response = client.post(
        u(tenant, "register:waitlist", session_key=full_session.key),
        {"first_name": "Wendy", "last_name": "Wait", "email": "Wendy@Example.com"},
        follow=True,
    )

    assert response.redirect_chain == [(u(tenant, "register:session", session_key=full_session.key), 302)]
    assert public.WAITLIST_JOINED.format(email="Wendy@Example.com") in flashes(response)
    entry = WaitlistEntry.objects.get()
    assert (entry.email, entry.status, entry.full_name) == ("wendy@example.com", WaitlistStatus.WAITING, "Wendy Wait")
    assert emails("sessions_roster.waitlist_joined", "wendy@example.com").count() == 1


def test_the_waitlist_form_shows_bad_input_beside_the_fields(client, tenant, full_session):
    response = client.post(
        u(tenant, "register:waitlist", session_key=full_session.key),
        {"first_name": "", "last_name": "Wait", "email": "wendy at example"},
    )

    assert response.status_code == 200
    assert field_error(response, "email") == "Enter a valid email address."
    assert field_error(response, "first_name") == "This field is required."
    assert not WaitlistEntry.objects.exists() and not OutboundEmail.objects.filter(template_key__contains="wait")


def test_joining_the_waitlist_twice_says_so(client, tenant, full_session):
    waitlist_add(full_session, "wendy@example.com")

    response = client.post(
        u(tenant, "register:waitlist", session_key=full_session.key),
        {"first_name": "Wendy", "last_name": "Wait", "email": "WENDY@example.com"},
    )

    assert response.status_code == 200
    assert waitlist_service.ALREADY_WAITING in form_errors(response)
    assert WaitlistEntry.objects.count() == 1


def test_the_waitlist_refuses_a_session_with_spots_left_and_says_why(client, tenant, full_session, owner):
    """The visitor saw the full session and its waitlist form; a spot freed before they submitted."""
    assert "Join the waitlist" in text(client.get(u(tenant, "register:session", session_key=full_session.key)))
    checkout_service.registration_cancel(
        tenant=tenant, registration=Registration.objects.get(session=full_session), actor=owner
    )

    response = client.post(
        u(tenant, "register:waitlist", session_key=full_session.key),
        {"first_name": "Wendy", "last_name": "Wait", "email": "wendy@example.com"},
    )

    assert response.status_code == 200
    assert not WaitlistEntry.objects.exists()
    assert waitlist_service.WAITLIST_NOT_FULL in text(response)


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"first_name": "x" * 5000, "last_name": "y", "email": "a@b.example"},
        {"first_name": "A\x00", "last_name": "B", "email": "a@b.example"},
        {"first_name": "A", "last_name": "B\x07", "email": "a@b.example"},
        {"first_name": "A", "last_name": "C", "email": ["a@b.example", "not an address"]},
    ],
)
def test_junk_waitlist_posts_never_break_the_page(client, tenant, full_session, data):
    response = client.post(u(tenant, "register:waitlist", session_key=full_session.key), data)

    assert response.status_code == 200
    assert not WaitlistEntry.objects.exists()


# Public: the cart


def test_a_discount_code_shows_the_math_in_the_cart(client, tenant, session):
    DiscountFactory(tenant=tenant, code="SPRING", kind="percent", value=Decimal("25"))
    register_cart(client, tenant, session)

    response = client.post(u(tenant, "register:cart"), {"discount_code": " spring ", "apply": "1"}, follow=True)

    cart = section(response, "Your cart")
    assert re.search(r"Subtotal</th><td>20\.00</td>", cart)
    assert re.search(r"Discount <code>SPRING</code> \(25% off\)</th><td>−5\.00</td>", cart)
    assert re.search(r"Total</th><td><strong>15\.00 EUR</strong>", cart)
    assert 'value="spring"' in cart or 'value="SPRING"' in cart


def test_a_fixed_discount_never_takes_the_total_below_zero(client, tenant, session):
    DiscountFactory(tenant=tenant, code="BIG", kind="fixed", value=Decimal("50.00"))
    register_cart(client, tenant, session)

    response = client.post(u(tenant, "register:cart"), {"discount_code": "BIG"}, follow=True)

    cart = section(response, "Your cart")
    assert re.search(r"</th><td>−20\.00</td>", cart)
    assert re.search(r"Total</th><td><strong>0\.00 EUR</strong>", cart)


@pytest.mark.parametrize(
    ("make", "typed", "message"),
    [
        (None, "NOPE", discount_service.DISCOUNT_UNKNOWN),
        ({"code": "OLD", "is_active": False}, "OLD", discount_service.DISCOUNT_UNKNOWN),
        ({"code": "FULL", "max_uses": 1, "uses": 1}, "FULL", discount_service.DISCOUNT_USED_UP),
    ],
)
def test_a_discount_code_that_cannot_be_used_says_why_beside_the_field(client, tenant, session, make, typed, message):
    if make:
        DiscountFactory(tenant=tenant, **make)
    register_cart(client, tenant, session)

    response = client.post(u(tenant, "register:cart"), {"discount_code": typed}, follow=True)

    page = response.content.decode()
    found = re.search(r'<p class="field-error" id="discount_error">(.*?)</p>', page)
    assert found and html.unescape(found[1]) == message
    assert re.search(r"Total</th><td><strong>20\.00 EUR</strong>", text(response))


def test_a_code_for_other_sessions_does_not_apply(client, tenant, session):
    DiscountFactory(tenant=tenant, code="ELSEWHERE").sessions.set([SessionFactory(tenant=tenant)])
    register_cart(client, tenant, session)

    response = client.post(u(tenant, "register:cart"), {"discount_code": "ELSEWHERE"}, follow=True)

    assert discount_service.DISCOUNT_NOT_FOR_THESE in text(response)


def test_another_tenants_code_is_unknown(client, tenant, other_tenant, session):
    DiscountFactory(tenant=other_tenant, code="GLOBEX")
    register_cart(client, tenant, session)

    response = client.post(u(tenant, "register:cart"), {"discount_code": "GLOBEX"}, follow=True)

    assert discount_service.DISCOUNT_UNKNOWN in text(response)


def test_removing_the_discount_code_restores_the_total(client, tenant, session):
    DiscountFactory(tenant=tenant, code="SPRING", value=Decimal("50"))
    register_cart(client, tenant, session)
    client.post(u(tenant, "register:cart"), {"discount_code": "SPRING"})

    response = client.post(u(tenant, "register:cart"), {"discount_code": "SPRING", "clear_discount": "1"}, follow=True)

    assert "SPRING" not in section(response, "Your cart")
    assert re.search(r"Total</th><td><strong>20\.00 EUR</strong>", text(response))


def test_removing_a_line_empties_the_cart(client, tenant, session):
    other = SessionFactory(tenant=tenant, title="Watercolour")
    register_cart(client, tenant, session)
    register_cart(client, tenant, other)

    response = client.post(u(tenant, "register:cart"), {"remove": str(session.pk)}, follow=True)

    assert "Removed from your cart." in flashes(response)
    cart = section(response, "Your cart")
    assert "Watercolour" in cart and "Pottery basics" not in cart

    response = client.post(u(tenant, "register:cart"), {"remove": str(other.pk)}, follow=True)
    assert "Your cart is empty" in text(response)


@pytest.mark.parametrize("data", [{"remove": "abc"}, {"remove": ""}, {"discount_code": "x" * 500}, {}])
def test_junk_cart_posts_never_break_the_cart(client, tenant, session, data):
    register_cart(client, tenant, session)

    response = client.post(u(tenant, "register:cart"), data, follow=True)

    assert response.status_code == 200 and "Pottery basics" in text(response)


def test_the_cart_is_per_tenant(client, tenant, other_tenant, session):
    register_cart(client, tenant, session)

    assert "Your cart is empty" in text(client.get(u(other_tenant, "register:cart")))


# Public: checkout


def test_checking_out_an_empty_cart_goes_back_to_the_listing(client, tenant):
    response = client.get(u(tenant, "register:checkout"), follow=True)

    assert response.redirect_chain == [(u(tenant, "register:listing"), 302)]
    assert checkout_service.CART_EMPTY in flashes(response)


def test_the_attendee_form_shows_errors_beside_the_fields(client, tenant, session):
    register_cart(client, tenant, session)

    response = client.post(u(tenant, "register:checkout"), {"first_name": "", "last_name": "L", "email": "nope"})

    assert response.status_code == 200
    assert field_error(response, "first_name") == "This field is required."
    assert field_error(response, "email") == "Enter a valid email address."
    assert not Order.objects.exists()
    assert "Pottery basics" in text(client.get(u(tenant, "register:cart")))


def test_a_free_session_checks_out_as_registered(client, tenant):
    free = SessionFactory(tenant=tenant, title="Open studio", price=Decimal("0"))
    register_cart(client, tenant, free)
    assert "Nothing to pay" in text(client.get(u(tenant, "register:checkout")))

    response = client.post(u(tenant, "register:checkout"), ATTENDEE, follow=True)

    order = Order.objects.get()
    assert response.redirect_chain == [(u(tenant, "register:order", order_reference=order.reference), 302)]
    page = text(response)
    assert "<h1>You are registered</h1>" in page and "Open studio" in page and "Paid" in page
    assert (order.status, order.total, order.email) == (OrderStatus.PAID, Decimal("0"), "ada@example.com")
    assert order.registrations.get().status == RegistrationStatus.CONFIRMED
    assert "Your cart is empty" in text(client.get(u(tenant, "register:cart")))
    assert emails("sessions_roster.order_confirmation", "ada@example.com").count() == 1


def test_a_paid_session_checks_out_with_payment_instructions(client, tenant, session):
    register_cart(client, tenant, session)
    assert "Register — 20.00 EUR" in text(client.get(u(tenant, "register:checkout")))

    response = client.post(u(tenant, "register:checkout"), ATTENDEE, follow=True)

    order = Order.objects.get()
    page = text(response)
    assert "You are registered — payment due" in page
    assert f"Please pay 20.00 EUR to Acme Training by bank transfer or at the desk, quoting {order.number}." in page
    assert order.status == OrderStatus.AWAITING_PAYMENT
    assert order.registrations.get().status == RegistrationStatus.AWAITING_PAYMENT
    assert "Your cart is empty" in text(client.get(u(tenant, "register:cart")))
    assert emails("sessions_roster.order_confirmation").count() == 1
    session.refresh_from_db()
    assert session.spots_taken == 1


def test_checkout_counts_the_discount_and_shows_it_on_the_order(client, tenant, session):
    discount = DiscountFactory(tenant=tenant, code="SPRING", value=Decimal("25"))
    register_cart(client, tenant, session)
    client.post(u(tenant, "register:cart"), {"discount_code": "SPRING"})

    response = client.post(u(tenant, "register:checkout"), ATTENDEE, follow=True)

    order = Order.objects.get()
    assert (order.subtotal, order.discount_amount, order.total) == (Decimal("20"), Decimal("5"), Decimal("15"))
    assert "Total 15.00 EUR (after 5.00 discount, code SPRING)" in plain(response)
    discount.refresh_from_db()
    assert discount.uses == 1


def test_a_full_discount_confirms_a_paid_session_at_once(client, tenant, session):
    DiscountFactory(tenant=tenant, code="FREE", value=Decimal("100"))
    register_cart(client, tenant, session)
    client.post(u(tenant, "register:cart"), {"discount_code": "FREE"})
    assert "Nothing to pay" in text(client.get(u(tenant, "register:checkout")))

    response = client.post(u(tenant, "register:checkout"), ATTENDEE, follow=True)

    assert "<h1>You are registered</h1>" in text(response)
    order = Order.objects.get()
    assert (order.status, order.total, order.payment_instructions) == (OrderStatus.PAID, Decimal("0"), "")


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"first_name": "A\x00", "last_name": "B", "email": "a@b.example"},
        {"first_name": "A", "last_name": "B\x1b", "email": "a@b.example"},
        {"first_name": "x" * 5000, "last_name": "B", "email": "a@b.example"},
        {"first_name": "A", "last_name": "B", "email": "a@" + "b" * 300 + ".example"},
    ],
)
def test_junk_checkout_posts_never_break_the_page(client, tenant, session, data):
    register_cart(client, tenant, session)

    response = client.post(u(tenant, "register:checkout"), data)

    assert response.status_code == 200 and not Order.objects.exists()


def test_registering_twice_for_the_same_session_is_refused(client, tenant, session):
    session_register(session, "ada@example.com")
    register_cart(client, tenant, session)

    response = client.post(u(tenant, "register:checkout"), {**ATTENDEE, "email": "ADA@example.com"})

    assert response.status_code == 200
    assert "ada@example.com is already registered for “Pottery basics”." in form_errors(response)
    assert Order.objects.count() == 1


def test_a_session_that_filled_up_meanwhile_is_refused_at_checkout(client, tenant):
    last = SessionFactory(tenant=tenant, title="Last spot", capacity=1)
    register_cart(client, tenant, last)
    session_register(last, "quicker@example.com")

    response = client.post(u(tenant, "register:checkout"), ATTENDEE)

    assert response.status_code == 200
    assert checkout_service.SESSION_FULL_NOW.format(title="Last spot") in form_errors(response)
    assert Order.objects.count() == 1


def test_the_order_page_is_found_by_reference_only_in_its_tenant(client, tenant, other_tenant, session):
    order = session_register(session, "ada@example.com", first_name="Ada", last_name="Lovelace")
    foreign = session_register(SessionFactory(tenant=other_tenant), "ada@example.com")

    mine = client.get(u(tenant, "register:order", order_reference=order.reference))
    theirs = client.get(u(tenant, "register:order", order_reference=foreign.reference))

    assert mine.status_code == 200 and "Ada Lovelace (ada@example.com)" in text(mine)
    assert theirs.status_code == 404
    assert client.get(u(tenant, "register:order", order_reference="nonsense")).status_code == 404


# Public: invitation links


@pytest.fixture
def half_price(tenant):
    return DiscountFactory(tenant=tenant, code="HALF", kind="percent", value=Decimal("50"))


def test_an_invitation_link_fills_the_cart_with_the_session_and_discount(client, tenant, session, half_price):
    _, token = session_invite(session, "invitee@example.com", discount_code=half_price)

    response = client.get(u(tenant, "register:invitation", invite_token=token), follow=True)

    assert response.redirect_chain == [(u(tenant, "register:cart"), 302)]
    assert public.INVITATION_IN_CART.format(title="Pottery basics") in flashes(response)
    cart = section(response, "Your cart")
    assert "Pottery basics" in cart and "Spot held by your invitation" in cart
    assert "HALF" in cart and "(50% off)" in cart
    assert re.search(r"Total</th><td><strong>10\.00 EUR</strong>", cart)


def test_the_invited_address_is_filled_in_at_checkout_and_the_link_works_once(client, tenant, session, half_price):
    invitation, token = session_invite(session, "invitee@example.com", discount_code=half_price)
    link = u(tenant, "register:invitation", invite_token=token)
    client.get(link)

    form = client.get(u(tenant, "register:checkout")).content.decode()
    assert re.search(r'<input type="email" name="email" value="invitee@example.com"', form)

    response = client.post(
        u(tenant, "register:checkout"),
        {"first_name": "Ivy", "last_name": "Invitee", "email": "invitee@example.com"},
        follow=True,
    )

    order = Order.objects.get()
    assert "You are registered — payment due" in text(response)
    assert order.total == Decimal("10.00") and order.discount_code == half_price
    invitation.refresh_from_db()
    assert invitation.status == InvitationStatus.ACCEPTED
    assert order.registrations.get().invitation == invitation
    session.refresh_from_db()
    assert session.spots_taken == 1  # the held spot became the registration
    roster = signed_in(member(tenant, Role.STAFF)).get(u(tenant, "sessions:roster", session_id=session.pk))
    assert "Ivy Invitee (invited)" in row_with(section(roster, "Registered"), "invitee@example.com")
    assert "No pending invitations" in section(roster, "Invited, pending")

    again = client.get(link)
    assert again.status_code == 410 and invitation_service.LINK_USED in text(again)
    elsewhere = signed_in(UserFactory()).get(link)
    assert elsewhere.status_code == 410 and invitation_service.LINK_USED in text(elsewhere)


def test_an_invited_person_registering_on_the_public_page_holds_one_spot(client, staff_http, tenant, session):
    invitation, _ = session_invite(session, "ivy@example.com")
    register_cart(client, tenant, session)

    done = client.post(u(tenant, "register:checkout"), {**ATTENDEE, "email": "ivy@example.com"}, follow=True)

    assert "You are registered" in text(done)
    roster = staff_http.get(u(tenant, "sessions:roster", session_id=session.pk))
    assert "ivy@example.com" in section(roster, "Registered")
    assert "ivy@example.com" not in section(roster, "Invited, pending")
    session.refresh_from_db()
    invitation.refresh_from_db()
    assert session.spots_taken == 1 and invitation.status != InvitationStatus.PENDING


def test_an_invitation_link_replaces_a_discount_code_the_cart_cannot_use(client, tenant, session, half_price):
    _, token = session_invite(session, "invitee@example.com", discount_code=half_price)
    register_cart(client, tenant, SessionFactory(tenant=tenant, title="Watercolour"))
    client.post(u(tenant, "register:cart"), {"discount_code": "NOPE"})

    response = client.get(u(tenant, "register:invitation", invite_token=token), follow=True)

    cart = section(response, "Your cart")
    assert discount_service.DISCOUNT_UNKNOWN not in cart
    assert "HALF" in cart and re.search(r"Total</th><td><strong>20\.00 EUR</strong>", cart)


def test_an_invitation_works_before_registration_opens(client, tenant):
    opens = timezone.now() + timedelta(days=3)
    later = SessionFactory(tenant=tenant, title="Later class", registration_opens_at=opens)
    _, token = session_invite(later, "early@example.com")

    client.get(u(tenant, "register:invitation", invite_token=token))
    response = client.post(u(tenant, "register:checkout"), {**ATTENDEE, "email": "early@example.com"}, follow=True)

    assert "You are registered" in text(response)
    assert Registration.objects.get().email == "early@example.com"

    stranger = signed_in(UserFactory())
    refused = stranger.post(u(tenant, "register:add", session_key=later.key), follow=True)
    assert public.NOT_OPEN in flashes(refused)


def test_the_cart_says_when_the_invitation_in_it_was_cancelled(client, tenant, session, owner):
    invitation, token = session_invite(session)
    client.get(u(tenant, "register:invitation", invite_token=token))
    invitation_service.invitation_cancel(tenant=tenant, invitation=invitation, actor=owner)

    cart = client.get(u(tenant, "register:cart"))
    checkout = client.post(u(tenant, "register:checkout"), ATTENDEE)

    assert any(invitation_service.LINK_CANCELLED in flash for flash in flashes(cart))
    assert "Spot held by your invitation" not in text(cart)
    assert invitation_service.LINK_CANCELLED in form_errors(checkout)
    assert not Order.objects.exists()


def test_a_cancelled_invitation_link_says_so(client, tenant, session, owner):
    invitation, token = session_invite(session)
    invitation_service.invitation_cancel(tenant=tenant, invitation=invitation, actor=owner)

    response = client.get(u(tenant, "register:invitation", invite_token=token))

    assert response.status_code == 410
    assert invitation_service.LINK_CANCELLED in text(response) and "Invitation not available" in text(response)


def test_an_expired_invitation_link_says_so_and_frees_the_spot(client, tenant, session):
    invitation, token = session_invite(session, expires_at=timezone.now() + timedelta(hours=1))
    SessionInvitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    session.refresh_from_db()
    assert session.spots_taken == 1

    response = client.get(u(tenant, "register:invitation", invite_token=token))

    assert response.status_code == 410 and invitation_service.LINK_EXPIRED in text(response)
    invitation.refresh_from_db()
    session.refresh_from_db()
    assert (invitation.status, session.spots_taken) == (InvitationStatus.EXPIRED, 0)
    assert "3 spots left" in text(client.get(u(tenant, "register:session", session_key=session.key)))


def test_an_invitation_that_expires_while_in_the_cart_is_refused_at_checkout(client, tenant, session):
    invitation, token = session_invite(session, expires_at=timezone.now() + timedelta(hours=1))
    client.get(u(tenant, "register:invitation", invite_token=token))
    SessionInvitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() - timedelta(minutes=1))

    response = client.post(u(tenant, "register:checkout"), ATTENDEE)

    assert response.status_code == 200
    assert invitation_service.LINK_EXPIRED in form_errors(response)
    assert not Order.objects.exists()


def test_an_invitation_to_a_started_session_says_so(client, tenant, session):
    _, token = session_invite(session)
    Session.objects.filter(pk=session.pk).update(
        starts_at=timezone.now() - timedelta(minutes=5), ends_at=timezone.now() + timedelta(hours=1)
    )

    response = client.get(u(tenant, "register:invitation", invite_token=token))

    assert response.status_code == 410 and invitation_service.LINK_SESSION_STARTED in text(response)


@pytest.mark.parametrize("token", ["garbage", "A" * 43, "x" * 500, "%E2%98%83"])
@pytest.mark.parametrize("name", ["register:invitation", "register:invitation_verify"])
def test_a_garbage_invitation_link_is_not_found_with_a_clear_message(client, tenant, token, name):
    response = client.get(u(tenant, name, invite_token=token))

    assert response.status_code == 404
    assert invitation_service.LINK_UNKNOWN in text(response)


def test_another_tenants_invitation_link_is_not_found(client, tenant, other_tenant):
    _, token = session_invite(SessionFactory(tenant=other_tenant))

    response = client.get(u(tenant, "register:invitation", invite_token=token))

    assert response.status_code == 404 and invitation_service.LINK_UNKNOWN in text(response)


# Public: a locked invitation


@pytest.fixture
def locked(session):
    return session_invite(session, "invitee@example.com", lock_to_email=True)


def test_a_locked_invitation_asks_to_confirm_the_address_with_it_masked(client, tenant, locked):
    _, token = locked

    response = client.get(u(tenant, "register:invitation", invite_token=token), follow=True)

    assert response.redirect_chain == [(u(tenant, "register:invitation_verify", invite_token=token), 302)]
    page = text(response)
    assert "Confirm it is you" in page and "i••••••@example.com" in page
    assert "invitee@example.com" not in page
    assert "Email me a code" in page
    assert "Your cart is empty" in text(client.get(u(tenant, "register:cart")))


def test_the_emailed_code_proves_the_address_and_then_the_link_fills_the_cart(client, tenant, locked):
    invitation, token = locked
    verify = u(tenant, "register:invitation_verify", invite_token=token)

    sent = client.post(verify, {"action": "send"}, follow=True)

    assert sent.redirect_chain == [(verify, 302)]
    assert public.PROOF_SENT.format(masked="i••••••@example.com") in flashes(sent)
    [proof] = emails("sessions_roster.email_proof", "invitee@example.com")
    code = private_value(proof)
    assert re.fullmatch(r"\d{6}", code)

    wrong = client.post(verify, {"action": "check", "code": "000000" if code != "000000" else "111111"})
    assert wrong.status_code == 200
    assert field_error(wrong, "code") == invitation_service.PROOF_WRONG

    right = client.post(verify, {"action": "check", "code": code}, follow=True)

    assert [url for url, _ in right.redirect_chain] == [
        u(tenant, "register:invitation", invite_token=token),
        u(tenant, "register:cart"),
    ]
    assert public.PROVED in flashes(right)
    assert "Spot held by your invitation" in section(right, "Your cart")

    other = client.post(u(tenant, "register:checkout"), {**ATTENDEE, "email": "friend@example.com"})
    assert checkout_service.LOCKED_EMAIL.format(title="Pottery basics", email="invitee@example.com") in form_errors(
        other
    )
    done = client.post(u(tenant, "register:checkout"), {**ATTENDEE, "email": "invitee@example.com"}, follow=True)
    assert "You are registered" in text(done)
    invitation.refresh_from_db()
    assert invitation.status == InvitationStatus.ACCEPTED


def test_too_many_wrong_codes_lock_the_code_until_a_new_one_is_asked(client, tenant, locked, settings):
    _, token = locked
    verify = u(tenant, "register:invitation_verify", invite_token=token)
    client.post(verify, {"action": "send"})
    code = private_value(emails("sessions_roster.email_proof").get())
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(settings.EMAIL_PROOF_ATTEMPTS):
        assert field_error(client.post(verify, {"action": "check", "code": wrong}), "code") == (
            invitation_service.PROOF_WRONG
        )

    response = client.post(verify, {"action": "check", "code": code})

    assert field_error(response, "code") == invitation_service.PROOF_TOO_MANY
    assert "Your cart is empty" in text(client.get(u(tenant, "register:cart")))


def test_a_code_for_another_tenant_is_not_found(client, tenant, other_tenant, locked):
    _, token = locked

    response = client.post(u(other_tenant, "register:invitation_verify", invite_token=token), {"action": "send"})

    assert response.status_code == 404
    assert not emails("sessions_roster.email_proof").exists()


def test_the_verify_page_of_an_unlocked_invitation_goes_to_the_link(client, tenant, session):
    _, token = session_invite(session)

    response = client.get(u(tenant, "register:invitation_verify", invite_token=token))

    assert response.status_code == 302 and response["Location"] == u(tenant, "register:invitation", invite_token=token)


def test_asking_for_a_code_twice_at_once_sends_one(client, tenant, locked):
    _, token = locked
    verify = u(tenant, "register:invitation_verify", invite_token=token)

    client.post(verify, {"action": "send"})
    response = client.post(verify, {"action": "send"}, follow=True)

    assert invitation_service.PROOF_SENT_A_MOMENT_AGO in flashes(response)
    assert emails("sessions_roster.email_proof").count() == 1


def test_checking_a_code_before_asking_for_one_says_so(client, tenant, locked):
    _, token = locked

    response = client.post(
        u(tenant, "register:invitation_verify", invite_token=token), {"action": "check", "code": "1"}
    )

    assert field_error(response, "code") == invitation_service.PROOF_NONE


def test_the_locked_invitation_cannot_be_checked_out_by_a_forwarded_cart(client, tenant, locked):
    """Someone with the link but not the address never gets the spot into checkout."""
    _, token = locked
    client.get(u(tenant, "register:invitation", invite_token=token))

    response = client.get(u(tenant, "register:checkout"), follow=True)

    assert response.redirect_chain == [(u(tenant, "register:listing"), 302)]
    assert checkout_service.CART_EMPTY in flashes(response)
    assert not Order.objects.exists()


def test_signing_in_with_the_invited_address_skips_the_code(tenant, locked):
    invitation, token = locked
    invitee = signed_in(UserFactory(email="invitee@example.com", first_name="Ivy", last_name="Invitee"))

    response = invitee.get(u(tenant, "register:invitation", invite_token=token), follow=True)

    assert response.redirect_chain == [(u(tenant, "register:cart"), 302)]
    assert "Spot held by your invitation" in section(response, "Your cart")
    form = invitee.get(u(tenant, "register:checkout")).content.decode()
    assert 'value="Ivy"' in form and 'value="invitee@example.com"' in form

    done = invitee.post(
        u(tenant, "register:checkout"),
        {"first_name": "Ivy", "last_name": "Invitee", "email": "invitee@example.com"},
        follow=True,
    )

    assert "You are registered" in text(done)
    invitation.refresh_from_db()
    assert invitation.status == InvitationStatus.ACCEPTED
    assert not emails("sessions_roster.email_proof").exists()


def test_signing_in_from_the_verify_page_comes_back_to_the_cart(client, tenant, locked, password):
    _, token = locked
    UserFactory(email="invitee@example.com")
    verify = client.get(u(tenant, "register:invitation_verify", invite_token=token)).content.decode()
    login = html.unescape(re.search(r'<a class="button secondary" href="([^"]+)">Sign in</a>', verify)[1])

    response = client.post(login, {"username": "invitee@example.com", "password": password}, follow=True)

    assert [url for url, _ in response.redirect_chain] == [
        u(tenant, "register:invitation", invite_token=token),
        u(tenant, "register:cart"),
    ]
    assert "Spot held by your invitation" in section(response, "Your cart")


@pytest.mark.parametrize(
    "data",
    [
        {"action": "check"},
        {"action": "check", "code": "1" * 500},
        {"action": "check", "code": "12\x003456"},
        {"action": "nonsense"},
        {},
    ],
)
def test_junk_verify_posts_never_break_the_page(client, tenant, locked, data):
    _, token = locked

    response = client.post(u(tenant, "register:invitation_verify", invite_token=token), data)

    assert response.status_code in (200, 302)
    assert "Your cart is empty" in text(client.get(u(tenant, "register:cart")))


def test_signing_in_with_another_address_still_asks_for_the_code(tenant, locked):
    _, token = locked
    someone = signed_in(UserFactory(email="someone@example.com"))

    response = someone.get(u(tenant, "register:invitation", invite_token=token))

    assert response.status_code == 302
    assert response["Location"] == u(tenant, "register:invitation_verify", invite_token=token)


# Public: waitlist offers


@pytest.fixture
def offered(tenant, full_session, owner):
    """Wendy waits for the full session; a cancellation frees the spot, and it is offered to her."""
    entry = waitlist_add(full_session, "wendy@example.com", first_name="Wendy", last_name="Wait")
    checkout_service.registration_cancel(
        tenant=tenant, registration=Registration.objects.get(session=full_session), actor=owner
    )
    entry.refresh_from_db()
    assert entry.status == WaitlistStatus.OFFERED
    return entry


def test_an_offer_link_puts_the_held_spot_in_the_cart_and_checkout_registers(client, tenant, full_session, offered):
    token = offer_token(offered)

    response = client.get(u(tenant, "register:offer", offer_token=token), follow=True)

    assert response.redirect_chain == [(u(tenant, "register:cart"), 302)]
    until = f"{local(tenant, offered.offer_expires_at):%-d %B, %H:%M}"
    assert public.OFFER_IN_CART.format(title="Sold out class", until=until) in flashes(response)
    cart = section(response, "Your cart")
    assert "Sold out class" in cart and "Spot held until" in cart

    form = client.get(u(tenant, "register:checkout")).content.decode()
    assert 'value="Wendy"' in form and 'value="wendy@example.com"' in form

    done = client.post(
        u(tenant, "register:checkout"),
        {"first_name": "Wendy", "last_name": "Wait", "email": "wendy@example.com"},
        follow=True,
    )

    assert "You are registered" in text(done)
    offered.refresh_from_db()
    assert offered.status == WaitlistStatus.REGISTERED
    registration = Registration.objects.get(session=full_session, status=RegistrationStatus.AWAITING_PAYMENT)
    assert registration.waitlist_entry == offered
    full_session.refresh_from_db()
    assert full_session.spots_taken == 1

    again = client.get(u(tenant, "register:offer", offer_token=token))
    assert again.status_code == 410 and public.OFFER_CLOSED[WaitlistStatus.REGISTERED] in text(again)


def test_a_lapsed_offer_link_says_so_and_passes_the_spot_on(client, tenant, full_session, offered):
    second = waitlist_add(full_session, "next@example.com")
    token = offer_token(offered)
    WaitlistEntry.objects.filter(pk=offered.pk).update(offer_expires_at=timezone.now() - timedelta(minutes=1))

    response = client.get(u(tenant, "register:offer", offer_token=token))

    assert response.status_code == 410
    assert public.OFFER_CLOSED[WaitlistStatus.LAPSED] in text(response)
    offered.refresh_from_db()
    second.refresh_from_db()
    assert (offered.status, second.status) == (WaitlistStatus.LAPSED, WaitlistStatus.OFFERED)
    assert "Your cart is empty" in text(client.get(u(tenant, "register:cart")))


def test_the_cart_says_when_the_offer_in_it_lapsed(client, tenant, full_session, offered):
    client.get(u(tenant, "register:offer", offer_token=offer_token(offered)))
    WaitlistEntry.objects.filter(pk=offered.pk).update(offer_expires_at=timezone.now() - timedelta(minutes=1))

    cart = client.get(u(tenant, "register:cart"))
    checkout = client.post(u(tenant, "register:checkout"), {**ATTENDEE, "email": "wendy@example.com"})

    lapsed = checkout_service.OFFER_LAPSED.format(title="Sold out class")
    assert any(lapsed in flash for flash in flashes(cart)) and "Spot held until" not in text(cart)
    assert lapsed in form_errors(checkout)
    assert not Order.objects.filter(email="wendy@example.com").exists()


def test_a_withdrawn_offer_link_says_so(client, tenant, full_session, offered, staff_http):
    token = offer_token(offered)
    staff_http.post(u(tenant, "sessions:waitlist_remove", session_id=full_session.pk, entry_id=offered.pk))

    response = client.get(u(tenant, "register:offer", offer_token=token))

    assert response.status_code == 410 and public.OFFER_CLOSED[WaitlistStatus.REMOVED] in text(response)


@pytest.mark.parametrize("token", ["garbage", "B" * 43])
def test_a_garbage_offer_link_is_not_found_with_a_clear_message(client, tenant, token):
    response = client.get(u(tenant, "register:offer", offer_token=token))

    assert response.status_code == 404 and public.OFFER_UNKNOWN in text(response)


# My Account


def test_my_account_shows_your_sessions(tenant, session):
    user = UserFactory(email="pat@example.com")
    order = session_register(session, "Pat@Example.com")
    full = SessionFactory(tenant=tenant, title="Sold out class", capacity=1)
    session_register(full)
    waitlist_add(full, "pat@example.com")

    response = signed_in(user).get(u(tenant, "portal:home"))

    assert response.status_code == 200
    tile = section(response, "Your sessions")
    assert "Pottery basics" in tile and "Awaiting payment" in tile and f"Order {order.number}" in tile
    assert "On the waitlist:" in tile and "Sold out class" in tile


def test_my_account_says_when_you_have_no_sessions(tenant, session):
    session_register(session, "someone.else@example.com")
    user = member(tenant, Role.STAFF, email="pat@example.com")

    tile = section(signed_in(user).get(u(tenant, "portal:home")), "Your sessions")

    assert "You have not registered for any session yet." in tile
    assert "Pottery basics" not in tile and "See all sessions" in tile


# A missing session or row: never a 500


def test_missing_rows_are_not_found(staff_http, tenant, session):
    for name, kwargs in [
        ("sessions:roster", {"session_id": 999999}),
        ("sessions:invitation_resend", {"session_id": session.pk, "invite_id": 999999}),
        ("sessions:invitation_cancel", {"session_id": session.pk, "invite_id": 999999}),
        ("sessions:registration_paid", {"session_id": session.pk, "registration_id": 999999}),
        ("sessions:registration_cancel", {"session_id": session.pk, "registration_id": 999999}),
        ("sessions:waitlist_remove", {"session_id": session.pk, "entry_id": 999999}),
        ("sessions:discount_edit", {"discount_id": 999999}),
    ]:
        assert staff_http.get(u(tenant, name, **kwargs)).status_code in (403, 404), name


def test_an_invitation_of_another_session_is_not_found_under_this_one(staff_http, tenant, session):
    other = SessionFactory(tenant=tenant)
    invitation, _ = session_invite(other)

    response = staff_http.post(u(tenant, "sessions:invitation_cancel", session_id=session.pk, invite_id=invitation.pk))

    assert response.status_code == 404
    invitation.refresh_from_db()
    assert invitation.status == InvitationStatus.PENDING
