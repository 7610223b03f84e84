"""My Account with the Registration Codes tile, and an order's Details page: the same queries for a
customer with one small order as for one with several orders, invitations and learners, and other
customers' orders in the tenant do not show."""

import html
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from regcodes.services import NewLearner, invites_send, learners_assign
from tenancy.urlresolvers import tenant_reverse

from ..conftest import signed_in
from ..factories import ProductSessionFactory, UserFactory, seat_order

pytestmark = pytest.mark.django_db


def plain(response) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.content.decode())).split())


@pytest.fixture
def course(tenant):
    return ProductSessionFactory(tenant=tenant)


@pytest.fixture
def buyer(tenant):
    return UserFactory(email="buyer@customer.example")


def hand_out(order, invited: int, seated: int) -> None:
    tenant = order.tenant
    emails = [f"invitee{order.pk}-{n}@example.com" for n in range(invited)]
    invites_send(tenant=tenant, order=order, emails=emails, actor=order.buyer)
    learners = [NewLearner(f"learner{order.pk}-{n}@example.com", "Lee", f"Rner{n}") for n in range(seated)]
    learners_assign(tenant=tenant, order=order, learners=learners, actor=order.buyer)


def count_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_my_account_takes_the_same_queries_for_one_order_or_many(tenant, course, buyer):
    first = seat_order(course, buyer, quantity=2)
    http, home = signed_in(buyer), tenant_reverse(tenant, "portal:home")
    http.get(home)
    few = count_queries(http, home)
    for quantity in (20, 12, 8):
        hand_out(seat_order(course, buyer, quantity=quantity), invited=3, seated=4)
    for _ in range(5):  # other customers' orders are in the same tables
        seat_order(course, UserFactory(), quantity=6)

    page = plain(http.get(home))

    assert count_queries(http, home) == few
    assert page.count("Details") == 4 and f"Order R-{first.pk:06d}" in page
    assert "13 remaining, 3 invited · 4 / 20 used" in page


def test_an_orders_details_take_the_same_queries_with_or_without_learners(tenant, course, buyer):
    order = seat_order(course, buyer, quantity=30)
    http, details = signed_in(buyer), tenant_reverse(tenant, "seats_portal:order", order_id=order.pk)
    http.get(details)
    empty = count_queries(http, details)
    hand_out(order, invited=6, seated=9)

    page = plain(http.get(details))

    assert count_queries(http, details) == empty
    assert "Pending invites (6)" in page and "Completed registrations (9)" in page
