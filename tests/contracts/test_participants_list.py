"""The Participants tab built for large contracts: each participant's codes come with the page's one
query (price code and status as the codes list shows them), the same queries run for an empty
contract or a full one, searched or paged, and the count is shown for the whole list only."""

import html
import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from invitations.models import CodeStatus
from tenancy.pagination import encode_key

from ..factories import CodeFactory, ContractFactory, ParticipantFactory, PriceFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def contract(tenant):
    return ContractFactory(organisation__tenant=tenant, invitation_prefix="ACME")


def participants_url(contract) -> str:
    return f"/t/acme/contracts/{contract.pk}/participants/"


def plain(response) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.content.decode())).split())


def test_each_participant_shows_their_codes_with_price_and_status(staff_http, contract):
    standard, vip = PriceFactory(contract=contract, price_code="STD"), PriceFactory(contract=contract, price_code="VIP")
    ada = ParticipantFactory(contract=contract, first_name="Ada", last_name="Lovelace")
    CodeFactory(price=standard, participant=ada, code="ACME7KD9QX2MF4", valid_until=timezone.now() - timedelta(days=1))
    CodeFactory(price=vip, participant=ada, code="ACMEAAAAABBBBB", status=CodeStatus.VOID)
    ParticipantFactory(contract=contract, first_name="Alan", last_name="Turing")

    page = plain(staff_http.get(participants_url(contract)))

    assert "Lovelace, Ada id" in page
    assert "ACME-7KD9Q-X2MF4 STD · Expired ACME-AAAAA-BBBBB VIP · Void" in page
    assert re.search(r"Turing, Alan id \d+ .* none", page)


@pytest.mark.parametrize(
    "params",
    [{}, {"q": "lovelace"}, {"after": encode_key(["Lovelace", "Ada", 1])}, {"before": encode_key(["Z", "Z", 1])}],
)
def test_the_list_takes_the_same_queries_for_no_participants_or_thirty(staff_http, contract, params):
    price = PriceFactory(contract=contract)

    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert staff_http.get(participants_url(contract), params).status_code == 200
        return len(captured)

    staff_http.get(participants_url(contract))
    empty = queries()
    for n in range(30):
        CodeFactory(price=price, participant=ParticipantFactory(contract=contract, last_name=f"Lovelace{n:02d}"))

    assert queries() == empty


def test_the_whole_list_is_counted_and_a_search_is_not(staff_http, contract):
    for n in range(30):
        ParticipantFactory(contract=contract, last_name=f"Smith{n:02d}")

    assert "30 in all" in plain(staff_http.get(participants_url(contract)))
    assert "in all" not in plain(staff_http.get(participants_url(contract), {"q": "smith"}))


def test_a_search_matches_words_across_name_email_and_phone(staff_http, contract):
    ada = ParticipantFactory(contract=contract, first_name="Ada", last_name="Lovelace", email="ada@engine.example")
    ParticipantFactory(contract=contract, first_name="Ada", last_name="Byron", email="byron@poets.example")

    found = plain(staff_http.get(participants_url(contract), {"q": "ADA engine"}))

    assert f"id {ada.pk}" in found and "Byron" not in found
