"""The API's long lists cost the same whatever their size: a page of a contract's codes, with any
filter, makes the same queries for no codes as for many (each through the indexes the Invitation
Codes tab uses), and so do the other lists."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tenancy.pagination import encode_key

from ..factories import CodeFactory, ParticipantFactory
from ..world import build_world

pytestmark = pytest.mark.django_db


def queries(api, path, params) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = api.get(path, params)
        assert response.status_code == 200, response.json()
    return len(captured)


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"status": "active"},
        {"status": "expired", "campaign": "spring"},
        {"code": "ACME-7KD0"},
        {"participant": 1},
        {"after": encode_key([10**9]), "limit": 5},
    ],
)
def test_a_page_of_codes_takes_the_same_queries_empty_or_full(api, contract, price, params):
    path = f"/api/v1/contracts/{contract.pk}/codes/"
    api.get(path)  # the key's first use of the minute records it (one UPDATE); not counted
    empty = queries(api, path, params)
    for n in range(30):
        participant = ParticipantFactory(contract=contract, last_name=f"P{n:03d}") if n % 2 else None
        CodeFactory(price=price, participant=participant, code=f"ACME7KD{n:05d}", campaign="spring" if n % 3 else "")
    api.get(path, params)  # the first read of new codes fixes their text (one UPDATE, a history line); not counted

    assert queries(api, path, params) == empty


@pytest.mark.parametrize("path", ["/api/v1/bookings/", "/api/v1/packages/", "/api/v1/sessions/?when=all"])
def test_other_lists_take_the_same_queries_for_a_few_rows_or_many(api, tenant, path):
    build_world(tenant)
    api.get(path)
    few = queries(api, path, {})
    for n in range(3):
        more_of_everything(tenant, n)

    assert queries(api, path, {}) == few


def more_of_everything(tenant, n: int):
    """Another booking, client package and session in the workspace."""
    from datetime import timedelta
    from decimal import Decimal

    from django.utils import timezone

    from packages_credits.services import client_package_add, default_expiry, package_save

    from ..factories import BookingFactory, ClientFactory, ServiceFactory, SessionFactory, SlotFactory

    service = ServiceFactory(tenant=tenant)
    slot = SlotFactory(tenant=tenant, service=service, starts_at=timezone.now() + timedelta(days=3))
    BookingFactory(tenant=tenant, service=service, slot=slot)
    package = package_save(
        tenant=tenant, items=[(service, 2)], name=f"Two sessions {n}", price=Decimal("10"), validity_days=30
    )
    client_package_add(
        tenant=tenant,
        client=ClientFactory(tenant=tenant),
        package=package,
        price=package.price,
        expires_on=default_expiry(tenant=tenant, package=package),
    )
    SessionFactory(tenant=tenant)
