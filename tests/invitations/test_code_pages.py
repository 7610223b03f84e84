"""Staff pages of invitation codes: generating in bulk (with the batch's progress), the Invitation
Codes tab (filters, search, pagination, action menu), one code (shown, edit, void, delete, history)
and the CSV download."""

import csv
import html
import io
import re
import threading
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from bookings.models import BookingStatus
from contracts.models import ContractEvent, EventKind
from invitations import services
from invitations.forms import DOMAIN_INVALID, SHORT_CODE_CONFIRM, VALIDITY_ORDER
from invitations.models import BatchStatus, CodeBatch, CodeStatus, InvitationCode, Redemption
from invitations.services import (
    ALREADY_HAS_CODE,
    ALREADY_VOID,
    CODE_IN_USE,
    CODE_TEXT_INVALID,
    CODE_TEXT_LOCKED,
    CODE_TEXT_TAKEN,
    MAX_USES_BELOW_USES,
    PRICE_LOCKED,
    code_batch_run,
)
from invitations.tasks import resume_code_batches
from tenancy.scoping import isolated_scope

from ..factories import (
    BatchFactory,
    BookingFactory,
    CodeFactory,
    ContractFactory,
    ParticipantFactory,
    PriceFactory,
    ServiceFactory,
    SlotFactory,
    open_every_day,
)

pytestmark = pytest.mark.django_db

NOT_IN_CONTRACT = "No participant with this id in this contract."
BELOW_TEN_WARNING = "Guessing one is practical at these limits"
CODE = "ACME7KD9QX2MF4"
SHOWN = "ACME-7KD9Q-X2MF4"


# Helpers


def text(response) -> str:
    return html.unescape(response.content.decode())


def field_error(response, field: str) -> str:
    return html.unescape(
        " ".join(re.findall(rf'<p class="field-error" id="id_{field}_error">(.*?)</p>', text(response)))
    )


def listed_ids(response) -> list[int]:
    return [
        int(pk) for pk in re.findall(r'href="/t/acme/contracts/\d+/codes/(\d+)/"><code>', response.content.decode())
    ]


def codes_url(contract):
    return f"/t/acme/contracts/{contract.pk}/codes/"


def generate_url(contract):
    return f"{codes_url(contract)}generate/"


def code_url(code, action=""):
    return f"/t/acme/contracts/{code.contract_id}/codes/{code.pk}/{action}"


def history_url(contract):
    return f"/t/acme/contracts/{contract.pk}/history/"


def batch_of(contract) -> CodeBatch:
    return CodeBatch.objects.get(contract=contract)


def codes_of(contract):
    return InvitationCode.objects.filter(contract=contract)


@pytest.fixture
def contract(tenant):
    return ContractFactory(organisation__tenant=tenant, invitation_prefix="ACME", name="Staff training")


@pytest.fixture
def service(tenant):
    return open_every_day(ServiceFactory(tenant=tenant, name="Intro session"))


@pytest.fixture
def price(contract, service):
    return PriceFactory(contract=contract, service=service, price_code="STD", amount=Decimal("25.00"))


@pytest.fixture
def code(price):
    return CodeFactory(price=price, code=CODE)


@pytest.fixture
def generate(owner_http, contract, price, django_capture_on_commit_callbacks):
    """POST the Generate Codes form; the batch's task runs after the commit, as in production."""

    def post(**fields):
        data = {"quantity": 5, "width": 10, "price": price.pk, "max_uses": 1, **fields}
        with django_capture_on_commit_callbacks(execute=True):
            return owner_http.post(generate_url(contract), data)

    return post


def local(tenant, *args) -> datetime:
    return datetime(*args).replace(tzinfo=tenant.zone)


# Generating codes


def test_generating_makes_exactly_the_quantity_asked_with_the_prefix_and_width(generate, contract, price):
    response = generate(quantity=7, width=12)

    batch = batch_of(contract)
    assert response.status_code == 302
    assert response["Location"] == f"{codes_url(contract)}batches/{batch.pk}/"
    made = list(codes_of(contract).values_list("code", flat=True))
    assert len(made) == len(set(made)) == 7
    assert all(code.startswith("ACME") and len(code) == 4 + 12 for code in made)
    assert batch.status == BatchStatus.DONE and batch.created_count == 7


def test_the_batch_page_shows_the_result_and_links_to_the_codes(generate, owner_http, contract, price):
    response = owner_http.get(generate(quantity=5)["Location"])

    page = text(response)
    assert "5 codes generated." in page
    assert f'href="{codes_url(contract)}?price={price.pk}"' in page
    assert 'http-equiv="refresh"' not in page


def test_a_waiting_batch_shows_its_progress_and_refreshes_itself(owner_http, contract, price):
    batch = BatchFactory(price=price, quantity=40, created_count=10)

    page = text(owner_http.get(f"{codes_url(contract)}batches/{batch.pk}/"))

    assert "Waiting… 10 of 40" in page
    assert '<progress id="progress" max="100" value="25">' in page
    assert 'http-equiv="refresh"' in page


def test_a_failed_batch_says_why(owner_http, contract, price):
    batch = BatchFactory(price=price, status=BatchStatus.FAILED, created_count=2, error=services.COULD_NOT_DRAW)

    page = text(owner_http.get(f"{codes_url(contract)}batches/{batch.pk}/"))

    assert f"Generating stopped after 2 codes: {services.COULD_NOT_DRAW}" in page


def test_generated_codes_carry_the_chosen_price_uses_validity_and_domain(generate, tenant, contract, price):
    other_price = PriceFactory(contract=contract, price_code="VIP")

    generate(
        quantity=3,
        price=other_price.pk,
        max_uses=4,
        valid_from="2030-01-01T09:00",
        valid_until="2030-06-30T17:30",
        restricted_domain="@Acme.COM",
    )

    rows = codes_of(contract)
    assert rows.count() == 3
    for code in rows:
        assert code.price == other_price
        assert (code.max_uses, code.uses, code.status) == (4, 0, CodeStatus.ACTIVE)
        assert code.valid_from == local(tenant, 2030, 1, 1, 9, 0)  # typed in the tenant's time zone
        assert code.valid_until == local(tenant, 2030, 6, 30, 17, 30)
        assert code.restricted_domain == "acme.com"
        assert code.participant is None and code.shown_at is None


def test_generating_writes_a_history_line_with_who_and_what(generate, owner_http, contract):
    generate(quantity=6, width=11)

    page = text(owner_http.get(history_url(contract)))
    assert "6 codes generated at price STD, 11 characters after the prefix." in page
    assert "Olga Owner" in page


@pytest.mark.parametrize("quantity", [0, -1, 100_001])
def test_a_quantity_outside_1_to_100000_is_refused_beside_the_field(generate, contract, quantity):
    response = generate(quantity=quantity)

    assert response.status_code == 200
    assert field_error(response, "quantity")
    assert not CodeBatch.objects.exists() and not codes_of(contract).exists()


def test_a_validity_that_ends_before_it_starts_is_refused_beside_the_field(generate):
    response = generate(valid_from="2030-06-01T10:00", valid_until="2030-06-01T09:00")

    assert field_error(response, "valid_until") == VALIDITY_ORDER
    assert not CodeBatch.objects.exists()


@pytest.mark.parametrize("domain", ["acme", "ada@acme.com", "acme .com"])
def test_a_restriction_that_is_not_a_domain_is_refused_beside_the_field(generate, domain):
    response = generate(restricted_domain=domain)

    assert field_error(response, "restricted_domain") == DOMAIN_INVALID
    assert not CodeBatch.objects.exists()


def test_the_largest_quantity_is_accepted(owner_http, contract, price):
    # No on_commit capture: the batch is recorded, its (slow) task never runs in this test.
    response = owner_http.post(
        generate_url(contract), {"quantity": 100_000, "width": 10, "price": price.pk, "max_uses": 1}
    )

    assert response.status_code == 302
    assert batch_of(contract).quantity == 100_000


def test_one_code_can_be_generated(generate, contract):
    generate(quantity=1)

    assert codes_of(contract).count() == 1


@pytest.mark.parametrize("width", [5, 21])
def test_a_width_outside_6_to_20_is_refused_beside_the_field(generate, contract, width):
    response = generate(width=width, accept_short="on")

    assert field_error(response, "width")
    assert not CodeBatch.objects.exists()


@pytest.mark.parametrize("width", [6, 9])
def test_a_width_below_10_needs_the_box_ticked_and_says_how_guessable_it_is(generate, contract, width):
    response = generate(width=width)

    assert field_error(response, "accept_short") == SHORT_CODE_CONFIRM.format(width=10)
    page = text(response)
    assert re.search(rf"Codes of <strong>{width}</strong> characters after <code>ACME</code>", page)
    assert re.search(r"would need\s+<strong>(about [\d.,e+]+ (years|days|hours)|less than an hour)</strong>", page)
    assert BELOW_TEN_WARNING in page
    assert not CodeBatch.objects.exists()


def test_short_codes_are_made_once_the_box_is_ticked(generate, contract):
    generate(quantity=4, width=6, accept_short="on")

    assert sorted(len(code) for code in codes_of(contract).values_list("code", flat=True)) == [10] * 4


def test_the_form_states_the_guessability_of_the_default_width_without_a_warning(owner_http, contract, price):
    page = text(owner_http.get(generate_url(contract)))

    assert 'name="width" value="10"' in page
    assert "Codes of <strong>10</strong> characters" in page
    assert "carry 50 bits of randomness" in page
    # 100 new codes, 20 wrong codes an hour: 32**10 / 100 / 20 hours ≈ 64 million years.
    assert "<strong>about 6.4e+07 years</strong> to hit one" in page
    assert BELOW_TEN_WARNING not in page


def test_running_a_finished_batch_again_makes_no_more_codes(generate, tenant, contract):
    generate(quantity=5)
    batch = batch_of(contract)

    code_batch_run(tenant=tenant, batch_id=batch.pk)
    CodeBatch.objects.filter(pk=batch.pk).update(status=BatchStatus.RUNNING)  # as if the worker died at the end
    again = code_batch_run(tenant=tenant, batch_id=batch.pk)

    assert codes_of(contract).count() == 5
    assert again.status == BatchStatus.DONE and again.created_count == 5


def test_a_batch_that_stopped_halfway_is_topped_up_to_its_quantity(tenant, contract, price):
    # A run commits each chunk's codes together with the batch's count of them.
    batch = BatchFactory(price=price, quantity=8, status=BatchStatus.RUNNING, created_count=3)
    CodeFactory.create_batch(3, price=price, batch=batch)

    code_batch_run(tenant=tenant, batch_id=batch.pk)

    assert codes_of(contract).filter(batch=batch).count() == 8


@pytest.mark.django_db(transaction=True)
def test_two_overlapping_runs_of_one_batch_make_no_more_than_its_quantity(tenant, contract, price):
    """A redelivered task and a resume running the same batch at once, each on its own connection."""
    batch = BatchFactory(price=price, quantity=5_000)
    barrier = threading.Barrier(2)

    def run():
        try:
            with isolated_scope(tenant=tenant):
                barrier.wait(timeout=10)
                code_batch_run(tenant=tenant, batch_id=batch.pk)
        finally:
            connection.close()

    workers = [threading.Thread(target=run) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)

    assert codes_of(contract).filter(batch=batch).count() == 5_000


def test_a_batch_of_2000_codes_works(generate, contract):
    response = generate(quantity=2_000, width=10)

    made = list(codes_of(contract).values_list("code", flat=True))
    assert len(made) == len(set(made)) == 2_000
    assert batch_of(contract).created_count == 2_000
    assert response.status_code == 302


def test_codes_are_unique_in_the_tenant_by_a_database_constraint(tenant, other_tenant, code):
    other_price = PriceFactory(contract=ContractFactory(organisation__tenant=other_tenant, invitation_prefix="ACME"))
    CodeFactory(price=other_price, code=CODE)  # another tenant may hold the same text

    with pytest.raises(IntegrityError), transaction.atomic():
        CodeFactory(price=PriceFactory(contract=ContractFactory(organisation__tenant=tenant)), code=CODE)


def test_a_contract_without_prices_sends_staff_to_add_one(owner_http, contract):
    response = owner_http.get(generate_url(contract), follow=True)

    assert response.redirect_chain == [(f"/t/acme/contracts/{contract.pk}/prices/", 302)]
    assert "Every code carries a price, and this contract has none yet: add one first." in text(response)


def test_the_price_of_another_contract_cannot_be_chosen(generate, tenant, contract):
    foreign = PriceFactory(contract=ContractFactory(organisation__tenant=tenant))

    response = generate(price=foreign.pk)

    assert field_error(response, "price")
    assert not CodeBatch.objects.exists()


def test_resume_re_enqueues_a_batch_whose_task_was_lost(contract, price):
    lost = BatchFactory(price=price, quantity=3, created_at=timezone.now() - timedelta(minutes=30))
    fresh = BatchFactory(price=price, quantity=2)  # its task is presumably still on its way

    assert resume_code_batches() == 1

    lost.refresh_from_db()
    fresh.refresh_from_db()
    assert lost.status == BatchStatus.DONE and codes_of(contract).filter(batch=lost).count() == 3
    assert fresh.status == BatchStatus.QUEUED and not codes_of(contract).filter(batch=fresh).exists()


# One code for one participant


def participant_code_url(participant):
    return f"/t/acme/contracts/{participant.contract_id}/participants/{participant.pk}/code/"


def test_a_code_generated_for_a_participant_is_assigned_to_them(owner_http, contract, price):
    ada = ParticipantFactory(contract=contract, first_name="Ada", last_name="Lovelace")

    response = owner_http.post(participant_code_url(ada), {"price": price.pk, "width": 12}, follow=True)

    code = codes_of(contract).get()
    assert (code.participant, code.price, code.max_uses) == (ada, price, 1)
    assert code.code.startswith("ACME") and len(code.code) == 16
    assert f"Code {code.shown} generated for Ada Lovelace." in text(response)
    assert "Code generated for Ada Lovelace at price STD." in text(owner_http.get(history_url(contract)))


def test_a_participant_gets_one_live_code_per_price(owner_http, contract, price):
    ada = ParticipantFactory(contract=contract, first_name="Ada", last_name="Lovelace")
    first = CodeFactory(price=price, participant=ada)

    refused = owner_http.post(participant_code_url(ada), {"price": price.pk, "width": 10})
    InvitationCode.objects.filter(pk=first.pk).update(status=CodeStatus.VOID)
    again = owner_http.post(participant_code_url(ada), {"price": price.pk, "width": 10})

    assert ALREADY_HAS_CODE.format(name="Ada Lovelace", price="STD") in text(refused)
    assert again.status_code == 302
    assert codes_of(contract).filter(participant=ada, status=CodeStatus.ACTIVE).count() == 1


# The codes list


@pytest.fixture
def every_status(tenant, price):
    now = timezone.now()
    return {
        "active": CodeFactory(price=price),
        "used_up": CodeFactory(price=price, uses=1, status=CodeStatus.USED_UP),
        "void": CodeFactory(price=price, status=CodeStatus.VOID),
        "expired": CodeFactory(price=price, valid_until=now - timedelta(days=1)),
        "not_yet_valid": CodeFactory(price=price, valid_from=now + timedelta(days=1)),
    }


@pytest.mark.parametrize("status", ["active", "used_up", "void", "expired", "not_yet_valid"])
def test_the_list_filters_by_status(owner_http, contract, every_status, status):
    response = owner_http.get(codes_url(contract), {"status": status})

    assert listed_ids(response) == [every_status[status].pk]


def test_the_list_counts_codes_by_status(owner_http, contract, every_status):
    page = text(owner_http.get(codes_url(contract)))

    for status, label in [("active", "Active"), ("used_up", "Used up"), ("not_yet_valid", "Not yet valid")]:
        assert f'href="?status={status}"><span class="stat-value">1</span><span class="stat-label">{label}' in page


def test_the_list_shows_each_codes_status(owner_http, contract, every_status):
    page = text(owner_http.get(codes_url(contract)))

    for label in ["Active", "Used up", "Void", "Expired", "Not yet valid"]:
        assert re.search(rf">{label}</span>\s*</td>", page), label


def test_the_list_filters_by_price(owner_http, contract, price):
    vip = PriceFactory(contract=contract, price_code="VIP")
    standard = CodeFactory(price=price)
    special = CodeFactory(price=vip)

    assert listed_ids(owner_http.get(codes_url(contract), {"price": vip.pk})) == [special.pk]
    assert listed_ids(owner_http.get(codes_url(contract), {"price": price.pk})) == [standard.pk]


def test_the_list_filters_assigned_and_unassigned_codes(owner_http, contract, price):
    assigned = CodeFactory(price=price, participant=ParticipantFactory(contract=contract))
    unassigned = CodeFactory(price=price)

    assert listed_ids(owner_http.get(codes_url(contract), {"assigned": "yes"})) == [assigned.pk]
    assert listed_ids(owner_http.get(codes_url(contract), {"assigned": "no"})) == [unassigned.pk]


@pytest.mark.parametrize("query", ["ACME7KD9QX2MF4", "acme-7kd9q-x2mf4", "acme 7kd", " 7kd9q x2 ", "7KD9Q"])
def test_a_search_finds_a_code_typed_loosely_from_its_start(owner_http, contract, price, code, query):
    CodeFactory(price=price, code="ACMEZZZZZZZZZZ")

    assert listed_ids(owner_http.get(codes_url(contract), {"q": query})) == [code.pk]


@pytest.mark.parametrize("query", ["9q x2mf", "x2mf4"])
def test_a_search_does_not_find_a_code_by_a_piece_from_its_middle_or_end(owner_http, contract, price, code, query):
    # Codes are matched from their start, which an index answers at any size (see code_search).
    page = text(owner_http.get(codes_url(contract), {"q": query}))

    assert "No codes match these filters" in page


def test_a_search_finds_a_code_by_its_participants_last_name(owner_http, contract, price):
    ada = ParticipantFactory(contract=contract, first_name="Ada", last_name="Lovelace")
    found = CodeFactory(price=price, participant=ada)
    CodeFactory(price=price, participant=ParticipantFactory(contract=contract, first_name="Alan", last_name="Turing"))

    assert listed_ids(owner_http.get(codes_url(contract), {"q": "lovelace"})) == [found.pk]


@pytest.mark.parametrize("query", ["Ada", "Ada Lovelace"])
def test_a_search_finds_a_code_by_its_participants_first_or_full_name(owner_http, contract, price, query):
    found = CodeFactory(
        price=price, participant=ParticipantFactory(contract=contract, first_name="Ada", last_name="Lovelace")
    )
    CodeFactory(price=price, participant=ParticipantFactory(contract=contract, first_name="Alan", last_name="Turing"))

    assert listed_ids(owner_http.get(codes_url(contract), {"q": query})) == [found.pk]


def next_link(response) -> str:
    return html.unescape(re.search(r'<a href="([^"]*)" rel="next">', response.content.decode()).group(1))


def previous_link(response) -> str:
    return html.unescape(re.search(r'<a href="([^"]*)" rel="prev">', response.content.decode()).group(1))


def test_the_list_shows_50_codes_per_page_with_next_and_previous(owner_http, contract, price):
    made = CodeFactory.create_batch(60, price=price)
    newest_first = [code.pk for code in reversed(made)]

    first = owner_http.get(codes_url(contract), {"price": price.pk})
    second = owner_http.get(codes_url(contract) + next_link(first))
    back = owner_http.get(codes_url(contract) + previous_link(second))

    assert listed_ids(first) == newest_first[:50]
    assert listed_ids(second) == newest_first[50:]
    assert listed_ids(back) == newest_first[:50]
    assert f"price={price.pk}" in next_link(first)  # the filters stay
    assert "60 in all" in text(second)
    assert 'rel="next"' not in second.content.decode() and 'rel="prev"' not in first.content.decode()


def test_a_code_made_while_paging_does_not_shift_the_next_page(owner_http, contract, price):
    made = CodeFactory.create_batch(51, price=price)
    first = owner_http.get(codes_url(contract))
    CodeFactory(price=price)  # newer than all: an offset-based page 2 would repeat the 50th code

    assert listed_ids(owner_http.get(codes_url(contract) + next_link(first))) == [made[0].pk]


@pytest.mark.parametrize(
    "key", ["garbage", "W10", "eyJhIjogMX0", "WyJ4Il0", "WzFlKzQwXQ", "WzEwMDAwMDAwMDAwMDAwMDAwMDAwMDAwXQ"]
)
def test_a_mangled_page_link_shows_the_first_page(owner_http, contract, code, key):
    response = owner_http.get(codes_url(contract), {"after": key})

    assert response.status_code == 200
    assert listed_ids(response) == [code.pk]


def test_counts_above_10000_say_more_than(owner_http, tenant, contract, price):
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO invitations_invitationcode (tenant_id, contract_id, price_id, code, max_uses, uses, status,"
            " restricted_domain, created_at) SELECT %s, %s, %s, 'ACMEX' || n, 1, 0, 'void', '', now()"
            " FROM generate_series(1, 10001) AS n",
            [tenant.pk, contract.pk, price.pk],
        )
    CodeFactory(price=price)

    page = text(owner_http.get(codes_url(contract)))

    assert '<span class="stat-value" title="more than 10,000">10,000+</span><span class="stat-label">Void' in page
    assert '<span class="stat-value">1</span><span class="stat-label">Active' in page
    assert "more than 10,000 in all" in page


def test_the_list_shows_only_this_contracts_codes(owner_http, tenant, other_tenant, contract, code):
    CodeFactory(price=PriceFactory(contract=ContractFactory(organisation__tenant=tenant)))
    CodeFactory(
        price=PriceFactory(contract=ContractFactory(organisation__tenant=other_tenant, invitation_prefix="ACME"))
    )

    assert listed_ids(owner_http.get(codes_url(contract))) == [code.pk]


def test_no_codes_yet_invites_to_generate_some(owner_http, contract, price):
    page = text(owner_http.get(codes_url(contract)))

    assert "No codes yet" in page
    assert f'<a class="button" href="{generate_url(contract)}">Generate Codes</a></p>' in page


def test_no_codes_and_no_price_invites_to_add_a_price(owner_http, contract):
    page = text(owner_http.get(codes_url(contract)))

    assert "Every code carries a price: add one first." in page
    assert f'href="/t/acme/contracts/{contract.pk}/prices/new/">Add a price' in page


def test_filters_that_match_nothing_say_so_and_offer_all_codes(owner_http, contract, code):
    page = text(owner_http.get(codes_url(contract), {"status": "void"}))

    assert "No codes match these filters" in page and "No codes yet" not in page
    assert "Show all codes" in page


def test_the_list_takes_the_same_number_of_queries_for_3_or_60_codes(owner_http, contract, price):
    def some_codes(n):
        for i in range(n):
            participant = ParticipantFactory(contract=contract) if i % 2 else None
            CodeFactory(price=price, participant=participant, uses=i % 3 and 1, max_uses=2)

    def queries():
        with CaptureQueriesContext(connection) as captured:
            response = owner_http.get(codes_url(contract))
        assert response.status_code == 200
        return len(captured)

    some_codes(3)
    owner_http.get(codes_url(contract))  # warm up (session, caches)
    few = queries()
    some_codes(57)
    many = queries()

    assert len(listed_ids(owner_http.get(codes_url(contract)))) == 50
    assert few == many


def test_the_action_menu_of_an_unused_code_opens_views_edits_and_deletes(owner_http, contract, code):
    page = owner_http.get(codes_url(contract)).content.decode()

    assert f'<a href="/t/acme/book/?code={SHOWN}">Open Product</a>' in page
    assert f'<a href="{code_url(code)}">View</a>' in page
    assert f'<a href="{code_url(code, "edit/")}">Edit</a>' in page
    assert f'href="{code_url(code, "delete/")}">Delete</a>' in page
    assert code_url(code, "void/") not in page


def test_a_used_code_offers_void_instead_of_delete(owner_http, contract, price):
    used = CodeFactory(price=price, uses=1, max_uses=2)

    page = owner_http.get(codes_url(contract)).content.decode()

    assert f'href="{code_url(used, "void/")}">Void</a>' in page
    assert code_url(used, "delete/") not in page


def test_a_void_used_code_offers_neither_void_nor_delete(owner_http, contract, price):
    void = CodeFactory(price=price, uses=1, status=CodeStatus.VOID)

    page = owner_http.get(codes_url(contract)).content.decode()

    assert code_url(void, "void/") not in page and code_url(void, "delete/") not in page


def test_the_open_product_link_fills_in_the_code_on_the_booking_page(client, code):
    page = text(client.get("/t/acme/book/", {"code": SHOWN}))

    assert f'value="{SHOWN}"' in page


# One code


def test_viewing_a_code_the_first_time_fixes_its_text_and_writes_a_history_line(owner_http, code):
    response = owner_http.get(code_url(code))
    owner_http.get(code_url(code))

    code.refresh_from_db()
    assert response.status_code == 200
    assert code.shown_at is not None and code.text_locked
    shown = ContractEvent.objects.filter(code_id=code.pk, kind=EventKind.CODE_SHOWN)
    assert shown.count() == 1 and shown.get().actor.email == "owner@acme.example"
    page = text(owner_http.get(code_url(code)))
    assert f"Code {SHOWN} shown for the first time." in page and "Olga Owner" in page


def test_the_code_page_shows_price_uses_validity_and_participant(owner_http, tenant, contract, price):
    ada = ParticipantFactory(contract=contract, first_name="Ada", last_name="Lovelace", email="ada@acme.example")
    code = CodeFactory(
        price=price,
        code=CODE,
        participant=ada,
        max_uses=3,
        uses=1,
        valid_until=local(tenant, 2031, 3, 1, 12, 0),
        restricted_domain="acme.example",
    )

    page = text(owner_http.get(code_url(code)))

    assert SHOWN in page
    assert "STD</code> Intro session, 25.00 EUR" in page
    assert "1 of 3" in page
    assert "any time – 1 Mar 2031, 12:00" in page  # in the tenant's time zone
    assert "email addresses at acme.example" in page
    assert f'Ada Lovelace <small class="muted">id {ada.pk}, ada@acme.example' in page


def test_another_contracts_or_tenants_code_is_not_found(owner_http, tenant, other_tenant, contract):
    elsewhere = CodeFactory(price=PriceFactory(contract=ContractFactory(organisation__tenant=other_tenant)))
    sibling = CodeFactory(price=PriceFactory(contract=ContractFactory(organisation__tenant=tenant)))

    assert owner_http.get(f"{codes_url(contract)}{elsewhere.pk}/").status_code == 404
    assert owner_http.get(f"{codes_url(contract)}{sibling.pk}/").status_code == 404
    assert owner_http.post(f"{codes_url(contract)}{sibling.pk}/void/").status_code == 404
    sibling.refresh_from_db()
    assert sibling.status == CodeStatus.ACTIVE and sibling.shown_at is None


def edit_data(of, **overrides):
    return {
        "code": of.shown,
        "price": of.price_id,
        "participant_id": of.participant_id or "",
        "max_uses": of.max_uses,
        "valid_from": "",
        "valid_until": "",
        "restricted_domain": of.restricted_domain,
        **overrides,
    }


@pytest.fixture
def shown_code(price):
    """A code whose page was opened once: its text is fixed, its terms can still change."""
    return CodeFactory(price=price, code=CODE, shown_at=timezone.now())


EDIT_CRASH = (
    "BUG: invitations/views.py code_edit calls services.code_update(code=<the code>, **data) with data['code'] "
    "(the new text) whenever the text is not fixed yet: TypeError 'got multiple values for keyword argument code', "
    "a server error for every edit of a never-shown code"
)


def test_a_never_shown_codes_terms_can_be_changed(owner_http, code):
    response = owner_http.post(code_url(code, "edit/"), edit_data(code, max_uses=3))

    code.refresh_from_db()
    assert response.status_code == 302 and code.max_uses == 3


def test_a_never_shown_codes_text_can_be_changed_as_typed(owner_http, code):
    response = owner_http.post(code_url(code, "edit/"), edit_data(code, code="acme-zzzzz-77777"))

    code.refresh_from_db()
    assert response.status_code == 302 and response["Location"] == code_url(code)
    assert code.code == "ACMEZZZZZ77777"


@pytest.mark.parametrize("typed", ["ACME-UUUUU-77777", "A7K9"])
def test_a_malformed_code_text_is_refused(owner_http, code, typed):
    response = owner_http.post(code_url(code, "edit/"), edit_data(code, code=typed))

    code.refresh_from_db()
    assert field_error(response, "code") == CODE_TEXT_INVALID.format(prefix="ACME")
    assert code.code == CODE


def test_a_code_text_already_taken_in_the_tenant_is_refused(owner_http, tenant, code):
    CodeFactory(price=code.price, contract=code.contract, code="ACME12345678")

    response = owner_http.post(code_url(code, "edit/"), edit_data(code, code="acme-12345-678"))

    code.refresh_from_db()
    assert field_error(response, "code") == CODE_TEXT_TAKEN
    assert code.code == CODE


def test_the_service_refuses_a_new_text_for_a_shown_code(tenant, owner, shown_code):
    new_text = {"code": "ACMEZZZZZ77777"}

    with pytest.raises(ValidationError) as refused:
        services.code_update(tenant=tenant, code=shown_code, actor=owner, changes=new_text)

    assert refused.value.message_dict == {"code": [CODE_TEXT_LOCKED]}


@pytest.mark.parametrize("typed", ["7KD9QX", "ACME" + "7" * 30])
def test_a_code_text_staff_can_save_can_be_booked_with(owner_http, client, code, typed):
    owner_http.post(code_url(code, "edit/"), edit_data(code, code=typed))
    code.refresh_from_db()

    saved = code.code == typed
    bookable = client.post("/t/acme/book/", {"code": typed}).status_code == 302
    assert bookable or not saved


def test_opening_the_edit_page_does_not_fix_the_text(owner_http, code):
    page = text(owner_http.get(code_url(code, "edit/")))

    code.refresh_from_db()
    assert code.shown_at is None
    assert "disabled" not in re.search(r'<input[^>]*name="code"[^>]*>', page)[0]


def test_after_the_code_was_shown_its_text_is_fixed(owner_http, code):
    owner_http.get(code_url(code))

    form = text(owner_http.get(code_url(code, "edit/")))
    changed = owner_http.post(code_url(code, "edit/"), edit_data(code, code="ACMEZZZZZ77777", max_uses=2))
    code.refresh_from_db()
    assert field_error(changed, "code") == CODE_TEXT_LOCKED and code.max_uses == 1

    kept = owner_http.post(code_url(code, "edit/"), edit_data(code, max_uses=2))
    code.refresh_from_db()
    assert "Fixed: the code was already shown, sent or used." in form
    assert "readonly" in re.search(r'<input[^>]*name="code"[^>]*>', form)[0]
    assert kept.status_code == 302
    assert code.code == CODE and code.max_uses == 2


def test_a_used_codes_text_is_fixed(owner_http, price):
    used = CodeFactory(price=price, code=CODE, uses=1, max_uses=2)

    form = text(owner_http.get(code_url(used, "edit/")))
    owner_http.post(code_url(used, "edit/"), edit_data(used, code="ACMEZZZZZ77777"))

    used.refresh_from_db()
    assert "readonly" in re.search(r'<input[^>]*name="code"[^>]*>', form)[0]
    assert used.code == CODE


def test_a_new_text_posted_from_an_edit_page_opened_before_the_code_was_shown_is_refused(owner_http, staff_http, code):
    owner_http.get(code_url(code, "edit/"))
    staff_http.get(code_url(code))  # meanwhile a colleague opens the code: its text is now fixed

    response = owner_http.post(code_url(code, "edit/"), edit_data(code, code="ACMEZZZZZ77777"), follow=True)

    assert CODE_TEXT_LOCKED in text(response)


def test_max_uses_below_the_uses_so_far_is_refused(owner_http, price):
    used = CodeFactory(price=price, uses=2, max_uses=3)

    response = owner_http.post(code_url(used, "edit/"), edit_data(used, max_uses=1))

    used.refresh_from_db()
    assert field_error(response, "max_uses") == MAX_USES_BELOW_USES.format(uses=2)
    assert used.max_uses == 3


def test_raising_max_uses_of_a_used_up_code_makes_it_active_again(owner_http, price):
    used = CodeFactory(price=price, uses=1, max_uses=1, status=CodeStatus.USED_UP)

    owner_http.post(code_url(used, "edit/"), edit_data(used, max_uses=2))

    used.refresh_from_db()
    assert (used.max_uses, used.status) == (2, CodeStatus.ACTIVE)


def test_the_price_of_a_used_code_cannot_change(owner_http, contract, price):
    used = CodeFactory(price=price, uses=1, max_uses=2)
    vip = PriceFactory(contract=contract, price_code="VIP")

    response = owner_http.post(code_url(used, "edit/"), edit_data(used, price=vip.pk))

    used.refresh_from_db()
    assert field_error(response, "price") == PRICE_LOCKED
    assert used.price == price


def test_the_price_of_an_unused_code_can_change(owner_http, contract, shown_code):
    vip = PriceFactory(contract=contract, price_code="VIP")

    owner_http.post(code_url(shown_code, "edit/"), edit_data(shown_code, price=vip.pk))

    shown_code.refresh_from_db()
    assert shown_code.price == vip


def test_a_code_can_be_assigned_to_a_participant_of_its_contract(owner_http, contract, shown_code):
    ada = ParticipantFactory(contract=contract)

    owner_http.post(code_url(shown_code, "edit/"), edit_data(shown_code, participant_id=ada.pk))

    shown_code.refresh_from_db()
    assert shown_code.participant == ada


def test_a_participant_of_another_contract_is_refused_beside_the_field(owner_http, tenant, other_tenant, shown_code):
    for stranger in [
        ParticipantFactory(contract=ContractFactory(organisation__tenant=tenant)),
        ParticipantFactory(contract=ContractFactory(organisation__tenant=other_tenant)),
    ]:
        response = owner_http.post(code_url(shown_code, "edit/"), edit_data(shown_code, participant_id=stranger.pk))

        assert response.status_code == 200
        assert field_error(response, "participant_id") == NOT_IN_CONTRACT
    shown_code.refresh_from_db()
    assert shown_code.participant is None


def test_assigning_a_participant_who_already_has_a_code_at_this_price_says_so(owner_http, contract, price, shown_code):
    ada = ParticipantFactory(contract=contract, first_name="Ada", last_name="Lovelace")
    CodeFactory(price=price, participant=ada)

    response = owner_http.post(code_url(shown_code, "edit/"), edit_data(shown_code, participant_id=ada.pk))

    page = text(response)
    assert CODE_TEXT_TAKEN not in page
    assert ALREADY_HAS_CODE.format(name="Ada Lovelace", price="STD") in page


def test_every_change_writes_a_history_line_with_who_and_what(owner_http, contract, shown_code):
    owner_http.post(code_url(shown_code, "edit/"), edit_data(shown_code, max_uses=5, restricted_domain="acme.example"))

    line = f"Code {SHOWN} changed: max uses, restricted domain."
    event = ContractEvent.objects.get(code_id=shown_code.pk, kind=EventKind.CODE_CHANGED)
    assert event.summary == line and event.actor.get_full_name() == "Olga Owner"
    assert event.data == {"max_uses": "1", "restricted_domain": ""}
    for url in [code_url(shown_code), history_url(contract)]:
        page = text(owner_http.get(url))
        assert line in page and "Olga Owner" in page


def test_saving_without_changes_writes_no_history_line(owner_http, shown_code):
    owner_http.post(code_url(shown_code, "edit/"), edit_data(shown_code))

    assert not ContractEvent.objects.filter(code_id=shown_code.pk, kind=EventKind.CODE_CHANGED).exists()


def test_the_edit_form_shows_and_keeps_the_validity_in_the_tenants_time_zone(owner_http, tenant, shown_code):
    until = local(tenant, 2031, 3, 1, 12, 0)
    InvitationCode.objects.filter(pk=shown_code.pk).update(valid_until=until)
    shown_code.refresh_from_db()

    form = text(owner_http.get(code_url(shown_code, "edit/")))
    owner_http.post(code_url(shown_code, "edit/"), edit_data(shown_code, valid_until="2031-03-01T12:00"))

    shown_code.refresh_from_db()
    assert 'name="valid_until" value="2031-03-01T12:00"' in form
    assert shown_code.valid_until == until
    assert not ContractEvent.objects.filter(code_id=shown_code.pk, kind=EventKind.CODE_CHANGED).exists()


def test_an_unused_code_is_deleted_after_a_confirmation(owner_http, contract, code):
    question = text(owner_http.get(code_url(code, "delete/")))
    response = owner_http.post(code_url(code, "delete/"), follow=True)

    assert f"Delete code {SHOWN}?" in question
    assert not InvitationCode.objects.filter(pk=code.pk).exists()
    assert f"Code {SHOWN} deleted." in text(response)
    assert f"Code {SHOWN} deleted (never used)." in text(owner_http.get(history_url(contract)))


def test_a_used_code_cannot_be_deleted(owner_http, price):
    used = CodeFactory(price=price, uses=1, max_uses=2)

    asked = owner_http.get(code_url(used, "delete/"), follow=True)
    posted = owner_http.post(code_url(used, "delete/"), follow=True)

    assert asked.redirect_chain == [(code_url(used), 302)] and CODE_IN_USE in text(asked)
    assert posted.redirect_chain == [(code_url(used), 302)] and CODE_IN_USE in text(posted)
    assert InvitationCode.objects.filter(pk=used.pk).exists()


def test_a_code_whose_booking_was_cancelled_cannot_be_deleted(owner_http, contract, price, service):
    used = CodeFactory(price=price, uses=0)
    booking = BookingFactory(slot=SlotFactory(service=service), status=BookingStatus.CANCELLED)
    Redemption.objects.create(
        tenant=used.tenant, code=used, booking=booking, email=booking.email, released_at=timezone.now()
    )

    listing = owner_http.get(codes_url(contract)).content.decode()
    posted = owner_http.post(code_url(used, "delete/"), follow=True)

    assert f'href="{code_url(used, "void/")}">Void</a>' in listing and code_url(used, "delete/") not in listing
    assert CODE_IN_USE in text(posted)
    assert InvitationCode.objects.filter(pk=used.pk).exists()


def test_the_code_page_offers_delete_while_unused_and_void_once_used(owner_http, price, code):
    used = CodeFactory(price=price, uses=1, max_uses=2)

    unused_page = owner_http.get(code_url(code)).content.decode()
    used_page = owner_http.get(code_url(used)).content.decode()

    assert code_url(code, "delete/") in unused_page and code_url(code, "void/") not in unused_page
    assert code_url(used, "void/") in used_page and code_url(used, "delete/") not in used_page


def test_a_code_is_voided_once_and_then_cannot_be_booked(owner_http, client, contract, code):
    first = owner_http.post(code_url(code, "void/"), follow=True)
    second = owner_http.post(code_url(code, "void/"), follow=True)
    booking_page = client.post("/t/acme/book/", {"code": SHOWN})

    code.refresh_from_db()
    assert code.status == CodeStatus.VOID
    assert f"Code {SHOWN} is void." in text(first)
    assert ALREADY_VOID in text(second)
    assert ContractEvent.objects.filter(code_id=code.pk, kind=EventKind.CODE_VOIDED).count() == 1
    assert f"Code {SHOWN} voided; it can no longer be used." in text(owner_http.get(history_url(contract)))
    assert field_error(booking_page, "code") == services.CODE_VOID


def test_voiding_asks_for_a_confirmation_first(owner_http, code):
    page = text(owner_http.get(code_url(code, "void/")))

    code.refresh_from_db()
    assert f"Void code {SHOWN}?" in page and code.status == CodeStatus.ACTIVE


# The CSV download


def download(http, contract):
    response = http.get(f"{codes_url(contract)}download/")
    assert response.status_code == 200 and response.streaming
    content = b"".join(response.streaming_content).decode("utf-8")
    return response, content


def test_the_download_is_a_streamed_csv_with_a_bom_and_one_row_per_code(owner_http, contract, price, every_status):
    ada = ParticipantFactory(contract=contract, first_name="Ada", last_name="Lovelace", email="ada@acme.example")
    CodeFactory(price=price, code=CODE, participant=ada, max_uses=2)

    response, content = download(owner_http, contract)

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="codes-ACME.csv"'
    assert content.startswith("\ufeffcode,status,price_code,")
    rows = {row["code"]: row for row in csv.DictReader(io.StringIO(content.removeprefix("\ufeff")))}
    assert len(rows) == 6
    assert {k: rows[SHOWN][k] for k in ["status", "price_code", "service", "amount", "uses", "max_uses"]} == {
        "status": "Active",
        "price_code": "STD",
        "service": "Intro session",
        "amount": "25.00",
        "uses": "0",
        "max_uses": "2",
    }
    assert (rows[SHOWN]["participant_id"], rows[SHOWN]["participant_name"]) == (str(ada.pk), "Ada Lovelace")
    assert rows[SHOWN]["participant_email"] == "ada@acme.example"
    assert sorted(row["status"] for row in rows.values()) == sorted(
        ["Active", "Active", "Used up", "Void", "Expired", "Not yet valid"]
    )


def test_cells_a_spreadsheet_would_run_as_formulas_get_a_leading_apostrophe(owner_http, contract, price):
    plus = ParticipantFactory(contract=contract, first_name="+Bob", last_name="Smith", email="")
    CodeFactory(price=price, code="ACME1111111111", restricted_domain="=HYPERLINK(evil.example)")
    CodeFactory(price=price, code="ACME2222222222", participant=plus)

    _, content = download(owner_http, contract)

    rows = {row["code"]: row for row in csv.DictReader(io.StringIO(content.removeprefix("\ufeff")))}
    assert rows["ACME-11111-11111"]["restricted_domain"] == "'=HYPERLINK(evil.example)"
    assert rows["ACME-22222-22222"]["participant_name"] == "'+Bob Smith"


def test_downloading_fixes_every_codes_text_and_writes_a_history_line(owner_http, contract, price, code):
    CodeFactory.create_batch(2, price=price)

    download(owner_http, contract)

    assert not codes_of(contract).filter(shown_at__isnull=True).exists()
    code.refresh_from_db()
    assert code.text_locked
    event = ContractEvent.objects.get(contract=contract, kind=EventKind.CODES_DOWNLOADED)
    assert event.summary == "Codes list: 3 codes downloaded as CSV." and event.actor.get_full_name() == "Olga Owner"
    assert "Codes list: 3 codes downloaded as CSV." in text(owner_http.get(history_url(contract)))


def test_the_download_holds_only_this_contracts_codes(owner_http, tenant, other_tenant, contract, code):
    CodeFactory(price=PriceFactory(contract=ContractFactory(organisation__tenant=tenant)), code="PXYZ1234567890")
    CodeFactory(
        price=PriceFactory(contract=ContractFactory(organisation__tenant=other_tenant, invitation_prefix="ACME")),
        code="ACME9999999999",
    )

    _, content = download(owner_http, contract)

    assert SHOWN in content and "PXYZ" not in content and "ACME-99999" not in content
