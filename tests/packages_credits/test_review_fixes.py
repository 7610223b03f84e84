"""Fixes from the review of packages: a login someone else made cannot use a client's credits, a
credit-paid booking is its holder's even without an address, held packages keep the coverage they
were added with, ended packages are not sold."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from bookings.models import Booking
from packages_credits.selectors import packages_offered
from packages_credits.services import credit_available, why_no_credit
from tenancy.urlresolvers import tenant_reverse

from ..conftest import signed_in
from ..factories import ClientFactory, ServiceFactory, UserFactory, open_every_day
from .test_services import book, define, give, in_days, pool

pytestmark = pytest.mark.django_db


@pytest.fixture
def yoga(tenant):
    return open_every_day(ServiceFactory(tenant=tenant, name="Yoga"), capacity=5)


@pytest.fixture
def pilates(tenant):
    return open_every_day(ServiceFactory(tenant=tenant, name="Pilates"), capacity=5)


def test_a_login_someone_else_made_for_the_address_cannot_see_or_spend_the_clients_credits(tenant, yoga):
    vic = ClientFactory(tenant=tenant, email="vic@example.com")
    held = give(tenant, vic, define(tenant, [(yoga, 5)], name="Vic's yoga"))
    impostor = signed_in(UserFactory(email="vic@example.com", email_verified=False))

    home = impostor.get(tenant_reverse(tenant, "portal:home")).content.decode()
    book_url = tenant_reverse(tenant, "packages_portal:book") + f"?service={yoga.pk}"

    assert held.name not in home.replace("&#x27;", "'")
    assert impostor.get(book_url).status_code == 404
    assert impostor.post(book_url, {"starts_at": "x"}).status_code == 404
    assert not Booking.objects.exists()


def test_a_credit_paid_booking_of_a_client_without_an_address_stays_on_their_card(tenant, yoga):
    ClientFactory(tenant=tenant, first_name="Aardvark", email="")
    zulu = ClientFactory(tenant=tenant, first_name="Zulu", email="")
    give(tenant, zulu, define(tenant, [(yoga, 5)]))

    booking = book(tenant, zulu, yoga, in_days(tenant, 2))

    assert booking.client_id == zulu.pk


def test_a_held_pool_keeps_the_services_it_was_added_with(tenant, yoga, pilates):
    package = pool(tenant, [yoga], 5)
    cleo = ClientFactory(tenant=tenant, email="cleo@example.com")
    give(tenant, cleo, package)
    from packages_credits.services import package_save

    package_save(
        tenant=tenant,
        package=package,
        items=[(pilates, 1)],
        name=package.name,
        price=package.price,
        validity_days=90,
        shared_pool=True,
        pool_sessions=5,
    )  # the definition now covers Pilates only

    when = in_days(tenant, 2)
    assert credit_available(tenant=tenant, client=cleo, service=yoga, starts_at=when) is not None
    assert credit_available(tenant=tenant, client=cleo, service=pilates, starts_at=when) is None
    assert "does not cover" in why_no_credit(tenant=tenant, client=cleo, service=pilates, starts_at=when)


def test_a_package_whose_fixed_end_has_passed_is_not_offered(tenant, yoga):
    ended = define(tenant, [(yoga, 5)], valid_until=timezone.localdate(timezone=tenant.zone) - timedelta(days=1))
    current = define(tenant, [(yoga, 5)], price="50.00")

    assert list(packages_offered(tenant=tenant)) == [current]
    assert ended.price == Decimal("100.00")


def test_adding_the_same_package_twice_in_a_moment_adds_it_once(tenant, yoga):
    from django.core.exceptions import ValidationError

    from packages_credits.models import ClientPackage
    from packages_credits.services import ADDED_A_MOMENT_AGO

    cleo = ClientFactory(tenant=tenant, email="cleo@example.com")
    package = define(tenant, [(yoga, 5)])
    give(tenant, cleo, package)

    with pytest.raises(ValidationError) as refused:
        give(tenant, cleo, package)

    assert refused.value.messages == [ADDED_A_MOMENT_AGO]
    assert ClientPackage.objects.filter(client=cleo).count() == 1


def test_staff_start_a_credit_appointment_from_the_calendar_by_picking_a_client(tenant, yoga, staff_http):
    cleo = ClientFactory(tenant=tenant, first_name="Cleo", email="cleo@example.com")
    ClientFactory(tenant=tenant, first_name="Nopack")
    give(tenant, cleo, define(tenant, [(yoga, 5)]))

    calendar = staff_http.get(tenant_reverse(tenant, "bookings:calendar")).content.decode()
    pick = staff_http.get(tenant_reverse(tenant, "packages:book_pick")).content.decode()
    chosen = staff_http.get(tenant_reverse(tenant, "packages:book_pick") + f"?client={cleo.pk}")

    assert "New appointment with a package credit" in calendar
    assert "Cleo" in pick and "Nopack" not in pick
    assert chosen.url == tenant_reverse(tenant, "packages:book", client_id=cleo.pk)
