"""A booking goes on the tenant's card for its address, however the address is capitalised."""

from datetime import date, datetime, time, timedelta

import pytest

from accounts.models import Client
from bookings.services import BookingDetails, booking_create

from ..factories import ClientFactory, ServiceFactory, open_every_day

pytestmark = pytest.mark.django_db


def book(tenant, service, email: str):
    start = datetime.combine(date.today() + timedelta(days=1), time(10)).replace(tzinfo=tenant.zone)
    details = BookingDetails(first_name="Ann", last_name="Lee", email=email)
    return booking_create(tenant=tenant, service=service, starts_at=start, details=details, price_amount=10)


def test_an_address_typed_in_another_case_books_on_the_existing_card(tenant, other_tenant):
    service = open_every_day(ServiceFactory(tenant=tenant))
    card = ClientFactory(tenant=tenant, email="ann.lee@example.com")
    ClientFactory(tenant=other_tenant, email="ANN.LEE@example.com")

    booking = book(tenant, service, "Ann.Lee@Example.COM")

    assert booking.client == card
    assert Client.objects.filter(tenant=tenant).count() == 1


def test_a_new_address_makes_a_card_in_this_tenant_only(tenant, other_tenant):
    service = open_every_day(ServiceFactory(tenant=tenant))
    ClientFactory(tenant=other_tenant, email="ann.lee@example.com")

    booking = book(tenant, service, "ann.lee@example.com")

    assert booking.client.tenant == tenant and booking.client.email == "ann.lee@example.com"
    assert Client.objects.filter(email__iexact="ann.lee@example.com").count() == 2
