"""Under real concurrency on PostgreSQL: the last credit goes to exactly one booking, a credit is
never used twice, and cancelling a booking gives its credit back exactly once."""

from datetime import datetime, time, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.models import Client
from bookings import services as booking_services
from bookings.models import Booking, BookingStatus, Slot
from bookings.services import booking_cancel
from messaging.models import OutboundEmail
from packages_credits.models import ClientPackage, ClientPackageStatus, Credit, CreditUse
from packages_credits.services import (
    NO_CREDIT,
    NOTHING_DUE,
    Payment,
    booking_with_credit,
    client_package_add,
    package_save,
    payment_record,
)
from tenancy.scoping import isolated_scope

from ..factories import ClientFactory, ServiceFactory, open_every_day
from ..races import race

pytestmark = pytest.mark.django_db(transaction=True)


def local_at(tenant, days, hour):
    day = timezone.localdate(timezone=tenant.zone) + timedelta(days=days)
    return datetime.combine(day, time(hour)).replace(tzinfo=tenant.zone)


def holding(tenant, client, items, *, shared_pool=False, pool_sessions=None, name, price="100.00", online=False):
    package = package_save(
        tenant=tenant,
        items=items,
        name=name,
        price=Decimal(price),
        validity_days=60,
        shared_pool=shared_pool,
        pool_sessions=pool_sessions,
    )
    return client_package_add(
        tenant=tenant,
        client=client,
        package=package,
        price=package.price,
        expires_on=timezone.localdate(timezone=tenant.zone) + timedelta(days=30),
        online=online,
    )


def booker(tenant, client_id, service, starts_at):
    def attempt():
        client = Client.objects.get(pk=client_id)
        return booking_with_credit(tenant=tenant, client=client, service=service, starts_at=starts_at)

    return attempt


def refused_no_credit(outcome) -> bool:
    return isinstance(outcome, ValidationError) and outcome.messages == [NO_CREDIT]


def assert_never_used_twice(tenant):
    with isolated_scope(tenant=tenant):
        for credit in Credit.objects.filter(tenant=tenant):
            live = CreditUse.objects.filter(credit=credit, returned_at__isnull=True)
            assert credit.used <= credit.total
            assert live.count() == credit.used
            assert live.exclude(booking__status=BookingStatus.CANCELLED).count() == credit.used


@pytest.fixture
def yoga(tenant):
    return open_every_day(ServiceFactory(tenant=tenant, name="Yoga"), capacity=20)


@pytest.fixture
def cleo(tenant):
    return ClientFactory(tenant=tenant, first_name="Cleo", email="cleo@clients.example.com")


@pytest.mark.parametrize("same_slot", [True, False], ids=["one-roomy-slot", "different-slots"])
def test_the_last_credit_goes_to_exactly_one_booking(tenant, cleo, yoga, same_slot):
    held = holding(tenant, cleo, [(yoga, 3)], name="Three yoga")
    for hour in (9, 10):  # two of the three already used
        booker(tenant, cleo.pk, yoga, local_at(tenant, 5, hour))()
    times = [local_at(tenant, 2, 12 if same_slot else 9 + n) for n in range(8)]

    outcomes = race(tenant, [booker(tenant, cleo.pk, yoga, t) for t in times])

    winners = [o for o in outcomes if isinstance(o, Booking)]
    assert len(winners) == 1, outcomes
    assert all(refused_no_credit(o) for o in outcomes if not isinstance(o, Booking)), outcomes
    with isolated_scope(tenant=tenant):
        credit = held.credits.get()
        assert (credit.used, credit.total) == (3, 3)
        assert Booking.objects.filter(tenant=tenant).count() == 3
        assert CreditUse.objects.get(booking=winners[0]).credit == credit
        assert sum(Slot.objects.filter(tenant=tenant, starts_at__in=times).values_list("booked", flat=True)) == 1
    assert_never_used_twice(tenant)


def test_several_credits_are_each_used_at_most_their_number_of_times(tenant, cleo, yoga):
    pilates = open_every_day(ServiceFactory(tenant=tenant, name="Pilates"), capacity=20)
    holding(tenant, cleo, [(yoga, 2), (pilates, 5)], name="Mixed")
    holding(tenant, cleo, [(yoga, 1)], name="One yoga")
    holding(tenant, cleo, [(yoga, 1), (pilates, 1)], shared_pool=True, pool_sessions=2, name="Pool")
    times = [local_at(tenant, 2 + n % 2, 9 + n // 2) for n in range(10)]

    outcomes = race(tenant, [booker(tenant, cleo.pk, yoga, t) for t in times])

    winners = [o for o in outcomes if isinstance(o, Booking)]
    assert len(winners) == 5, outcomes  # 2 + 1 + the pool's 2
    assert all(refused_no_credit(o) for o in outcomes if not isinstance(o, Booking)), outcomes
    with isolated_scope(tenant=tenant):
        assert Booking.objects.filter(tenant=tenant).count() == 5
        assert sorted(Credit.objects.filter(tenant=tenant, used__gt=0).values_list("used", "total")) == [
            (1, 1),
            (2, 2),
            (2, 2),
        ]
        assert Credit.objects.get(tenant=tenant, service=pilates).used == 0
    assert_never_used_twice(tenant)


def test_concurrent_cancellations_give_the_credit_back_exactly_once(tenant, cleo, yoga, owner):
    held = holding(tenant, cleo, [(yoga, 5)], name="Five yoga")
    booking = booker(tenant, cleo.pk, yoga, local_at(tenant, 4, 10))()
    booker(tenant, cleo.pk, yoga, local_at(tenant, 4, 11))()

    def cancel():
        return booking_cancel(tenant=tenant, booking=Booking.objects.get(pk=booking.pk), actor=owner)

    outcomes = race(tenant, [cancel for _ in range(6)])

    assert sum(isinstance(o, Booking) for o in outcomes) == 1, outcomes
    assert all(
        isinstance(o, ValidationError) and o.messages == [booking_services.ALREADY_CANCELLED]
        for o in outcomes
        if not isinstance(o, Booking)
    ), outcomes
    with isolated_scope(tenant=tenant):
        assert held.credits.get().used == 1
        assert CreditUse.objects.filter(booking=booking, returned_at__isnull=False).count() == 1
        assert Slot.objects.get(pk=booking.slot_id).booked == 0
    assert_never_used_twice(tenant)


def test_a_credit_given_back_while_others_book_is_used_at_most_once_more(tenant, cleo, yoga, owner):
    holding(tenant, cleo, [(yoga, 1)], name="Single")
    booking = booker(tenant, cleo.pk, yoga, local_at(tenant, 4, 10))()

    def cancel():
        return booking_cancel(tenant=tenant, booking=Booking.objects.get(pk=booking.pk), actor=owner)

    attempts = [cancel] + [booker(tenant, cleo.pk, yoga, local_at(tenant, 2, 9 + n)) for n in range(6)]
    outcomes = race(tenant, attempts)

    assert isinstance(outcomes[0], Booking), outcomes[0]
    new = [o for o in outcomes[1:] if isinstance(o, Booking)]
    assert len(new) <= 1, outcomes
    assert all(refused_no_credit(o) for o in outcomes[1:] if not isinstance(o, Booking)), outcomes
    with isolated_scope(tenant=tenant):
        assert Credit.objects.get(tenant=tenant).used == len(new)
    assert_never_used_twice(tenant)


def test_concurrent_payments_never_pass_the_price_and_activate_once(tenant, cleo, yoga, owner):
    held = holding(tenant, cleo, [(yoga, 5)], name="Online", price="100.00", online=True)

    def pay():
        return payment_record(
            tenant=tenant,
            client_package=ClientPackage.objects.get(pk=held.pk),
            payment=Payment("bank_transfer", Decimal("100.00")),
            actor=owner,
        )

    outcomes = race(tenant, [pay for _ in range(5)])

    assert sum(isinstance(o, ClientPackage) for o in outcomes) == 1, outcomes
    assert all(
        isinstance(o, ValidationError) and o.messages == [NOTHING_DUE]
        for o in outcomes
        if not isinstance(o, ClientPackage)
    ), outcomes
    with isolated_scope(tenant=tenant):
        held.refresh_from_db()
        assert held.amount_paid == Decimal("100.00")
        assert held.status == ClientPackageStatus.ACTIVE
        assert held.payments.count() == 1
        assert OutboundEmail.objects.filter(template_key="packages_credits.package_active").count() == 1
