"""The Invitation Codes tab built for large contracts (invitations/selectors.py): the same queries
whether the contract holds no codes or many, for every way the list is opened; a search finds codes
by the start of their text and by their participant in one list; the page link of a later page."""

import html
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tenancy.pagination import encode_key

from ..factories import CodeFactory, ContractFactory, ParticipantFactory, PriceFactory

pytestmark = pytest.mark.django_db


def codes_url(contract):
    return f"/t/acme/contracts/{contract.pk}/codes/"


def listed_ids(response) -> list[int]:
    found = re.findall(r'href="/t/acme/contracts/\d+/codes/(\d+)/"><code>', response.content.decode())
    return [int(pk) for pk in found]


@pytest.fixture
def contract(tenant):
    return ContractFactory(organisation__tenant=tenant, invitation_prefix="ACME")


@pytest.fixture
def price(contract):
    return PriceFactory(contract=contract, price_code="STD")


def fill(contract, price, count: int) -> None:
    for n in range(count):
        participant = ParticipantFactory(contract=contract, last_name=f"Lovelace{n:03d}") if n % 2 else None
        CodeFactory(price=price, participant=participant, code=f"ACME7KD{n:05d}", uses=n % 3 and 1, max_uses=2)


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"status": "void"},
        {"status": "expired", "assigned": "yes"},
        {"q": "ACME-7KD00"},  # a code's start
        {"q": "lovelace"},  # a participant
        {"q": "anna"},  # could be either: code symbols without a digit
        {"after": encode_key([10**9])},  # a later page
    ],
)
def test_the_list_takes_the_same_queries_empty_or_full(owner_http, contract, price, params):
    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert owner_http.get(codes_url(contract), params).status_code == 200
        return len(captured)

    owner_http.get(codes_url(contract))  # the session's first request sets things up
    empty = queries()
    fill(contract, price, 60)

    assert queries() == empty


def test_a_search_that_reads_as_code_text_and_as_a_name_finds_both(owner_http, contract, price):
    by_text = CodeFactory(price=price, code="ACMEANNA23456")
    by_name = CodeFactory(price=price, participant=ParticipantFactory(contract=contract, first_name="Anna"))
    CodeFactory(price=price, participant=ParticipantFactory(contract=contract, first_name="Bob"))

    assert listed_ids(owner_http.get(codes_url(contract), {"q": "anna"})) == [by_name.pk, by_text.pk]


def test_a_name_search_keeps_the_other_filters(owner_http, contract, price):
    ada = ParticipantFactory(contract=contract, first_name="Ada", last_name="Lovelace")
    vip = PriceFactory(contract=contract, price_code="VIP")
    CodeFactory(price=price, participant=ada)
    special = CodeFactory(price=vip, participant=ada)

    assert listed_ids(owner_http.get(codes_url(contract), {"q": "lovelace", "price": vip.pk})) == [special.pk]


def test_another_contracts_code_with_the_same_start_is_not_found(owner_http, tenant, contract, price):
    mine = CodeFactory(price=price, code="ACME7KD9QX2MF4")
    other = PriceFactory(contract=ContractFactory(organisation__tenant=tenant, invitation_prefix="ACMF"))
    CodeFactory(price=other, code="ACME7KD9QX2MF5")  # not this contract's prefix, still this tenant

    assert listed_ids(owner_http.get(codes_url(contract), {"q": "acme-7kd9q"})) == [mine.pk]


def test_the_next_page_link_leads_on_from_the_last_code_shown(owner_http, contract, price):
    made = [CodeFactory(price=price) for _ in range(53)]
    first = owner_http.get(codes_url(contract))
    following = html.unescape(re.search(r'<a href="([^"]*)" rel="next">', first.content.decode())[1])

    assert following == f"?after={encode_key([made[3].pk])}"
    assert listed_ids(owner_http.get(codes_url(contract) + following)) == [c.pk for c in made[2::-1]]
