"""Staff forms posted with another tenant's ids in choice and hidden fields: refused with a message
on the page (or a 404), and no row of either tenant changes."""

import pytest

from bookings.models import Booking
from contracts.models import Contract
from imports.models import ImportJob
from invitations.models import CodeBatch, InvitationCode
from invitations.views import NO_SUCH_PARTICIPANT, SELECTION_REFUSED
from sessions_roster.models import SessionInvitation

from ..factories import ClientFactory, ContractFactory, ParticipantFactory, PriceFactory
from ..world import build_world
from .helpers import INVALID_CHOICE, page_text, snapshot, tenant_reverse


@pytest.fixture
def here(tenant):
    return build_world(tenant)


@pytest.fixture
def there(other_tenant):
    return build_world(other_tenant)


@pytest.fixture
def unchanged(here, there):
    """Call after the tampered request: both workspaces hold exactly the rows they held before."""
    before = (snapshot(here.tenant), snapshot(there.tenant))
    return lambda: (snapshot(here.tenant), snapshot(there.tenant)) == before


def url(world, name, **kwargs):
    return tenant_reverse(world.tenant, name, **kwargs)


def generate_data(price_id) -> dict:
    return {"quantity": 3, "width": 10, "price": price_id, "max_uses": 1}


def test_generating_codes_with_a_price_of_another_workspace_is_refused(owner_http, here, there, unchanged):
    response = owner_http.post(
        url(here, "invitations:generate", contract_id=here.objects["contract_id"]),
        generate_data(there.objects["price_id"]),
    )
    assert response.status_code == 200
    assert INVALID_CHOICE in page_text(response)
    assert unchanged()
    assert (
        not CodeBatch.objects.filter(tenant=here.tenant, quantity=3, width=10)
        .exclude(pk=here.objects["batch_id"])
        .exists()
    )


def test_generating_codes_with_a_price_of_another_contract_of_this_workspace_is_refused(
    owner_http, tenant, here, unchanged
):
    other_price = PriceFactory(tenant=tenant, contract=ContractFactory(tenant=tenant))
    batches = CodeBatch.objects.filter(tenant=tenant).count()
    response = owner_http.post(
        url(here, "invitations:generate", contract_id=here.objects["contract_id"]), generate_data(other_price.pk)
    )
    assert INVALID_CHOICE in page_text(response)
    assert CodeBatch.objects.filter(tenant=tenant).count() == batches


def test_the_same_form_with_this_contracts_price_does_generate(owner_http, here):
    """The control: the form above is refused for its foreign price, not for anything else."""
    response = owner_http.post(
        url(here, "invitations:generate", contract_id=here.objects["contract_id"]),
        generate_data(here.objects["price_id"]),
    )
    assert response.status_code == 302
    assert CodeBatch.objects.filter(tenant=here.tenant).count() == 2


def edit_data(world, code, **overrides) -> dict:
    data = {
        "code": code.shown,
        "price": code.price_id,
        "participant_id": code.participant_id or "",
        "max_uses": code.max_uses,
        "restricted_domain": "",
        "campaign": "",
    }
    return {**data, **overrides}


@pytest.mark.parametrize("field", ["participant_id", "price"])
def test_editing_a_code_with_a_participant_or_price_of_another_workspace_is_refused(
    owner_http, here, there, unchanged, field
):
    code = InvitationCode.objects.get(pk=here.objects["code_id"])
    foreign = there.objects[{"price": "price_id"}.get(field, field)]
    response = owner_http.post(
        url(here, "invitations:code_edit", contract_id=code.contract_id, code_id=code.pk),
        edit_data(here, code, **{field: foreign}),
    )
    assert response.status_code == 200
    assert (NO_SUCH_PARTICIPANT if field == "participant_id" else INVALID_CHOICE) in page_text(response)
    assert unchanged()


def test_editing_a_code_with_a_participant_of_another_contract_of_this_workspace_is_refused(owner_http, tenant, here):
    stranger = ParticipantFactory(tenant=tenant, contract=ContractFactory(tenant=tenant))
    code = InvitationCode.objects.get(pk=here.objects["code_id"])
    response = owner_http.post(
        url(here, "invitations:code_edit", contract_id=code.contract_id, code_id=code.pk),
        edit_data(here, code, participant_id=stranger.pk),
    )
    assert NO_SUCH_PARTICIPANT in page_text(response)
    assert InvitationCode.objects.get(pk=code.pk).participant_id == code.participant_id


def test_sending_codes_with_a_code_of_another_workspace_ticked_is_refused(owner_http, here, there, unchanged):
    send_url = url(here, "invitations:send", contract_id=here.objects["contract_id"])
    ticked = [here.objects["code_id"], there.objects["code_id"]]
    for response in (
        owner_http.get(send_url, {"code": ticked}, follow=True),
        owner_http.post(send_url, {"code": ticked, "recipients": "someone@example.com"}, follow=True),
    ):
        assert SELECTION_REFUSED in page_text(response)
    assert unchanged()
    assert not ImportJob.objects.filter(tenant=here.tenant).exclude(pk=here.objects["job_id"]).exists()


def test_inviting_to_a_session_with_a_discount_of_another_workspace_is_refused(owner_http, here, there, unchanged):
    invitations = SessionInvitation.objects.filter(tenant=here.tenant).count()
    response = owner_http.post(
        url(here, "sessions:invite", session_id=here.objects["session_id"]),
        {"email": "tampered@example.com", "discount_code": there.objects["discount_id"], "raise_capacity": "on"},
    )
    assert response.status_code == 200
    assert INVALID_CHOICE in page_text(response)
    assert unchanged()
    assert SessionInvitation.objects.filter(tenant=here.tenant).count() == invitations


def test_booking_with_a_credit_for_a_service_of_another_workspace_books_nothing(owner_http, here, there, unchanged):
    book_url = url(here, "packages:book", client_id=here.objects["client_id"])
    foreign_service = there.objects["service_id"]
    page = owner_http.get(book_url, {"service": foreign_service})
    assert page.status_code == 200
    assert 'name="starts_at"' not in page.content.decode()  # no times offered for it
    response = owner_http.post(f"{book_url}?service={foreign_service}", {"starts_at": "2030-01-01T09:00:00+00:00"})
    assert response.status_code == 200
    assert unchanged()
    assert not Booking.objects.filter(tenant=here.tenant, service_id=foreign_service).exists()


def test_a_contract_of_another_workspace_is_not_found_for_any_code_page(owner_http, here, there, unchanged):
    foreign = there.objects["contract_id"]
    assert Contract.objects.filter(tenant=there.tenant, pk=foreign).exists()
    for name in ("invitations:generate", "invitations:send", "invitations:download"):
        assert (
            owner_http.post(url(here, name, contract_id=foreign), generate_data(there.objects["price_id"])).status_code
            == 404
        )
    assert unchanged()


# Every other choice field that takes an object: (page, its URL ids from this workspace, the form
# answer with the other workspace's object in the choice, the field named). Valid in every other way.
CHOICES = [
    (
        "packages:add",
        ["client_id"],
        lambda ids: {"package": ids["package_id"], "price": "10.00", "expires_on": "2030-01-31"},
    ),
    (
        "courses:order_create",
        [],
        lambda ids: {
            "product_session": ids["product_session_id"],
            "quantity": 2,
            "email": "buyer@example.com",
            "first_name": "Bu",
            "last_name": "Yer",
        },
    ),
    (
        "sessions:discount_create",
        [],
        lambda ids: {"code": "TAMPER-1", "kind": "percent", "value": "10", "sessions": [ids["session_id"]]},
    ),
    (
        "invitations:participant_code",
        ["contract_id", "participant_id"],
        lambda ids: {"price": ids["price_id"], "width": 10},
    ),
]


@pytest.mark.parametrize("name, url_ids, answer", CHOICES, ids=[c[0] for c in CHOICES])
def test_a_choice_of_another_workspaces_object_is_refused(owner_http, here, there, unchanged, name, url_ids, answer):
    response = owner_http.post(url(here, name, **{k: here.objects[k] for k in url_ids}), answer(there.objects))
    assert response.status_code == 200
    assert INVALID_CHOICE in page_text(response)
    assert unchanged()


@pytest.mark.parametrize("name, url_ids, answer", CHOICES, ids=[c[0] for c in CHOICES])
def test_the_same_answer_with_this_workspaces_object_is_saved(owner_http, tenant, here, name, url_ids, answer):
    """The control for the test above: only the foreign id made it fail. A fresh client and
    participant, as the world's already hold the package and the code these forms would add."""
    contract = Contract.objects.get(pk=here.objects["contract_id"])
    fresh = {
        "contract_id": contract.pk,
        "client_id": ClientFactory(tenant=tenant).pk,
        "participant_id": ParticipantFactory(tenant=tenant, contract=contract).pk,
    }
    before = snapshot(here.tenant)
    response = owner_http.post(url(here, name, **{k: fresh[k] for k in url_ids}), answer(here.objects))
    assert response.status_code == 302
    assert snapshot(here.tenant) != before


def test_picking_a_client_of_another_workspace_to_book_for_goes_nowhere(owner_http, here, there):
    response = owner_http.get(url(here, "packages:book_pick"), {"client": there.objects["client_id"]})
    assert response.status_code == 200
    assert f"/clients/{there.objects['client_id']}/" not in page_text(response)
