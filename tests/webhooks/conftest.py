from contextlib import contextmanager
from datetime import datetime, time, timedelta
from unittest import mock

import pytest
from django.utils import timezone

from bookings.services import BookingDetails
from invitations.services import code_redeem_and_book

from ..factories import CodeFactory, PriceFactory, ServiceFactory, open_every_day
from .receiver import start_receiver, stop_receiver


@pytest.fixture(autouse=True)
def _local_receivers(settings):
    """The receiver listens on 127.0.0.1, which a deployment refuses; tests that check the refusal
    switch this off again."""
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True
    settings.WEBHOOK_TIMEOUT_SECONDS = 3


@pytest.fixture
def receiver():
    receiver = start_receiver()
    yield receiver
    stop_receiver(receiver)


@contextmanager
def clock(at: datetime):
    """Time moved to ``at`` for the code under test (``timezone.now()``), without sleeping."""
    with mock.patch("django.utils.timezone.now", return_value=at):
        yield


def later(**delta) -> datetime:
    return timezone.now() + timedelta(**delta)


def tomorrow_at_ten(tenant):
    day = timezone.localdate(timezone=tenant.zone) + timedelta(days=1)
    return datetime.combine(day, time(10)).replace(tzinfo=tenant.zone)


@pytest.fixture
def code(tenant):
    service = open_every_day(ServiceFactory(tenant=tenant, name="Intro lesson"), capacity=5)
    price = PriceFactory(tenant=tenant, service=service)
    return CodeFactory(tenant=tenant, price=price, contract=price.contract, max_uses=5)


def redeem(tenant, code, email="pat@example.com"):
    """The real redemption: the code's use, the booking, the confirmation email, its events."""
    return code_redeem_and_book(
        tenant=tenant,
        code=code,
        service=code.price.service,
        starts_at=tomorrow_at_ten(tenant),
        details=BookingDetails(first_name="Pat", last_name="Lee", email=email),
    )
