"""Taking a seat is one statement: the first booking of a time makes its slot row with the seat
taken, later ones take seats in that row while the weekly capacity (as staff set it now) allows."""

from datetime import date, datetime, time, timedelta

import pytest
from django.db import transaction

from bookings.models import Slot, WeeklyAvailability
from bookings.services import SLOT_FULL, BookingError, slot_take_seat

from ..factories import ServiceFactory, open_every_day
from ..races import race


def tomorrow_at_ten(tenant) -> datetime:
    return datetime.combine(date.today() + timedelta(days=1), time(10)).replace(tzinfo=tenant.zone)


@pytest.mark.django_db
def test_the_first_seat_makes_the_slot_row_and_the_next_ones_fill_it(tenant):
    service = open_every_day(ServiceFactory(tenant=tenant), capacity=2)
    start = tomorrow_at_ten(tenant)

    first = slot_take_seat(tenant=tenant, service=service, starts_at=start)
    second = slot_take_seat(tenant=tenant, service=service, starts_at=start)

    stored = Slot.objects.get(service=service)
    assert first.pk == second.pk == stored.pk
    assert (first.starts_at, first.ends_at) == (stored.starts_at, stored.ends_at) == (start, start + timedelta(hours=1))
    assert (first.booked, second.booked, stored.booked, stored.capacity) == (1, 2, 2, 2)
    with pytest.raises(BookingError, match=SLOT_FULL):
        slot_take_seat(tenant=tenant, service=service, starts_at=start)


@pytest.mark.django_db
def test_a_capacity_lowered_below_the_seats_taken_refuses_and_leaves_the_row_alone(tenant):
    service = open_every_day(ServiceFactory(tenant=tenant), capacity=3)
    start = tomorrow_at_ten(tenant)
    for _ in range(2):
        slot_take_seat(tenant=tenant, service=service, starts_at=start)
    WeeklyAvailability.objects.filter(service=service).update(slot_capacity=1)

    with pytest.raises(BookingError, match=SLOT_FULL):
        slot_take_seat(tenant=tenant, service=service, starts_at=start)

    assert Slot.objects.get(service=service).booked == 2


@pytest.mark.django_db(transaction=True)
def test_people_racing_for_a_new_slot_get_exactly_its_seats(tenant):
    service = open_every_day(ServiceFactory(tenant=tenant), capacity=4)
    start = tomorrow_at_ten(tenant)

    def take():
        with transaction.atomic():
            return slot_take_seat(tenant=tenant, service=service, starts_at=start)

    outcomes = race(tenant, [take] * 7)

    assert sum(isinstance(o, Slot) for o in outcomes) == 4
    assert all(isinstance(o, BookingError) and str(o) == SLOT_FULL for o in outcomes if not isinstance(o, Slot))
    assert Slot.objects.get(service=service).booked == 4
