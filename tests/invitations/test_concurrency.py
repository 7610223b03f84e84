"""Under real concurrency on PostgreSQL: a code is never used more than its max uses, and a slot
never holds more people than its capacity; a request that loses changes nothing."""

import threading
from datetime import datetime, time, timedelta

import pytest
from django.db import connection
from django.utils import timezone

from bookings.models import Booking, Slot
from bookings.services import BookingDetails, BookingError
from invitations.models import CodeStatus, InvitationCode, Redemption
from invitations.services import CodeRefused, code_redeem_and_book
from tenancy.scoping import isolated_scope

from ..factories import CodeFactory, PriceFactory, ServiceFactory, open_every_day

pytestmark = pytest.mark.django_db(transaction=True)


def tomorrow_at_ten(tenant):
    day = timezone.localdate(timezone=tenant.zone) + timedelta(days=1)
    return datetime.combine(day, time(10)).replace(tzinfo=tenant.zone)


def race(tenant, attempts):
    """Run each attempt in its own thread (own database connection), all released at once."""
    barrier = threading.Barrier(len(attempts))
    outcomes = [None] * len(attempts)

    def run(index, attempt):
        try:
            with isolated_scope(tenant=tenant):
                barrier.wait(timeout=10)
                outcomes[index] = attempt()
        except (CodeRefused, BookingError) as exc:
            outcomes[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, a)) for i, a in enumerate(attempts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


def booker(tenant, code_id, service, starts_at, n):
    def attempt():
        code = InvitationCode.objects.select_related("price", "contract").get(pk=code_id)
        return code_redeem_and_book(
            tenant=tenant,
            code=code,
            service=service,
            starts_at=starts_at,
            details=BookingDetails(first_name="Racer", last_name=str(n), email=f"racer{n}@example.com"),
        )

    return attempt


@pytest.mark.parametrize("threads, max_uses", [(12, 5), (8, 1), (6, 10)])
def test_concurrent_redemptions_book_exactly_min_of_requests_and_max_uses(tenant, threads, max_uses):
    service = open_every_day(ServiceFactory(tenant=tenant), capacity=50)
    price = PriceFactory(tenant=tenant, service=service)
    code = CodeFactory(tenant=tenant, price=price, contract=price.contract, max_uses=max_uses)
    starts_at = tomorrow_at_ten(tenant)

    outcomes = race(tenant, [booker(tenant, code.pk, service, starts_at, n) for n in range(threads)])

    winners = [o for o in outcomes if isinstance(o, Booking)]
    expected = min(threads, max_uses)
    assert len(winners) == expected
    assert all(isinstance(o, CodeRefused) for o in outcomes if not isinstance(o, Booking))
    with isolated_scope(tenant=tenant):
        code.refresh_from_db()
        assert code.uses == expected
        assert code.status == (CodeStatus.USED_UP if threads >= max_uses else CodeStatus.ACTIVE)
        assert Booking.objects.filter(tenant=tenant).count() == expected
        assert Redemption.objects.filter(tenant=tenant, code=code).count() == expected
        assert Slot.objects.get(tenant=tenant, service=service).booked == expected


def test_the_last_place_of_a_slot_goes_to_exactly_one_and_the_others_keep_their_codes(tenant):
    service = open_every_day(ServiceFactory(tenant=tenant), capacity=1)
    price = PriceFactory(tenant=tenant, service=service)
    codes = [CodeFactory(tenant=tenant, price=price, contract=price.contract) for _ in range(8)]
    starts_at = tomorrow_at_ten(tenant)

    outcomes = race(tenant, [booker(tenant, code.pk, service, starts_at, n) for n, code in enumerate(codes)])

    winners = [o for o in outcomes if isinstance(o, Booking)]
    assert len(winners) == 1
    assert all(isinstance(o, BookingError) for o in outcomes if not isinstance(o, Booking))
    with isolated_scope(tenant=tenant):
        assert Slot.objects.get(tenant=tenant, service=service).booked == 1
        used = InvitationCode.objects.filter(tenant=tenant, uses=1)
        assert used.count() == 1  # the losers' codes were given back: their transaction rolled back
        assert Redemption.objects.filter(tenant=tenant).count() == 1


def test_two_slots_filling_at_once_never_exceed_their_capacity(tenant):
    service = open_every_day(ServiceFactory(tenant=tenant), capacity=3)
    price = PriceFactory(tenant=tenant, service=service)
    code = CodeFactory(tenant=tenant, price=price, contract=price.contract, max_uses=100)
    first = tomorrow_at_ten(tenant)
    second = first + timedelta(hours=1)
    attempts = [booker(tenant, code.pk, service, first if n % 2 else second, n) for n in range(14)]

    outcomes = race(tenant, attempts)

    assert sum(isinstance(o, Booking) for o in outcomes) == 6
    with isolated_scope(tenant=tenant):
        assert sorted(Slot.objects.filter(tenant=tenant).values_list("booked", flat=True)) == [3, 3]
        code.refresh_from_db()
        assert code.uses == 6
