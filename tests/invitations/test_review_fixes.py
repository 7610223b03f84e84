"""Rules that a review of the first cut showed were missing: date ranges, the booking horizon,
double submits, capacity following the weekly times, codes typed by someone, odd uploads."""

import threading
from datetime import datetime, time, timedelta

import pytest
from django.db import connection
from django.utils import timezone

from bookings.forms import YEAR_OUT_OF_RANGE
from bookings.models import Booking, Slot, WeeklyAvailability
from bookings.selectors import slot_offer
from bookings.services import SLOT_FULL, SLOT_TOO_FAR, BookingDetails, BookingError, slot_take_seat
from contracts.models import PREFIX_VALIDATOR, Contract, ContractEvent
from contracts.services import PRICE_SERVICE_LOCKED
from invitations.forms import SHORT_CODE_CONFIRM
from invitations.models import InvitationCode
from invitations.services import (
    ALREADY_BOOKED,
    CODE_UNKNOWN,
    CodeRefused,
    code_check,
    code_redeem_and_book,
    codes_for_participants,
)
from tenancy.scoping import isolated_scope

from ..factories import CodeFactory, ParticipantFactory, PriceFactory, ServiceFactory, open_every_day

pytestmark = pytest.mark.django_db


def day_after_tomorrow_at(tenant, hour):
    day = timezone.localdate(timezone=tenant.zone) + timedelta(days=2)
    return datetime.combine(day, time(hour)).replace(tzinfo=tenant.zone)


def details(n=1):
    return BookingDetails(first_name="Ann", last_name=f"Lee{n}", email=f"ann{n}@example.com")


@pytest.fixture
def code(tenant):
    price = PriceFactory(tenant=tenant)
    return CodeFactory(price=price, max_uses=5)


def contract_url(contract, suffix):
    return f"/t/{contract.tenant.slug}/contracts/{contract.pk}/{suffix}"


@pytest.mark.parametrize("moment", ["0001-01-01T00:00", "9999-12-31T23:59", "1970-01-01T00:00"])
def test_validity_dates_far_from_now_are_refused_beside_the_field(owner_http, code, moment):
    response = owner_http.post(
        contract_url(code.contract, f"codes/{code.pk}/edit/"),
        {"code": code.shown, "price": code.price_id, "max_uses": 5, "valid_from": moment},
    )
    assert YEAR_OUT_OF_RANGE in response.content.decode()
    code.refresh_from_db()
    assert code.valid_from is None


@pytest.mark.parametrize("week", ["9999-12-31", "0001-01-05", "2101-01-01"])
def test_a_calendar_week_far_away_shows_this_week_with_a_note(staff_http, tenant, week):
    response = staff_http.get(f"/t/{tenant.slug}/calendar/", {"week": week})
    assert response.status_code == 200 and "This filter was ignored." in response.content.decode()


def test_the_times_page_brings_a_far_date_back_within_reach(client, tenant, code):
    client.post(f"/t/{tenant.slug}/book/", {"code": code.shown})
    response = client.get(f"/t/{tenant.slug}/book/times/", {"from": "9999-12-25"})
    assert response.status_code == 200


def test_times_beyond_the_booking_horizon_are_refused(tenant, settings):
    settings.BOOKING_HORIZON_DAYS = 30
    service = open_every_day(ServiceFactory(tenant=tenant))
    far = day_after_tomorrow_at(tenant, 10) + timedelta(days=60)
    with pytest.raises(BookingError, match=SLOT_TOO_FAR):
        slot_take_seat(tenant=tenant, service=service, starts_at=far)


def test_booking_the_same_time_twice_with_one_code_books_once(tenant, code):
    starts_at = day_after_tomorrow_at(tenant, 10)
    service = code.price.service
    code_redeem_and_book(tenant=tenant, code=code, service=service, starts_at=starts_at, details=details())
    with pytest.raises(CodeRefused, match=ALREADY_BOOKED):
        code_redeem_and_book(tenant=tenant, code=code, service=service, starts_at=starts_at, details=details())
    code.refresh_from_db()
    assert code.uses == 1 and Booking.objects.filter(tenant=tenant).count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_double_click_on_book_books_once(tenant, code):
    """Two submits of the same booking at the same moment, each on its own connection."""
    starts_at = day_after_tomorrow_at(tenant, 10)
    service = code.price.service
    barrier = threading.Barrier(2)
    outcomes = []

    def submit():
        try:
            with isolated_scope(tenant=tenant):
                fresh = InvitationCode.objects.select_related("price", "contract").get(pk=code.pk)
                barrier.wait(timeout=10)
                outcomes.append(
                    code_redeem_and_book(
                        tenant=tenant, code=fresh, service=service, starts_at=starts_at, details=details()
                    )
                )
        except CodeRefused as exc:
            outcomes.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sum(isinstance(o, Booking) for o in outcomes) == 1
    assert [str(o) for o in outcomes if isinstance(o, CodeRefused)] == [ALREADY_BOOKED]
    with isolated_scope(tenant=tenant):
        assert InvitationCode.objects.get(pk=code.pk).uses == 1


def test_a_booked_slot_follows_the_weekly_capacity_staff_set_later(tenant):
    service = open_every_day(ServiceFactory(tenant=tenant), capacity=3)
    start = day_after_tomorrow_at(tenant, 10)
    slot_take_seat(tenant=tenant, service=service, starts_at=start)
    WeeklyAvailability.objects.filter(service=service).update(slot_capacity=1)
    assert slot_offer(tenant=tenant, service=service, starts_at=start).remaining == 0
    with pytest.raises(BookingError, match=SLOT_FULL):
        slot_take_seat(tenant=tenant, service=service, starts_at=start)

    WeeklyAvailability.objects.filter(service=service).update(slot_capacity=5)
    assert slot_offer(tenant=tenant, service=service, starts_at=start).remaining == 4
    slot_take_seat(tenant=tenant, service=service, starts_at=start)
    assert Slot.objects.get(service=service).capacity == 5


def test_a_code_typed_on_the_booking_page_has_its_text_fixed(tenant, code):
    assert code.shown_at is None
    code_check(tenant=tenant, typed=code.shown.lower())
    code.refresh_from_db()
    assert code.shown_at is not None and code.text_locked


def test_a_code_deleted_a_moment_ago_is_unknown_not_an_error(tenant, code):
    InvitationCode.objects.filter(pk=code.pk).delete()
    with pytest.raises(CodeRefused, match=CODE_UNKNOWN):
        code_redeem_and_book(
            tenant=tenant,
            code=code,
            service=code.price.service,
            starts_at=day_after_tomorrow_at(tenant, 10),
            details=details(),
        )


def test_a_short_code_for_one_participant_needs_the_same_confirmation(owner_http, tenant):
    price = PriceFactory(tenant=tenant)
    person = ParticipantFactory(contract=price.contract)
    url = contract_url(price.contract, f"participants/{person.pk}/code/")
    page = owner_http.get(url).content.decode()
    assert "bits of randomness" in page
    refused = owner_http.post(url, {"price": price.pk, "width": 6})
    assert SHORT_CODE_CONFIRM.format(width=10) in refused.content.decode()
    assert not InvitationCode.objects.filter(participant=person).exists()
    owner_http.post(url, {"price": price.pk, "width": 6, "accept_short": "on"})
    assert len(InvitationCode.objects.get(participant=person).code) == len(price.contract.invitation_prefix) + 6


def test_asking_for_codes_that_exist_reports_none_made(tenant):
    price = PriceFactory(tenant=tenant)
    person = ParticipantFactory(contract=price.contract)
    wanted = {(person.pk, price.pk)}
    assert codes_for_participants(tenant=tenant, contract=price.contract, wanted=wanted, width=10, actor=None) == 1
    assert codes_for_participants(tenant=tenant, contract=price.contract, wanted=wanted, width=10, actor=None) == 0


def test_saving_a_code_unchanged_writes_no_history(owner_http, code):
    code.valid_until = timezone.now().replace(second=37) + timedelta(days=10)
    code.save()
    edit = contract_url(code.contract, f"codes/{code.pk}/edit/")
    local = timezone.localtime(code.valid_until, code.tenant.zone).strftime("%Y-%m-%dT%H:%M")
    owner_http.post(edit, {"code": code.shown, "price": code.price_id, "max_uses": 5, "valid_until": local})
    assert not ContractEvent.objects.filter(code_id=code.pk, kind="code_changed").exists()


def test_what_a_price_books_cannot_change_once_codes_carry_it(admin_http, code):
    other = ServiceFactory(tenant=code.tenant)
    url = contract_url(code.contract, f"prices/{code.price_id}/edit/")
    response = admin_http.post(url, {"service": other.pk, "amount": "30.00", "price_code": code.price.price_code})
    assert PRICE_SERVICE_LOCKED in response.content.decode()


def test_every_demo_contract_prefix_is_a_valid_prefix(db):
    from io import StringIO

    from django.core.management import call_command

    call_command("seed_demo", stdout=StringIO())
    for prefix in Contract.objects.values_list("invitation_prefix", flat=True):
        PREFIX_VALIDATOR(prefix)
