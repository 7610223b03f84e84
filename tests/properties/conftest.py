"""The objects the public forms of tests/properties need: a code to book with, sessions (one with
spots, one full), a locked session invitation, a seat invitation, a staff invitation, an account."""

from datetime import datetime, time, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from ..factories import (
    CodeFactory,
    ContractFactory,
    PriceFactory,
    ProductSessionFactory,
    ServiceFactory,
    SessionFactory,
    UserFactory,
    invitation_with_token,
    open_every_day,
    seat_invite,
    seat_order,
    session_invite,
    session_register,
)

CODE = "ACME7KD0QX2M1F"


@pytest.fixture
def bookable(tenant):
    contract = ContractFactory(tenant=tenant, invitation_prefix="ACME")
    service = open_every_day(ServiceFactory(tenant=tenant, name="Intro session", duration_minutes=60), capacity=3)
    price = PriceFactory(tenant=tenant, contract=contract, service=service, price_code="STD", amount=Decimal("25"))
    CodeFactory(tenant=tenant, price=price, code=CODE)
    day = timezone.localdate(timezone=tenant.zone) + timedelta(days=1)
    return datetime.combine(day, time(10)).replace(tzinfo=tenant.zone)


@pytest.fixture
def session(tenant):
    return SessionFactory(tenant=tenant, capacity=5)


@pytest.fixture
def full_session(tenant):
    full = SessionFactory(tenant=tenant, capacity=1)
    session_register(full)
    return full


@pytest.fixture
def locked_invitation(session):
    _, token = session_invite(session, email="invitee@example.com", lock_to_email=True)
    return token


@pytest.fixture
def seat_token(tenant):
    order = seat_order(ProductSessionFactory(tenant=tenant), UserFactory(email="buyer@example.com"), quantity=3)
    _, token = seat_invite(order, email="new-learner@example.com")
    return token


@pytest.fixture
def staff_token(tenant):
    _, token = invitation_with_token(tenant=tenant, email="new-staff@example.com")
    return token


@pytest.fixture
def account(tenant):
    return UserFactory(email="someone@example.com")
