"""The public booking page /t/<slug>/book/: enter a code, pick a time, give your details, book —
each refusal with its own message, failed attempts rate limited per address and tenant; and what
staff then see (Bookings tab, calendar) and undo (cancelling gives the use and the place back)."""

import html
import re
from datetime import date, datetime, time, timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.core.cache import cache
from django.db import connection
from django.test import Client as HttpClient
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from bookings.models import Booking, BookingStatus, Slot
from contracts.models import ContractEvent, ContractStatus, EventKind
from invitations.models import CodeStatus, InvitationCode, Redemption
from invitations.public import PICK_A_TIME, STEP_EXPIRED
from invitations.services import (
    CODE_CONTRACT_CLOSED,
    CODE_EXPIRED,
    CODE_MISTYPED,
    CODE_NOT_YET_VALID,
    CODE_SERVICE_PAUSED,
    CODE_UNKNOWN,
    CODE_USED_UP,
    CODE_VOID,
    CODE_WRONG_DOMAIN,
    too_many_attempts,
)
from messaging.models import OutboundEmail

from ..factories import (
    CodeFactory,
    ContractFactory,
    ParticipantFactory,
    PriceFactory,
    ServiceFactory,
    SlotFactory,
    open_every_day,
)

pytestmark = pytest.mark.django_db

START, TIMES, DETAILS = "/t/acme/book/", "/t/acme/book/times/", "/t/acme/book/details/"
CODE = "ACME7KD0QX2M1F"
SHOWN = "ACME-7KD0Q-X2M1F"


@pytest.fixture(autouse=True)
def _fresh_attempt_counts():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def contract(tenant):
    return ContractFactory(
        organisation__tenant=tenant, organisation__name="Initech", invitation_prefix="ACME", name="Staff training"
    )


@pytest.fixture
def service(tenant):
    return open_every_day(ServiceFactory(tenant=tenant, name="Intro session", duration_minutes=60), capacity=3)


@pytest.fixture
def price(contract, service):
    return PriceFactory(contract=contract, service=service, price_code="STD", amount=Decimal("25.00"))


@pytest.fixture
def code(price):
    return CodeFactory(price=price, code=CODE)


@pytest.fixture
def tomorrow_at_ten(tenant):
    day = timezone.localdate(timezone=tenant.zone) + timedelta(days=1)
    return datetime.combine(day, time(10)).replace(tzinfo=tenant.zone)


def text(response) -> str:
    return html.unescape(response.content.decode())


def field_error(response, field: str) -> str:
    return html.unescape(
        " ".join(re.findall(rf'<p class="field-error" id="id_{field}_error">(.*?)</p>', text(response)))
    )


def enter(http, typed, **extra):
    return http.post(START, {"code": typed}, **extra)


def pick(http, starts_at):
    return http.post(TIMES, {"starts_at": starts_at.isoformat()})


DETAILS_FORM = {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com", "phone": "+31 20 123 4567"}


def book(http, typed, starts_at, **details):
    """The three steps; returns the response of the last one."""
    assert enter(http, typed).status_code == 302
    assert pick(http, starts_at).status_code == 302
    return http.post(DETAILS, {**DETAILS_FORM, **details})


# Step 1: the code


@pytest.mark.parametrize("typed", [CODE, SHOWN, " acme 7kd0q x2m1f ", "acme-7kdoq-x2mlf", "Acme_7KD0Q.X2M1F"])
def test_a_valid_code_typed_in_any_case_with_spaces_or_hyphens_leads_to_the_times(client, code, typed):
    response = enter(client, typed)

    assert response.status_code == 302 and response["Location"] == TIMES


def test_an_unknown_code_says_so_beside_the_field(client, code):
    response = enter(client, "ACME-ZZZZZ-ZZZZZ")

    assert response.status_code == 200
    assert field_error(response, "code") == CODE_UNKNOWN


def test_another_tenants_code_is_unknown_here(client, tenant, other_tenant):
    foreign = PriceFactory(contract=ContractFactory(organisation__tenant=other_tenant, invitation_prefix="ACME"))
    CodeFactory(price=foreign, code=CODE)

    assert field_error(enter(client, CODE), "code") == CODE_UNKNOWN


@pytest.mark.parametrize(
    "typed", ["ACME-7KD0Q-X2M1F!", "ACME-UUUUU-UUUUU", "hello", "ACME" + "7" * 30, "ÄCME7KD0QX2M1F"]
)
def test_a_mistyped_code_says_so_beside_the_field(client, code, typed):
    assert field_error(enter(client, typed), "code") == CODE_MISTYPED


def test_an_empty_code_is_required(client, code):
    assert field_error(enter(client, "  "), "code") == "This field is required."


def test_a_code_not_yet_valid_says_from_when_in_the_tenants_time_zone(client, tenant, price):
    starts = datetime(timezone.now().year + 2, 3, 5, 9, 30, tzinfo=tenant.zone)
    CodeFactory(price=price, code=CODE, valid_from=starts)

    message = field_error(enter(client, CODE), "code")

    assert message == CODE_NOT_YET_VALID.format(date=f"5 March {starts.year}, 09:30")


def test_an_expired_code_says_when_it_expired_in_the_tenants_time_zone(client, tenant, price):
    CodeFactory(price=price, code=CODE, valid_until=datetime(2025, 1, 15, 9, 30, tzinfo=tenant.zone))  # 08:30 UTC

    message = field_error(enter(client, CODE), "code")

    assert message == CODE_EXPIRED.format(date="15 January 2025, 09:30")


def test_a_used_up_code_says_so(client, price):
    CodeFactory(price=price, code=CODE, uses=1, status=CodeStatus.USED_UP)

    assert field_error(enter(client, CODE), "code") == CODE_USED_UP


def test_a_void_code_says_so(client, price):
    CodeFactory(price=price, code=CODE, status=CodeStatus.VOID)

    assert field_error(enter(client, CODE), "code") == CODE_VOID


@pytest.mark.parametrize(
    "change",
    [{"status": ContractStatus.ENDED}, {"status": ContractStatus.SUSPENDED}, {"ends_on": date(2024, 12, 31)}],
    ids=["ended", "suspended", "past_its_end_date"],
)
def test_a_code_of_a_closed_contract_says_the_agreement_ended(client, contract, code, change):
    type(contract).objects.filter(pk=contract.pk).update(**change)

    assert field_error(enter(client, CODE), "code") == CODE_CONTRACT_CLOSED


def test_a_code_whose_service_is_no_longer_bookable_is_refused(client, service, code):
    type(service).objects.filter(pk=service.pk).update(is_active=False)

    assert field_error(enter(client, CODE), "code") == CODE_SERVICE_PAUSED


def test_the_open_product_link_puts_the_code_in_the_box(client, code):
    page = text(client.get(START, {"code": SHOWN}))

    assert f'value="{SHOWN}"' in page


# Step 2: a time


def test_the_times_show_product_price_and_places_left_in_the_tenants_time_zone(client, code, tomorrow_at_ten):
    enter(client, CODE)

    page = text(client.get(TIMES))

    assert "Intro session" in page and "60 minutes · 25.00 EUR" in page
    assert f"with your code <code>{SHOWN}</code> from Initech" in page
    assert "Times in Europe/Amsterdam." in page
    assert tomorrow_at_ten.strftime("%A %-d %B") in page
    button = re.search(
        rf'<button class="slot" [^>]*value="{re.escape(tomorrow_at_ten.isoformat())}">(.*?)</button>', page
    )
    assert button and button[1] == "10:00 <small>3 places left</small>"


def test_a_slot_with_people_in_it_shows_fewer_places_and_a_full_one_cannot_be_picked(
    client, service, code, tomorrow_at_ten
):
    SlotFactory(service=service, starts_at=tomorrow_at_ten, capacity=3, booked=3)
    SlotFactory(service=service, starts_at=tomorrow_at_ten + timedelta(hours=1), capacity=3, booked=1)
    enter(client, CODE)

    page = text(client.get(TIMES))

    assert tomorrow_at_ten.isoformat() not in page
    assert '<button class="slot full" type="button" disabled>10:00 <small>full</small></button>' in page
    assert "11:00 <small>2 places left</small>" in page


def test_picking_a_full_slot_is_refused(client, service, code, tomorrow_at_ten):
    SlotFactory(service=service, starts_at=tomorrow_at_ten, capacity=3, booked=3)
    enter(client, CODE)

    response = pick(client, tomorrow_at_ten)

    assert response.status_code == 200 and PICK_A_TIME in text(response)


@pytest.mark.parametrize("offset", [timedelta(minutes=30), timedelta(hours=-2), timedelta(days=30)])
def test_picking_a_time_that_is_not_offered_is_refused(client, code, tomorrow_at_ten, offset):
    enter(client, CODE)

    response = pick(client, tomorrow_at_ten + offset)  # 10:30, 08:00, beyond the two weeks shown

    assert response.status_code == 200 and PICK_A_TIME in text(response)
    assert not Slot.objects.exists()


@pytest.mark.parametrize(
    "chosen",
    [
        "tomorrow, please",
        "9999-12-31T23:00:00+00:00",  # in the tenant's zone: past the last representable day
        "0001-01-01T00:30:00+05:00",  # before the first
        "9999-12-31T23:30:00-05:00",
        "2026-13-01T10:00:00+00:00",
        "2030-01-01T10:00:00",  # no offset
    ],
)
def test_picking_nonsense_is_refused(client, code, chosen):
    enter(client, CODE)

    response = client.post(TIMES, {"starts_at": chosen})

    assert response.status_code == 200 and PICK_A_TIME in text(response)
    assert not Slot.objects.exists()


@pytest.mark.parametrize("step", [TIMES, DETAILS])
def test_jumping_to_a_later_step_without_a_code_goes_back_to_the_start(client, code, step):
    response = client.get(step, follow=True)

    assert response.redirect_chain == [(START, 302)]
    assert STEP_EXPIRED in text(response)


def test_the_details_step_without_a_time_goes_back_to_the_times(client, code):
    enter(client, CODE)

    response = client.get(DETAILS, follow=True)

    assert response.redirect_chain == [(TIMES, 302)]
    assert PICK_A_TIME in text(response)


def test_a_code_voided_while_someone_picks_a_time_sends_them_back_with_the_reason(client, code, tomorrow_at_ten):
    enter(client, CODE)
    InvitationCode.objects.filter(pk=code.pk).update(status=CodeStatus.VOID)

    response = pick(client, tomorrow_at_ten)

    assert response.status_code == 302 and response["Location"] == START
    assert CODE_VOID in text(client.get(START))


def test_the_code_steps_of_one_tenant_are_not_the_steps_of_another(client, code, other_tenant):
    enter(client, CODE)

    response = client.get("/t/globex/book/times/", follow=True)

    assert response.redirect_chain == [("/t/globex/book/", 302)]


# Step 3: details and booking


def test_booking_creates_the_booking_redeems_the_code_and_sends_a_confirmation(
    client, tenant, code, tomorrow_at_ten, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = book(client, " acme 7kd0q x2m1f ", tomorrow_at_ten)

    booking = Booking.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/t/acme/book/done/{booking.reference}/"
    assert (booking.full_name, booking.email, booking.starts_at) == ("Ada Lovelace", "ada@example.com", tomorrow_at_ten)
    assert booking.price_amount == Decimal("25.00") and booking.status == BookingStatus.CONFIRMED
    assert Redemption.objects.get().booking == booking
    code.refresh_from_db()
    assert (code.uses, code.status) == (1, CodeStatus.USED_UP) and code.shown_at is not None
    assert Slot.objects.get(starts_at=tomorrow_at_ten).booked == 1
    email = OutboundEmail.objects.get(tenant=tenant)
    assert email.to_email == "ada@example.com" and email.template_key == "bookings.booking_confirmation"
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["ada@example.com"]
    assert booking.reference in mail.outbox[0].body
    assert f"{tomorrow_at_ten:%A %-d %B %Y}, 10:00 (Europe/Amsterdam)" in mail.outbox[0].body


def test_the_confirmation_page_shows_what_when_who_and_the_reference(client, code, tomorrow_at_ten):
    response = book(client, CODE, tomorrow_at_ten)

    page = text(client.get(response["Location"]))
    booking = Booking.objects.get()
    assert "You are booked" in page
    assert f"{tomorrow_at_ten:%A %-d %B %Y}, 10:00–11:00" in page
    assert "Ada Lovelace" in page and booking.reference in page
    assert "A confirmation is on its way to ada@example.com." in page


def test_the_details_page_repeats_the_product_and_the_chosen_time(client, code, tomorrow_at_ten):
    enter(client, CODE)
    pick(client, tomorrow_at_ten)

    page = text(client.get(DETAILS))

    assert "Intro session" in page and "25.00 EUR" in page
    assert f"{tomorrow_at_ten:%A %-d %B %Y}, 10:00" in page


def test_a_redemption_writes_a_history_line(client, owner_http, contract, code, tomorrow_at_ten):
    book(client, CODE, tomorrow_at_ten)

    line = f"Code {SHOWN} used by Ada Lovelace for Intro session on {tomorrow_at_ten:%-d %b %Y} 10:00."
    assert ContractEvent.objects.get(kind=EventKind.CODE_REDEEMED).summary == line
    assert line in text(owner_http.get(f"/t/acme/contracts/{contract.pk}/history/"))


def test_a_code_assigned_to_a_participant_fills_in_the_form(client, contract, price, tomorrow_at_ten):
    pia = ParticipantFactory(
        contract=contract,
        first_name="Pia",
        last_name="Jansen",
        email="pia@initech.example",
        phone="+31 6 1234 5678",
        date_of_birth=date(1990, 4, 2),
    )
    CodeFactory(price=price, code=CODE, participant=pia)
    enter(client, CODE)
    pick(client, tomorrow_at_ten)

    page = text(client.get(DETAILS))

    assert "We filled in the details we have for this code." in page
    for value in ["Pia", "Jansen", "pia@initech.example", "+31 6 1234 5678", "1990-04-02"]:
        assert f'value="{value}"' in page


def test_an_unassigned_code_shows_an_empty_form(client, code, tomorrow_at_ten):
    enter(client, CODE)
    pick(client, tomorrow_at_ten)

    page = text(client.get(DETAILS))

    assert "We filled in" not in page
    assert not re.search(r'<input type="text" name="first_name" value=', page)


def test_an_email_outside_the_codes_domain_is_refused_beside_the_field(client, price, tomorrow_at_ten):
    CodeFactory(price=price, code=CODE, restricted_domain="initech.example")

    response = book(client, CODE, tomorrow_at_ten, email="ada@gmail.com")

    assert response.status_code == 200
    assert field_error(response, "email") == CODE_WRONG_DOMAIN.format(domain="initech.example")
    assert not Booking.objects.exists() and not Slot.objects.filter(booked__gt=0).exists()
    assert InvitationCode.objects.get(code=CODE).uses == 0


@pytest.mark.parametrize("email", ["ada@initech.example", "Ada@INITECH.example", "ada@mail.initech.example"])
def test_an_email_at_the_codes_domain_books(client, price, tomorrow_at_ten, email):
    CodeFactory(price=price, code=CODE, restricted_domain="initech.example")

    response = book(client, CODE, tomorrow_at_ten, email=email)

    assert response.status_code == 302 and Booking.objects.count() == 1


def test_a_domain_that_only_ends_like_the_codes_domain_is_refused(client, price, tomorrow_at_ten):
    CodeFactory(price=price, code=CODE, restricted_domain="initech.example")

    response = book(client, CODE, tomorrow_at_ten, email="ada@notinitech.example")

    assert field_error(response, "email") == CODE_WRONG_DOMAIN.format(domain="initech.example")


def test_missing_details_are_asked_for_and_nothing_is_booked(client, code, tomorrow_at_ten):
    response = book(client, CODE, tomorrow_at_ten, first_name="", email="not an email")

    assert field_error(response, "first_name") == "This field is required."
    assert field_error(response, "email") == "Enter a valid email address."
    assert not Booking.objects.exists()


def test_a_single_use_code_cannot_book_twice(client, code, tomorrow_at_ten):
    book(client, CODE, tomorrow_at_ten)

    assert field_error(enter(HttpClient(), CODE), "code") == CODE_USED_UP
    assert field_error(enter(client, CODE), "code") == CODE_USED_UP


def test_a_code_used_up_by_someone_else_meanwhile_sends_back_with_the_reason(client, code, tomorrow_at_ten):
    enter(client, CODE)
    pick(client, tomorrow_at_ten)
    book(HttpClient(), CODE, tomorrow_at_ten + timedelta(hours=1))

    response = client.post(DETAILS, DETAILS_FORM, follow=True)

    assert response.redirect_chain == [(START, 302)]
    assert CODE_USED_UP in text(response)
    assert Booking.objects.count() == 1


def test_a_multi_use_code_books_three_times_then_is_used_up(price, tomorrow_at_ten):
    code = CodeFactory(price=price, code=CODE, max_uses=3)

    for n in range(3):
        response = book(HttpClient(), CODE, tomorrow_at_ten + timedelta(hours=n), email=f"person{n}@example.com")
        assert response.status_code == 302
        code.refresh_from_db()
        assert code.uses == n + 1

    assert code.status == CodeStatus.USED_UP
    assert field_error(enter(HttpClient(), CODE), "code") == CODE_USED_UP
    assert Booking.objects.count() == Redemption.objects.count() == 3


def test_the_last_place_taken_meanwhile_sends_back_to_the_times_and_keeps_the_code(
    client, service, code, tomorrow_at_ten
):
    enter(client, CODE)
    pick(client, tomorrow_at_ten)
    SlotFactory(service=service, starts_at=tomorrow_at_ten, capacity=3, booked=3)

    response = client.post(DETAILS, DETAILS_FORM, follow=True)

    assert response.redirect_chain == [(TIMES, 302)]
    assert "That time has just been fully booked." in text(response)
    code.refresh_from_db()
    assert code.uses == 0 and code.status == CodeStatus.ACTIVE
    assert not Booking.objects.exists()


# What staff see, and cancelling


def test_the_booking_shows_on_the_contracts_bookings_tab(client, owner_http, contract, code, tomorrow_at_ten):
    book(client, CODE, tomorrow_at_ten)

    page = text(owner_http.get(f"/t/acme/contracts/{contract.pk}/bookings/"))

    assert "Ada Lovelace" in page and "ada@example.com" in page
    assert f"<code>{SHOWN}</code>" in page
    assert f"{tomorrow_at_ten:%a %-d %b %Y}, 10:00" in page


def test_the_booking_shows_on_the_staff_calendar_for_its_week(client, owner_http, code, tomorrow_at_ten):
    book(client, CODE, tomorrow_at_ten)

    page = text(owner_http.get("/t/acme/calendar/", {"week": tomorrow_at_ten.date().isoformat()}))
    other_week = text(
        owner_http.get("/t/acme/calendar/", {"week": (tomorrow_at_ten + timedelta(days=7)).date().isoformat()})
    )

    assert "<strong>10:00</strong> Ada Lovelace" in page
    assert "1 confirmed booking this week" in page
    assert "Ada Lovelace" not in other_week


def test_cancelling_the_booking_gives_the_use_back_and_frees_the_place(client, owner_http, code, tomorrow_at_ten):
    book(client, CODE, tomorrow_at_ten)
    booking = Booking.objects.get()

    response = owner_http.post(f"/t/acme/bookings/{booking.pk}/cancel/")

    assert response.status_code == 302
    booking.refresh_from_db()
    code.refresh_from_db()
    assert booking.status == BookingStatus.CANCELLED
    assert (code.uses, code.status) == (0, CodeStatus.ACTIVE)
    assert Redemption.objects.get().released_at is not None
    assert Slot.objects.get(starts_at=tomorrow_at_ten).booked == 0
    fresh = HttpClient()
    enter(fresh, CODE)
    assert "10:00 <small>3 places left</small>" in text(fresh.get(TIMES))
    assert book(fresh, CODE, tomorrow_at_ten).status_code == 302


def test_cancelling_a_booking_of_a_void_code_keeps_the_code_void(client, owner_http, code, tomorrow_at_ten):
    code.max_uses = 2
    code.save()
    book(client, CODE, tomorrow_at_ten)
    InvitationCode.objects.filter(pk=code.pk).update(status=CodeStatus.VOID)

    owner_http.post(f"/t/acme/bookings/{Booking.objects.get().pk}/cancel/")

    code.refresh_from_db()
    assert (code.uses, code.status) == (0, CodeStatus.VOID)
    assert field_error(enter(HttpClient(), CODE), "code") == CODE_VOID


# Rate limit on failed attempts


@pytest.fixture
def limit_of_three(settings):
    settings.CODE_ATTEMPT_LIMIT = 3


def fail_three_times(http, **extra):
    for n in range(3):
        assert field_error(enter(http, f"ACME-ZZZZZ-ZZZ{n}Z", **extra), "code") == CODE_UNKNOWN


def test_after_the_limit_of_failed_attempts_even_a_valid_code_is_refused_unlooked(client, limit_of_three, code):
    fail_three_times(client)

    with CaptureQueriesContext(connection) as queries:
        response = enter(client, CODE)

    assert field_error(response, "code") == too_many_attempts(60)
    assert not any(InvitationCode._meta.db_table in query["sql"] for query in queries.captured_queries)


def test_attempts_below_the_limit_still_book(client, limit_of_three, code):
    for n in range(2):
        enter(client, f"ACME-ZZZZZ-ZZZ{n}Z")

    assert enter(client, CODE).status_code == 302


def test_mistyped_codes_count_as_failed_attempts(client, limit_of_three, code):
    for typed in ["hello", "ACME-!!!", "x"]:
        enter(client, typed)

    assert field_error(enter(client, CODE), "code") == too_many_attempts(60)


def test_the_limit_holds_for_a_new_session_from_the_same_address(limit_of_three, code):
    fail_three_times(HttpClient())

    assert field_error(enter(HttpClient(), CODE), "code") == too_many_attempts(60)


def test_another_address_is_not_limited(client, limit_of_three, code):
    fail_three_times(client, REMOTE_ADDR="198.51.100.7")

    assert enter(client, CODE, REMOTE_ADDR="203.0.113.9").status_code == 302


def test_another_tenant_is_not_limited(client, limit_of_three, code, other_tenant):
    foreign = PriceFactory(contract=ContractFactory(organisation__tenant=other_tenant, invitation_prefix="GBXX"))
    CodeFactory(price=foreign, code="GBXX7KD0QX2M1F")
    fail_three_times(client)

    response = client.post("/t/globex/book/", {"code": "GBXX7KD0QX2M1F"})

    assert field_error(response, "code") == ""
    assert response.status_code == 302 and response["Location"] == "/t/globex/book/times/"
