"""Prepaid packages: definitions, a client's packages and payments, cancelling them, and credits
taken by bookings and given back when a booking is cancelled in time (issue 6)."""

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from itertools import count
from unittest import mock

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Sum
from django.test import override_settings
from django.utils import timezone

from bookings import services as booking_services
from bookings.models import Booking, BookingStatus, Slot
from bookings.services import BookingDetails, BookingError, booking_cancel, booking_create
from messaging.models import OutboundEmail
from packages_credits.models import (
    ClientPackage,
    ClientPackageStatus,
    Credit,
    CreditUse,
    Package,
    PackageItem,
    PackagePayment,
)
from packages_credits.services import (
    ALREADY_CANCELLED,
    EXPIRY_IN_PAST,
    MORE_THAN_DUE,
    MORE_THAN_PRICE,
    NEEDS_A_SERVICE,
    NO_CREDIT,
    NOTHING_DUE,
    ONE_VALIDITY,
    PACKAGE_ARCHIVED,
    PACKAGE_NAME_TAKEN,
    PAYMENT_NOT_POSITIVE,
    POOL_NEEDS_SESSIONS,
    WHY_CANCELLED,
    WHY_EXPIRED,
    WHY_NOT_COVERED,
    WHY_UNPAID,
    WHY_USED_UP,
    Payment,
    booking_extras,
    booking_with_credit,
    client_package_add,
    client_package_cancel,
    credit_available,
    default_expiry,
    give_back_for_cancelled_booking,
    package_save,
    payment_record,
    why_no_credit,
)

from ..factories import ClientFactory, ServiceFactory, open_every_day

pytestmark = pytest.mark.django_db

ADDED = "packages_credits.package_added"
ACTIVE = "packages_credits.package_active"
_names = count(1)


# Helpers ------------------------------------------------------------------------------------------


def today(tenant) -> date:
    return timezone.localdate(timezone=tenant.zone)


def local_at(tenant, day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute)).replace(tzinfo=tenant.zone)


def in_days(tenant, days: int, hour: int = 10) -> datetime:
    return local_at(tenant, today(tenant) + timedelta(days=days), hour)


def shown(day: date) -> str:
    return f"{day:%-d %B %Y}"


def define(tenant, items, *, name=None, price="100.00", validity_days=90, valid_until=None, **fields) -> Package:
    return package_save(
        tenant=tenant,
        items=items,
        name=name or f"Package {next(_names)}",
        price=Decimal(price),
        validity_days=None if valid_until else validity_days,
        valid_until=valid_until,
        **fields,
    )


def pool(tenant, services, sessions, **fields) -> Package:
    return define(tenant, [(s, 1) for s in services], shared_pool=True, pool_sessions=sessions, **fields)


def give(tenant, client, package, *, price=None, expires_on=None, payment=None, online=False, actor=None):
    return client_package_add(
        tenant=tenant,
        client=client,
        package=package,
        price=package.price if price is None else Decimal(price),
        expires_on=expires_on or default_expiry(tenant=tenant, package=package),
        payment=payment,
        actor=actor,
        online=online,
    )


def details(client) -> BookingDetails:
    return BookingDetails(client.first_name, client.last_name, client.email)


def book(tenant, client, service, starts_at) -> Booking:
    return booking_with_credit(tenant=tenant, client=client, service=service, starts_at=starts_at)


def written(tenant) -> tuple:
    """What a refused booking must leave untouched."""
    return (
        Booking.objects.filter(tenant=tenant).count(),
        CreditUse.objects.filter(tenant=tenant).count(),
        Slot.objects.filter(tenant=tenant).aggregate(n=Sum("booked"))["n"] or 0,
        Credit.objects.filter(tenant=tenant).aggregate(n=Sum("used"))["n"] or 0,
    )


def credit_of(held, service=None) -> Credit:
    return held.credits.get(service=service)


def emails(tenant, key):
    return OutboundEmail.objects.filter(tenant=tenant, template_key=key)


@pytest.fixture
def yoga(tenant):
    return open_every_day(ServiceFactory(tenant=tenant, name="Yoga"), capacity=5)


@pytest.fixture
def pilates(tenant):
    return open_every_day(ServiceFactory(tenant=tenant, name="Pilates"), capacity=5)


@pytest.fixture
def boxing(tenant):
    return open_every_day(ServiceFactory(tenant=tenant, name="Boxing"), capacity=5)


@pytest.fixture
def cleo(tenant):
    return ClientFactory(tenant=tenant, first_name="Cleo", email="cleo@clients.example.com")


# Definitions --------------------------------------------------------------------------------------


def test_a_package_per_service_keeps_a_count_per_service_and_no_pool(tenant, yoga, pilates):
    package = define(tenant, [(yoga, 10), (pilates, 3)], name="Mixed", pool_sessions=7)

    package.refresh_from_db()
    assert package.shared_pool is False
    assert package.pool_sessions is None
    assert sorted((i.service.name, i.sessions) for i in package.items.all()) == [("Pilates", 3), ("Yoga", 10)]


def test_a_shared_pool_covers_its_services_with_one_number_of_sessions(tenant, yoga, pilates):
    package = pool(tenant, [yoga, pilates], 12, name="Any class")

    package.refresh_from_db()
    assert package.shared_pool is True
    assert package.pool_sessions == 12
    assert {i.service_id for i in package.items.all()} == {yoga.pk, pilates.pk}


def test_a_shared_pool_needs_its_number_of_sessions(tenant, yoga):
    with pytest.raises(ValidationError) as exc:
        define(tenant, [(yoga, 1)], shared_pool=True, pool_sessions=None)
    assert exc.value.message_dict["pool_sessions"] == [POOL_NEEDS_SESSIONS]
    assert not Package.objects.filter(tenant=tenant).exists()


@pytest.mark.parametrize(
    "validity_days, valid_until",
    [(None, None), (30, date(2031, 1, 1))],
    ids=["neither", "both"],
)
def test_exactly_one_of_days_or_a_fixed_end_date(tenant, yoga, validity_days, valid_until):
    with pytest.raises(ValidationError) as exc:
        package_save(
            tenant=tenant,
            items=[(yoga, 1)],
            name="Odd",
            price=Decimal("10"),
            validity_days=validity_days,
            valid_until=valid_until,
        )
    assert exc.value.message_dict["validity_days"] == [ONE_VALIDITY]
    assert not Package.objects.filter(tenant=tenant).exists()


def test_either_validity_alone_is_accepted(tenant, yoga):
    by_days = define(tenant, [(yoga, 1)], validity_days=30)
    by_date = define(tenant, [(yoga, 1)], valid_until=date(2031, 1, 1))
    assert (by_days.validity_days, by_days.valid_until) == (30, None)
    assert (by_date.validity_days, by_date.valid_until) == (None, date(2031, 1, 1))


def test_a_package_covers_at_least_one_service(tenant):
    with pytest.raises(ValidationError) as exc:
        define(tenant, [])
    assert exc.value.messages == [NEEDS_A_SERVICE]
    assert not Package.objects.filter(tenant=tenant).exists()


def test_names_are_unique_in_a_tenant_whatever_the_case(tenant, other_tenant, yoga):
    first = define(tenant, [(yoga, 1)], name="Ten Yoga")

    with pytest.raises(ValidationError) as exc:
        define(tenant, [(yoga, 1)], name="ten YOGA")
    assert exc.value.message_dict["name"] == [PACKAGE_NAME_TAKEN]
    # Saving the package itself again is not a clash; another tenant may use the name.
    package_save(tenant=tenant, package=first, items=[(yoga, 2)], name="TEN yoga")
    define(other_tenant, [(ServiceFactory(tenant=other_tenant), 1)], name="Ten Yoga")
    assert Package.objects.filter(tenant=tenant).count() == 1


def test_editing_replaces_the_services_covered(tenant, yoga, pilates):
    package = define(tenant, [(yoga, 5)])
    package_save(tenant=tenant, package=package, items=[(pilates, 2)])
    assert [(i.service_id, i.sessions) for i in package.items.all()] == [(pilates.pk, 2)]


def test_another_tenants_service_is_ignored(tenant, other_tenant, yoga):
    foreign = ServiceFactory(tenant=other_tenant)
    package = define(tenant, [(yoga, 4), (foreign, 9)])

    assert [(i.service_id, i.sessions) for i in package.items.all()] == [(yoga.pk, 4)]
    assert not PackageItem.objects.filter(service=foreign).exists()


def test_a_package_of_only_another_tenants_services_covers_nothing_and_is_refused(tenant, other_tenant):
    foreign = ServiceFactory(tenant=other_tenant)
    with pytest.raises(ValidationError) as exc:
        define(tenant, [(foreign, 3)])
    assert exc.value.messages == [NEEDS_A_SERVICE]
    assert not Package.objects.filter(tenant=tenant).exists()


# Default expiry -----------------------------------------------------------------------------------

# 22:30 UTC on 15 June is already 00:30 on 16 June in Amsterdam.
LATE_EVENING_UTC = datetime(2030, 6, 15, 22, 30, tzinfo=UTC)


@pytest.mark.parametrize("days, last_day", [(1, date(2030, 6, 16)), (2, date(2030, 6, 17)), (30, date(2030, 7, 15))])
def test_n_days_count_from_today_in_the_tenants_time_zone(tenant, yoga, days, last_day):
    assert tenant.time_zone == "Europe/Amsterdam"
    package = define(tenant, [(yoga, 1)], validity_days=days)
    with mock.patch("django.utils.timezone.now", return_value=LATE_EVENING_UTC):
        assert default_expiry(tenant=tenant, package=package) == last_day


def test_validity_days_of_one_means_today(tenant, yoga):
    package = define(tenant, [(yoga, 1)], validity_days=1)
    assert default_expiry(tenant=tenant, package=package) == today(tenant)
    assert default_expiry(tenant=tenant, package=package, start=date(2030, 2, 27)) == date(2030, 2, 27)


def test_a_fixed_end_date_is_the_expiry_whenever_bought(tenant, yoga):
    package = define(tenant, [(yoga, 1)], valid_until=date(2031, 3, 31))
    assert default_expiry(tenant=tenant, package=package) == date(2031, 3, 31)
    assert default_expiry(tenant=tenant, package=package, start=date(2030, 1, 1)) == date(2031, 3, 31)


# A client's packages ------------------------------------------------------------------------------


def test_adding_a_package_per_service_makes_one_credit_per_service(tenant, cleo, yoga, pilates, owner):
    package = define(tenant, [(yoga, 10), (pilates, 3)], name="Mixed", price="120.00")

    held = give(tenant, cleo, package, actor=owner)

    assert held.name == "Mixed"
    assert held.client == cleo and held.created_by == owner
    assert sorted((c.service_id, c.total, c.used) for c in held.credits.all()) == sorted(
        [(yoga.pk, 10, 0), (pilates.pk, 3, 0)]
    )


def test_adding_a_shared_pool_makes_one_credit_for_any_service(tenant, cleo, yoga, pilates):
    held = give(tenant, cleo, pool(tenant, [yoga, pilates], 8))

    assert [(c.service_id, c.total, c.used) for c in held.credits.all()] == [(None, 8, 0)]


def test_price_and_expiry_are_the_ones_given(tenant, cleo, yoga):
    package = define(tenant, [(yoga, 5)], price="100.00", validity_days=30)
    expires = today(tenant) + timedelta(days=200)

    held = give(tenant, cleo, package, price="85.50", expires_on=expires)

    held.refresh_from_db()
    assert held.price == Decimal("85.50")
    assert held.expires_on == expires


def test_added_by_staff_unpaid_it_is_active_with_the_balance_shown(tenant, cleo, yoga):
    held = give(tenant, cleo, define(tenant, [(yoga, 5)], price="100.00"))

    held.refresh_from_db()
    assert held.status == ClientPackageStatus.ACTIVE
    assert held.amount_paid == Decimal("0")
    assert held.balance == Decimal("100.00")
    assert not held.is_paid
    assert not held.payments.exists()
    assert credit_available(tenant=tenant, client=cleo, service=yoga, starts_at=in_days(tenant, 2)) is not None


def test_a_payment_on_adding_is_recorded(tenant, cleo, yoga, owner):
    package = define(tenant, [(yoga, 5)], price="100.00")

    held = give(tenant, cleo, package, payment=Payment("cash", Decimal("40.00"), "  R-17 "), actor=owner)

    held.refresh_from_db()
    assert held.amount_paid == Decimal("40.00")
    assert held.balance == Decimal("60.00")
    [payment] = held.payments.all()
    assert (payment.method, payment.amount, payment.reference, payment.recorded_by) == (
        "cash",
        Decimal("40.00"),
        "R-17",
        owner,
    )


def test_a_payment_of_nothing_on_adding_records_nothing(tenant, cleo, yoga):
    held = give(tenant, cleo, define(tenant, [(yoga, 5)]), payment=Payment("cash", Decimal("0")))
    assert not held.payments.exists()
    assert held.amount_paid == 0


def test_bought_online_it_awaits_payment_until_fully_paid(tenant, cleo, yoga, owner):
    held = give(tenant, cleo, define(tenant, [(yoga, 5)], price="100.00"), online=True)
    assert held.status == ClientPackageStatus.AWAITING_PAYMENT
    assert credit_available(tenant=tenant, client=cleo, service=yoga, starts_at=in_days(tenant, 2)) is None

    payment_record(tenant=tenant, client_package=held, payment=Payment("bank_transfer", Decimal("60")), actor=owner)
    held.refresh_from_db()
    assert held.status == ClientPackageStatus.AWAITING_PAYMENT
    assert not emails(tenant, ACTIVE).exists()

    payment_record(tenant=tenant, client_package=held, payment=Payment("bank_transfer", Decimal("40")), actor=owner)
    held.refresh_from_db()
    assert held.status == ClientPackageStatus.ACTIVE
    assert held.is_paid
    [active] = emails(tenant, ACTIVE)
    assert active.to_email == cleo.email
    assert credit_available(tenant=tenant, client=cleo, service=yoga, starts_at=in_days(tenant, 2)) is not None

    with pytest.raises(ValidationError):
        payment_record(tenant=tenant, client_package=held, payment=Payment("cash", Decimal("1")), actor=owner)
    assert emails(tenant, ACTIVE).count() == 1


def test_bought_online_and_paid_in_full_at_once_it_is_active(tenant, cleo, yoga):
    package = define(tenant, [(yoga, 5)], price="50.00")
    held = give(tenant, cleo, package, online=True, payment=Payment("cash", Decimal("50.00")))

    held.refresh_from_db()
    assert held.status == ClientPackageStatus.ACTIVE
    assert emails(tenant, ACTIVE).count() == 1
    assert emails(tenant, ADDED).count() == 1


def test_bought_online_for_free_it_is_active_at_once(tenant, cleo, yoga):
    held = give(tenant, cleo, define(tenant, [(yoga, 5)], price="0.00"), online=True)
    assert held.status == ClientPackageStatus.ACTIVE
    assert not emails(tenant, ACTIVE).exists()


def test_a_staff_added_package_paid_later_sends_no_second_email(tenant, cleo, yoga, owner):
    held = give(tenant, cleo, define(tenant, [(yoga, 5)], price="30.00"))
    payment_record(tenant=tenant, client_package=held, payment=Payment("cash", Decimal("30")), actor=owner)
    assert emails(tenant, ADDED).count() == 1
    assert not emails(tenant, ACTIVE).exists()


def test_an_archived_package_cannot_be_added(tenant, cleo, yoga):
    package = define(tenant, [(yoga, 5)], is_active=False)
    with pytest.raises(ValidationError) as exc:
        give(tenant, cleo, package)
    assert exc.value.message_dict["package"] == [PACKAGE_ARCHIVED]
    assert not ClientPackage.objects.filter(tenant=tenant).exists()
    assert not emails(tenant, ADDED).exists()


def test_an_expiry_in_the_past_is_refused_today_is_fine(tenant, cleo, yoga):
    package = define(tenant, [(yoga, 5)])
    with pytest.raises(ValidationError) as exc:
        give(tenant, cleo, package, expires_on=today(tenant) - timedelta(days=1))
    assert exc.value.message_dict["expires_on"] == [EXPIRY_IN_PAST]
    assert not ClientPackage.objects.filter(tenant=tenant).exists()

    assert give(tenant, cleo, package, expires_on=today(tenant)).expires_on == today(tenant)


def test_the_past_is_judged_in_the_tenants_time_zone(tenant, cleo, yoga):
    package = define(tenant, [(yoga, 5)])
    with mock.patch("django.utils.timezone.now", return_value=LATE_EVENING_UTC):
        # Still 15 June in UTC, but 16 June in Amsterdam: the 15th is past.
        with pytest.raises(ValidationError) as exc:
            give(tenant, cleo, package, expires_on=date(2030, 6, 15))
        assert exc.value.message_dict["expires_on"] == [EXPIRY_IN_PAST]
        assert give(tenant, cleo, package, expires_on=date(2030, 6, 16)).expires_on == date(2030, 6, 16)


def test_another_tenants_package_or_client_is_refused(tenant, other_tenant, cleo, yoga):
    theirs = define(other_tenant, [(ServiceFactory(tenant=other_tenant), 3)])
    their_client = ClientFactory(tenant=other_tenant)
    ours = define(tenant, [(yoga, 3)])

    for client, package in [(cleo, theirs), (their_client, ours)]:
        with pytest.raises(ValidationError):
            client_package_add(
                tenant=tenant, client=client, package=package, price=Decimal("1"), expires_on=today(tenant)
            )
    assert not ClientPackage.objects.exists()
    assert not Credit.objects.exists()
    assert not OutboundEmail.objects.filter(template_key=ADDED).exists()


def test_the_client_gets_one_confirmation_email(tenant, cleo, yoga):
    held = give(tenant, cleo, define(tenant, [(yoga, 5)], name="Five yoga"))

    [email] = emails(tenant, ADDED)
    assert email.to_email == "cleo@clients.example.com"
    assert "Five yoga" in email.body_text
    payment_record(tenant=tenant, client_package=held, payment=Payment("cash", Decimal("10")), actor=None)
    client_package_cancel(tenant=tenant, client_package=held, reason="", actor=None)
    assert emails(tenant, ADDED).count() == 1


def test_a_client_without_email_gets_none(tenant, yoga):
    nobody = ClientFactory(tenant=tenant, email="")
    held = give(tenant, nobody, define(tenant, [(yoga, 5)]), online=True, payment=Payment("cash", Decimal("100")))
    assert held.status == ClientPackageStatus.ACTIVE
    assert not OutboundEmail.objects.filter(tenant=tenant).exists()


# Payments -----------------------------------------------------------------------------------------


def test_partial_payments_add_up(tenant, cleo, yoga, owner):
    held = give(tenant, cleo, define(tenant, [(yoga, 5)], price="100.00"))
    for amount in ("30.00", "20.00", "50.00"):
        payment_record(tenant=tenant, client_package=held, payment=Payment("cash", Decimal(amount)), actor=owner)

    held.refresh_from_db()
    assert held.amount_paid == Decimal("100.00")
    assert held.balance == 0 and held.is_paid
    assert [p.amount for p in held.payments.all()] == [Decimal("30.00"), Decimal("20.00"), Decimal("50.00")]


def test_more_than_is_due_is_refused(tenant, cleo, yoga, owner):
    held = give(tenant, cleo, define(tenant, [(yoga, 5)], price="100.00"), payment=Payment("cash", Decimal("30")))

    with pytest.raises(ValidationError) as exc:
        payment_record(tenant=tenant, client_package=held, payment=Payment("cash", Decimal("70.01")), actor=owner)
    assert exc.value.message_dict["amount"] == [MORE_THAN_DUE.format(balance="70.00 EUR")]
    held.refresh_from_db()
    assert held.amount_paid == Decimal("30.00")
    assert held.payments.count() == 1


@pytest.mark.parametrize("price, paid", [("40.00", "40.00"), ("0.00", None)], ids=["paid-in-full", "free"])
def test_nothing_due_is_refused(tenant, cleo, yoga, owner, price, paid):
    payment = Payment("cash", Decimal(paid)) if paid else None
    held = give(tenant, cleo, define(tenant, [(yoga, 5)], price=price), payment=payment)

    with pytest.raises(ValidationError) as exc:
        payment_record(tenant=tenant, client_package=held, payment=Payment("cash", Decimal("1")), actor=owner)
    assert exc.value.messages == [NOTHING_DUE]


def test_no_payment_on_a_cancelled_package(tenant, cleo, yoga, owner):
    held = give(tenant, cleo, define(tenant, [(yoga, 5)], price="100.00"))
    client_package_cancel(tenant=tenant, client_package=held, reason="Moved away", actor=owner)

    with pytest.raises(ValidationError) as exc:
        payment_record(tenant=tenant, client_package=held, payment=Payment("cash", Decimal("10")), actor=owner)
    assert exc.value.messages == [ALREADY_CANCELLED]
    assert not PackagePayment.objects.exists()


# Cancelling a package -----------------------------------------------------------------------------


def test_cancelling_keeps_reason_and_who(tenant, cleo, yoga, owner):
    held = give(tenant, cleo, define(tenant, [(yoga, 5)]))

    client_package_cancel(tenant=tenant, client_package=held, reason="  Refunded in cash ", actor=owner)

    held.refresh_from_db()
    assert held.status == ClientPackageStatus.CANCELLED
    assert held.cancel_reason == "Refunded in cash"
    assert held.cancelled_by == owner
    assert held.cancelled_at is not None


def test_cancelling_twice_is_refused(tenant, cleo, yoga, owner):
    held = give(tenant, cleo, define(tenant, [(yoga, 5)]))
    client_package_cancel(tenant=tenant, client_package=held, reason="First", actor=owner)

    with pytest.raises(ValidationError) as exc:
        client_package_cancel(tenant=tenant, client_package=held, reason="Second", actor=None)
    assert exc.value.messages == [ALREADY_CANCELLED]
    held.refresh_from_db()
    assert (held.cancel_reason, held.cancelled_by) == ("First", owner)


def test_a_cancelled_packages_credits_never_apply_but_its_bookings_stay(tenant, cleo, yoga, owner):
    held = give(tenant, cleo, define(tenant, [(yoga, 5)]))
    kept = book(tenant, cleo, yoga, in_days(tenant, 2))

    client_package_cancel(tenant=tenant, client_package=held, reason="", actor=owner)

    starts_at = in_days(tenant, 3)
    assert credit_available(tenant=tenant, client=cleo, service=yoga, starts_at=starts_at) is None
    before = written(tenant)
    with pytest.raises(ValidationError) as exc:
        book(tenant, cleo, yoga, starts_at)
    assert exc.value.messages == [NO_CREDIT]
    assert written(tenant) == before
    kept.refresh_from_db()
    assert kept.status != BookingStatus.CANCELLED
    assert CreditUse.objects.get(booking=kept).returned_at is None


# Booking with a credit ----------------------------------------------------------------------------


def test_booking_with_a_credit_uses_exactly_one_and_costs_nothing(tenant, cleo, yoga):
    held = give(tenant, cleo, define(tenant, [(yoga, 5)]))
    starts_at = in_days(tenant, 2)

    booking = book(tenant, cleo, yoga, starts_at)

    credit = credit_of(held, yoga)
    assert (credit.total, credit.used) == (5, 1)
    assert booking.price_amount == Decimal("0")
    assert booking.starts_at == starts_at
    assert booking.client == cleo
    [use] = CreditUse.objects.filter(tenant=tenant)
    assert (use.credit, use.booking, use.returned_at) == (credit, booking, None)
    assert Slot.objects.get(tenant=tenant, service=yoga, starts_at=starts_at).booked == 1


def test_the_soonest_expiring_credit_is_used_first(tenant, cleo, yoga):
    later = give(tenant, cleo, define(tenant, [(yoga, 5)]), expires_on=today(tenant) + timedelta(days=60))
    sooner = give(tenant, cleo, pool(tenant, [yoga], 1), expires_on=today(tenant) + timedelta(days=10))
    assert credit_available(tenant=tenant, client=cleo, service=yoga, starts_at=in_days(tenant, 2)) == credit_of(sooner)

    first = book(tenant, cleo, yoga, in_days(tenant, 2))
    second = book(tenant, cleo, yoga, in_days(tenant, 3))

    assert CreditUse.objects.get(booking=first).credit == credit_of(sooner)
    assert CreditUse.objects.get(booking=second).credit == credit_of(later, yoga)
    assert (credit_of(sooner).used, credit_of(later, yoga).used) == (1, 1)


def test_a_credit_that_expires_before_the_booking_is_skipped_for_a_later_one(tenant, cleo, yoga):
    short = give(tenant, cleo, define(tenant, [(yoga, 5)]), expires_on=today(tenant) + timedelta(days=1))
    long = give(tenant, cleo, define(tenant, [(yoga, 5)]), expires_on=today(tenant) + timedelta(days=30))

    booking = book(tenant, cleo, yoga, in_days(tenant, 5))

    assert CreditUse.objects.get(booking=booking).credit == credit_of(long, yoga)
    assert credit_of(short, yoga).used == 0


def test_a_shared_pool_covers_any_of_its_services_and_no_other(tenant, cleo, yoga, pilates, boxing):
    held = give(tenant, cleo, pool(tenant, [yoga, pilates], 2, name="Any two"))

    book(tenant, cleo, yoga, in_days(tenant, 2))
    book(tenant, cleo, pilates, in_days(tenant, 2))
    assert credit_of(held).used == 2

    before = written(tenant)
    for service in (yoga, boxing):
        with pytest.raises(ValidationError) as exc:
            book(tenant, cleo, service, in_days(tenant, 3))
        assert exc.value.messages == [NO_CREDIT]
    assert written(tenant) == before
    assert why_no_credit(tenant=tenant, client=cleo, service=yoga, starts_at=in_days(tenant, 3)) == (
        WHY_USED_UP.format(name="Any two")
    )
    assert why_no_credit(tenant=tenant, client=cleo, service=boxing, starts_at=in_days(tenant, 3)) == (
        WHY_NOT_COVERED.format(name="Any two")
    )


def test_per_service_counters_are_separate(tenant, cleo, yoga, pilates):
    held = give(tenant, cleo, define(tenant, [(yoga, 1), (pilates, 2)]))

    book(tenant, cleo, yoga, in_days(tenant, 2))
    with pytest.raises(ValidationError):
        book(tenant, cleo, yoga, in_days(tenant, 3))
    book(tenant, cleo, pilates, in_days(tenant, 3))

    assert (credit_of(held, yoga).used, credit_of(held, pilates).used) == (1, 1)


def _expired(tenant, cleo, yoga, pilates):
    held = give(tenant, cleo, define(tenant, [(yoga, 5)], name="Old"), expires_on=today(tenant) + timedelta(days=1))
    return WHY_EXPIRED.format(name="Old", day=shown(held.expires_on))


def _cancelled(tenant, cleo, yoga, pilates):
    held = give(tenant, cleo, define(tenant, [(yoga, 5)], name="Gone"))
    client_package_cancel(tenant=tenant, client_package=held, reason="", actor=None)
    return WHY_CANCELLED.format(name="Gone")


def _unpaid(tenant, cleo, yoga, pilates):
    give(tenant, cleo, define(tenant, [(yoga, 5)], name="Ordered"), online=True)
    return WHY_UNPAID.format(name="Ordered")


def _used_up(tenant, cleo, yoga, pilates):
    give(tenant, cleo, define(tenant, [(yoga, 1)], name="Single"))
    book(tenant, cleo, yoga, in_days(tenant, 1))
    return WHY_USED_UP.format(name="Single")


def _not_covered(tenant, cleo, yoga, pilates):
    give(tenant, cleo, define(tenant, [(pilates, 5)], name="Pilates only"))
    return WHY_NOT_COVERED.format(name="Pilates only")


@pytest.mark.parametrize("setup", [_expired, _cancelled, _unpaid, _used_up, _not_covered])
def test_packages_that_do_not_apply_never_apply_and_say_why(tenant, cleo, yoga, pilates, setup):
    why = setup(tenant, cleo, yoga, pilates)
    starts_at = in_days(tenant, 2)
    before = written(tenant)

    assert credit_available(tenant=tenant, client=cleo, service=yoga, starts_at=starts_at) is None
    with pytest.raises(ValidationError) as exc:
        book(tenant, cleo, yoga, starts_at)

    assert exc.value.messages == [NO_CREDIT]
    assert written(tenant) == before  # no booking, no seat taken, no credit used
    assert not Slot.objects.filter(tenant=tenant, starts_at=starts_at, booked__gt=0).exists()
    assert why_no_credit(tenant=tenant, client=cleo, service=yoga, starts_at=starts_at) == why


def test_why_is_empty_without_packages_or_client(tenant, cleo, yoga):
    starts_at = in_days(tenant, 2)
    assert why_no_credit(tenant=tenant, client=cleo, service=yoga, starts_at=starts_at) == ""
    assert why_no_credit(tenant=tenant, client=None, service=yoga, starts_at=starts_at) == ""
    assert credit_available(tenant=tenant, client=None, service=yoga, starts_at=starts_at) is None


def test_another_clients_package_never_applies(tenant, cleo, yoga):
    give(tenant, ClientFactory(tenant=tenant), define(tenant, [(yoga, 5)]))
    with pytest.raises(ValidationError) as exc:
        book(tenant, cleo, yoga, in_days(tenant, 2))
    assert exc.value.messages == [NO_CREDIT]
    assert not Booking.objects.exists()


def test_why_names_the_package_that_covers_the_service(tenant, cleo, yoga, pilates):
    yoga_held = give(tenant, cleo, define(tenant, [(yoga, 5)], name="Yoga"), expires_on=today(tenant))
    give(tenant, cleo, define(tenant, [(pilates, 5)], name="Pilates"))

    why = why_no_credit(tenant=tenant, client=cleo, service=yoga, starts_at=in_days(tenant, 2))

    assert why == WHY_EXPIRED.format(name="Yoga", day=shown(yoga_held.expires_on))


def test_a_full_slot_uses_no_credit(tenant, cleo):
    small = open_every_day(ServiceFactory(tenant=tenant), capacity=1)
    package = define(tenant, [(small, 5)])
    held = give(tenant, cleo, package)
    starts_at = in_days(tenant, 2)
    with transaction.atomic():
        booking_create(
            tenant=tenant,
            service=small,
            starts_at=starts_at,
            details=BookingDetails("Other", "Person", "other@example.com"),
            price_amount=Decimal("40"),
        )

    with pytest.raises(BookingError):
        book(tenant, cleo, small, starts_at)

    assert credit_of(held, small).used == 0
    assert not CreditUse.objects.exists()
    assert Booking.objects.count() == 1


# Expiry boundaries in the tenant's time zone ------------------------------------------------------


@pytest.fixture
def night(tenant, settings):
    """A service offered at 23:30 and at 00:30 every day."""
    settings.BOOKING_HORIZON_DAYS = 30
    service = ServiceFactory(tenant=tenant, name="Night swim", duration_minutes=15)
    open_every_day(service, capacity=5, start=time(23, 30), end=time(23, 45))
    open_every_day(service, capacity=5, start=time(0, 30), end=time(0, 45))
    return service


@pytest.fixture(params=["Europe/Amsterdam", "America/New_York"])
def zone(request, tenant):
    tenant.time_zone = request.param
    tenant.save()
    return tenant


def test_the_last_day_at_23_30_local_uses_the_credit(zone, cleo, night):
    tenant = zone
    last = today(tenant) + timedelta(days=2)
    held = give(tenant, cleo, define(tenant, [(night, 3)]), expires_on=last)
    starts_at = local_at(tenant, last, 23, 30)
    if tenant.time_zone == "America/New_York":
        assert starts_at.astimezone(UTC).date() == last + timedelta(days=1)  # already the next day in UTC

    booking = book(tenant, cleo, night, starts_at)

    assert credit_of(held, night).used == 1
    assert CreditUse.objects.get(booking=booking).credit == credit_of(held, night)


def test_00_30_local_the_next_day_does_not(zone, cleo, night):
    tenant = zone
    last = today(tenant) + timedelta(days=2)
    held = give(tenant, cleo, define(tenant, [(night, 3)], name="Night pass"), expires_on=last)
    starts_at = local_at(tenant, last + timedelta(days=1), 0, 30)
    if tenant.time_zone == "Europe/Amsterdam":
        assert starts_at.astimezone(UTC).date() == last  # still the last day in UTC

    assert credit_available(tenant=tenant, client=cleo, service=night, starts_at=starts_at) is None
    with pytest.raises(ValidationError) as exc:
        book(tenant, cleo, night, starts_at)
    assert exc.value.messages == [NO_CREDIT]
    assert why_no_credit(tenant=tenant, client=cleo, service=night, starts_at=starts_at) == WHY_EXPIRED.format(
        name="Night pass", day=shown(last)
    )
    assert credit_of(held, night).used == 0
    assert not Booking.objects.exists()
    # The time is offered: only the expiry stood in the way.
    with transaction.atomic():
        booking_create(tenant=tenant, service=night, starts_at=starts_at, details=details(cleo), price_amount=0)


# Giving a credit back -----------------------------------------------------------------------------


def test_handlers_are_registered_with_bookings():
    assert give_back_for_cancelled_booking in booking_services.cancellation_handlers
    assert booking_extras in booking_services.detail_extras


def test_cancelling_in_time_gives_exactly_one_credit_back(tenant, cleo, yoga, owner):
    held = give(tenant, cleo, define(tenant, [(yoga, 5)]))
    booking = book(tenant, cleo, yoga, in_days(tenant, 3))
    book(tenant, cleo, yoga, in_days(tenant, 4))
    assert credit_of(held, yoga).used == 2

    booking_cancel(tenant=tenant, booking=booking, actor=owner)

    assert credit_of(held, yoga).used == 1
    use = CreditUse.objects.get(booking=booking)
    assert use.returned_at is not None
    assert Slot.objects.get(pk=booking.slot_id).booked == 0
    # The credit given back can be used again.
    book(tenant, cleo, yoga, in_days(tenant, 5))
    assert credit_of(held, yoga).used == 2


def test_cancelling_twice_gives_back_once(tenant, cleo, yoga, owner):
    held = give(tenant, cleo, define(tenant, [(yoga, 5)]))
    booking = book(tenant, cleo, yoga, in_days(tenant, 3))
    book(tenant, cleo, yoga, in_days(tenant, 4))

    booking_cancel(tenant=tenant, booking=booking, actor=owner)
    with pytest.raises(ValidationError) as exc:
        booking_cancel(tenant=tenant, booking=booking, actor=owner)
    assert exc.value.messages == [booking_services.ALREADY_CANCELLED]
    # The handler itself gives back only once, even when asked again.
    with transaction.atomic():
        give_back_for_cancelled_booking(tenant=tenant, booking=booking, actor=owner)

    assert credit_of(held, yoga).used == 1
    assert CreditUse.objects.filter(booking=booking, returned_at__isnull=False).count() == 1


@override_settings(PACKAGE_CREDIT_RETURN_HOURS=24 * 10)
def test_a_late_cancellation_gives_nothing_back(tenant, cleo, yoga, owner):
    held = give(tenant, cleo, define(tenant, [(yoga, 5)]))
    booking = book(tenant, cleo, yoga, in_days(tenant, 3))

    booking_cancel(tenant=tenant, booking=booking, actor=owner)

    booking.refresh_from_db()
    assert booking.status == BookingStatus.CANCELLED
    assert credit_of(held, yoga).used == 1
    assert CreditUse.objects.get(booking=booking).returned_at is None
    assert Slot.objects.get(pk=booking.slot_id).booked == 0


@pytest.mark.parametrize("early_by, given_back", [(timedelta(0), True), (timedelta(seconds=-1), False)])
@override_settings(PACKAGE_CREDIT_RETURN_HOURS=24)
def test_exactly_the_return_hours_before_still_gives_back(tenant, cleo, yoga, owner, early_by, given_back):
    held = give(tenant, cleo, define(tenant, [(yoga, 5)]))
    booking = book(tenant, cleo, yoga, in_days(tenant, 3))
    moment = booking.starts_at - timedelta(hours=24) - early_by

    with mock.patch("django.utils.timezone.now", return_value=moment):
        booking_cancel(tenant=tenant, booking=booking, actor=owner)

    assert credit_of(held, yoga).used == (0 if given_back else 1)


def test_the_booking_page_says_what_paid(tenant, cleo, yoga, owner):
    give(tenant, cleo, define(tenant, [(yoga, 5)], name="Ten yoga"))
    booking = book(tenant, cleo, yoga, in_days(tenant, 3))
    deadline = timezone.localtime(booking.starts_at - timedelta(hours=24), tenant.zone)
    assert booking_extras(tenant=tenant, booking=booking) == [
        ("Paid with", "a credit of “Ten yoga”"),
        ("Credit back", f"if cancelled before {deadline:%-d %b %Y, %H:%M}; later cancellations keep it"),
    ]

    booking_cancel(tenant=tenant, booking=booking, actor=owner)
    assert booking_extras(tenant=tenant, booking=booking) == [("Paid with", "a credit of “Ten yoga” (given back)")]

    with transaction.atomic():
        paid = booking_create(
            tenant=tenant, service=yoga, starts_at=in_days(tenant, 4), details=details(cleo), price_amount=40
        )
    assert booking_extras(tenant=tenant, booking=paid) == []


# Amounts checked by the services themselves, not only by the forms ---------------------------------------------


def test_a_first_payment_above_the_price_is_refused_and_nothing_is_written(tenant, cleo, yoga):
    package = define(tenant, [(yoga, 5)])

    with pytest.raises(ValidationError) as refused:
        give(tenant, cleo, package, payment=Payment("cash", Decimal("100.01")))

    assert refused.value.message_dict == {"payment_amount": [MORE_THAN_PRICE]}
    assert not ClientPackage.objects.exists()


@pytest.mark.parametrize("amount", ["0", "-5"])
def test_a_payment_of_nothing_or_less_is_refused(tenant, cleo, yoga, amount):
    held = give(tenant, cleo, define(tenant, [(yoga, 5)]))

    with pytest.raises(ValidationError) as refused:
        payment_record(tenant=tenant, client_package=held, payment=Payment("cash", Decimal(amount)), actor=None)

    assert refused.value.message_dict == {"amount": [PAYMENT_NOT_POSITIVE]}
    held.refresh_from_db()
    assert held.amount_paid == 0
