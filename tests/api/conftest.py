"""An API client per key, and a workspace with something in it."""

from datetime import datetime, time, timedelta
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.test import Client as HttpClient
from django.utils import timezone

from api.models import KeyScope
from api.services import api_key_create

from ..factories import CodeFactory, ContractFactory, ParticipantFactory, PriceFactory, ServiceFactory, open_every_day

CODE = "ACME7KD0QX2M1F"


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Rate limits and import progress live in the cache: each test starts without any."""
    cache.clear()
    yield
    cache.clear()


class Api:
    """A Django test client that sends one API key with every request."""

    def __init__(self, text: str | None):
        self.http = HttpClient()
        self.headers = {"Authorization": f"Bearer {text}"} if text else {}

    def get(self, path, params=None, **headers):
        return self.http.get(path, params or {}, headers={**self.headers, **headers})

    def post(self, path, data=None, *, multipart=False, **headers):
        if multipart:
            return self.http.post(path, data or {}, headers={**self.headers, **headers})
        return self.http.post(path, data or {}, content_type="application/json", headers={**self.headers, **headers})


def key_for(tenant, scope=KeyScope.READ_WRITE, name="CRM sync", actor=None):
    return api_key_create(tenant=tenant, name=name, scope=scope, actor=actor)


@pytest.fixture
def api_key(tenant, owner):
    return key_for(tenant, actor=owner)


@pytest.fixture
def api(api_key):
    return Api(api_key[1])


@pytest.fixture
def read_api(tenant, owner):
    return Api(key_for(tenant, KeyScope.READ, name="Reporting", actor=owner)[1])


@pytest.fixture
def contract(tenant):
    return ContractFactory(
        organisation__tenant=tenant, organisation__name="Initech", invitation_prefix="ACME", name="Staff training"
    )


@pytest.fixture
def service(tenant):
    return open_every_day(ServiceFactory(tenant=tenant, name="Intro session", duration_minutes=60), capacity=3)


@pytest.fixture
def price(contract, service):
    return PriceFactory(contract=contract, service=service, price_code="STD", amount=Decimal("25.00"))


@pytest.fixture
def participant(contract):
    return ParticipantFactory(contract=contract, first_name="Ada", last_name="Lovelace", email="ada@initech.example")


@pytest.fixture
def code(price):
    return CodeFactory(price=price, code=CODE)


@pytest.fixture
def tomorrow_at_ten(tenant):
    day = timezone.localdate(timezone=tenant.zone) + timedelta(days=1)
    return datetime.combine(day, time(10)).replace(tzinfo=tenant.zone)
