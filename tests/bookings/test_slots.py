"""Slots come from weekly availability in the tenant's time zone; seats are taken and given back."""

from datetime import date, datetime, time, timedelta

import pytest
from django.utils import timezone

from bookings.models import BookingStatus, Slot
from bookings.selectors import offered_slots, slot_offer
from bookings.services import (
    SLOT_FULL,
    SLOT_IN_PAST,
    SLOT_NOT_OFFERED,
    BookingDetails,
    BookingError,
    booking_cancel,
    booking_create,
    slot_take_seat,
)

from ..factories import AvailabilityFactory, ServiceFactory

pytestmark = pytest.mark.django_db


def next_weekday(weekday: int) -> date:
    day = date.today() + timedelta(days=1)
    while day.weekday() != weekday:
        day += timedelta(days=1)
    return day


def at(tenant, day, hour, minute=0):
    return datetime.combine(day, time(hour, minute)).replace(tzinfo=tenant.zone)


@pytest.fixture
def service(tenant):
    service = ServiceFactory(tenant=tenant, duration_minutes=60)
    AvailabilityFactory(service=service, weekday=0, start_time=time(9), end_time=time(12), slot_capacity=2)
    return service


def test_a_window_gives_back_to_back_slots_of_the_service_length_on_its_weekday(tenant, service):
    monday = next_weekday(0)
    slots = offered_slots(tenant=tenant, service=service, first_day=monday, days=7)
    assert [s.starts_at for s in slots] == [at(tenant, monday, 9), at(tenant, monday, 10), at(tenant, monday, 11)]
    assert {s.remaining for s in slots} == {2}
    assert all(s.ends_at - s.starts_at == timedelta(hours=1) for s in slots)


def test_a_slot_that_does_not_fit_before_the_end_is_not_offered(tenant):
    service = ServiceFactory(tenant=tenant, duration_minutes=90)
    AvailabilityFactory(service=service, weekday=2, start_time=time(9), end_time=time(12))
    wednesday = next_weekday(2)
    starts = [s.starts_at.time() for s in offered_slots(tenant=tenant, service=service, first_day=wednesday, days=1)]
    assert starts == [time(9), time(10, 30)]


def test_a_time_skipped_by_daylight_saving_is_not_offered(tenant):
    """Europe/Amsterdam jumps from 02:00 to 03:00 on 28 March 2027."""
    service = ServiceFactory(tenant=tenant, duration_minutes=60)
    AvailabilityFactory(service=service, weekday=6, start_time=time(1), end_time=time(4))
    slots = offered_slots(tenant=tenant, service=service, first_day=date(2027, 3, 28), days=1)
    assert [s.starts_at.strftime("%H:%M %Z") for s in slots] == ["01:00 CET", "03:00 CEST"]


def test_times_are_the_tenants_local_times(tenant, service):
    tenant.time_zone = "Asia/Tokyo"
    tenant.save()
    monday = next_weekday(0)
    first = offered_slots(tenant=tenant, service=service, first_day=monday, days=1)[0]
    assert first.starts_at.utcoffset() == timedelta(hours=9) and first.starts_at.hour == 9


def test_taken_seats_reduce_what_is_left_and_a_full_slot_refuses(tenant, service):
    start = at(tenant, next_weekday(0), 10)
    slot_take_seat(tenant=tenant, service=service, starts_at=start)
    assert slot_offer(tenant=tenant, service=service, starts_at=start).remaining == 1
    slot_take_seat(tenant=tenant, service=service, starts_at=start)
    with pytest.raises(BookingError, match=SLOT_FULL):
        slot_take_seat(tenant=tenant, service=service, starts_at=start)
    assert Slot.objects.get(service=service).booked == 2


@pytest.mark.parametrize("hour, minute", [(9, 30), (12, 0), (8, 0)])
def test_a_time_that_is_not_offered_is_refused(tenant, service, hour, minute):
    with pytest.raises(BookingError, match=SLOT_NOT_OFFERED):
        slot_take_seat(tenant=tenant, service=service, starts_at=at(tenant, next_weekday(0), hour, minute))
    assert not Slot.objects.exists()


def test_a_time_that_has_started_is_refused(tenant):
    service = ServiceFactory(tenant=tenant, duration_minutes=60)
    today = timezone.localdate(timezone=tenant.zone)
    AvailabilityFactory(service=service, weekday=today.weekday(), start_time=time(0), end_time=time(23))
    now = timezone.localtime(timezone.now(), tenant.zone)
    started = now.replace(minute=0, second=0, microsecond=0)
    with pytest.raises(BookingError, match=SLOT_IN_PAST):
        slot_take_seat(tenant=tenant, service=service, starts_at=started)


def test_cancelling_gives_the_seat_back_once(tenant, service, owner, django_capture_on_commit_callbacks):
    start = at(tenant, next_weekday(0), 11)
    details = BookingDetails(first_name="Ann", last_name="Lee", email="ann@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        booking = booking_create(tenant=tenant, service=service, starts_at=start, details=details, price_amount=10)
    assert booking.client.email == "ann@example.com"  # a client card for whoever booked
    assert Slot.objects.get(service=service).booked == 1
    booking_cancel(tenant=tenant, booking=booking, actor=owner)
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CANCELLED and booking.cancelled_by == owner
    assert Slot.objects.get(service=service).booked == 0
    with pytest.raises(Exception, match="already cancelled"):
        booking_cancel(tenant=tenant, booking=booking, actor=owner)
    assert Slot.objects.get(service=service).booked == 0
