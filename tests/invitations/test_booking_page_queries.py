"""How many database queries each step of the public booking page makes: a fixed number, whoever
books, however many bookings the service already has. A regression (a query per slot, a query more
per step) changes a number here. Savepoints are left out of the count: in a test every atomic block
is one, in production the outermost is a plain transaction.
"""

from datetime import datetime, time, timedelta
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client as HttpClient
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from bookings.models import Booking, Slot
from invitations.models import InvitationCode

from ..factories import CodeFactory, ContractFactory, PriceFactory, ServiceFactory, SlotFactory, open_every_day

pytestmark = pytest.mark.django_db

BOOK = "/t/acme/book/"
CODE = "ACME7KD0QX2M1F"

QUERIES = {
    "start": 1,  # the tenant
    "code": 4,  # tenant, code; session: key free?, insert
    "times": 5,  # tenant, session, code, weekly times, slots booked in the two weeks
    "time": 6,  # tenant, session, code, weekly times and booked seats of that one day, session write
    "details": 3,  # tenant, session, code
    # tenant, session, code; the code's use, double-submit check, weekly times, the seat (one
    # statement), client card (look up, insert), booking, email (template override, look up,
    # insert), redemption, history line; audit rows (client card, booking, email, redemption: 4);
    # webhook endpoints that may want booking.created and code.redeemed (2); session write
    "book": 22,
    "done": 3,  # tenant, session, booking
}


@pytest.fixture(autouse=True)
def _fresh_attempt_counts():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def service(tenant):
    return open_every_day(ServiceFactory(tenant=tenant, duration_minutes=60), capacity=50)


@pytest.fixture
def code(tenant, service):
    contract = ContractFactory(organisation__tenant=tenant, invitation_prefix="ACME")
    price = PriceFactory(contract=contract, service=service, amount=Decimal("25.00"))
    return CodeFactory(price=price, code=CODE, max_uses=5)


@pytest.fixture
def tomorrow_at_ten(tenant):
    day = timezone.localdate(timezone=tenant.zone) + timedelta(days=1)
    return datetime.combine(day, time(10)).replace(tzinfo=tenant.zone)


def counted(request) -> tuple[object, int]:
    with CaptureQueriesContext(connection) as captured:
        response = request()
    statements = [q["sql"] for q in captured.captured_queries]
    return response, sum(not sql.startswith(("SAVEPOINT", "RELEASE SAVEPOINT")) for sql in statements)


def book_counting(starts_at, email: str) -> dict[str, int]:
    """One visitor's whole booking with a fresh session; the queries of each step."""
    http, counts = HttpClient(), {}
    response, counts["start"] = counted(lambda: http.get(BOOK))
    assert response.status_code == 200
    response, counts["code"] = counted(lambda: http.post(BOOK, {"code": CODE}))
    assert response.status_code == 302
    response, counts["times"] = counted(lambda: http.get(BOOK + "times/"))
    assert starts_at.isoformat() in response.content.decode()
    response, counts["time"] = counted(lambda: http.post(BOOK + "times/", {"starts_at": starts_at.isoformat()}))
    assert response.status_code == 302
    response, counts["details"] = counted(lambda: http.get(BOOK + "details/"))
    assert response.status_code == 200
    form = {"first_name": "Ada", "last_name": "Lovelace", "email": email}
    response, counts["book"] = counted(lambda: http.post(BOOK + "details/", form))
    assert "/done/" in response["Location"]
    response, counts["done"] = counted(lambda: http.get(response["Location"]))
    assert response.status_code == 200
    return counts


def test_each_step_makes_a_fixed_number_of_queries(code, tomorrow_at_ten):
    first = book_counting(tomorrow_at_ten, "ada@example.com")

    assert first == {**QUERIES, "code": QUERIES["code"] + 1}  # the first typing fixes the code's text


def test_the_next_visitor_with_the_same_code_makes_as_many_and_the_slot_row_is_reused(code, tomorrow_at_ten):
    book_counting(tomorrow_at_ten, "ada@example.com")

    second = book_counting(tomorrow_at_ten, "grace@example.com")

    assert second == QUERIES
    assert Slot.objects.get(starts_at=tomorrow_at_ten).booked == 2
    assert InvitationCode.objects.get(pk=code.pk).uses == 2


def test_the_counts_do_not_grow_with_the_bookings_the_service_already_has(code, service, tomorrow_at_ten):
    for hours in range(1, 8):
        SlotFactory(service=service, starts_at=tomorrow_at_ten + timedelta(hours=hours), capacity=50, booked=30)
    book_counting(tomorrow_at_ten, "ada@example.com")

    counts = book_counting(tomorrow_at_ten + timedelta(days=1), "grace@example.com")

    assert counts == QUERIES
    assert Booking.objects.count() == 2
