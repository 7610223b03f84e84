"""Contract Management pages: organisations, contracts and their tabs Prices, Participants and History,
"Generate Code" for one participant, and who may change what."""

import html
import re
from datetime import date

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from contracts.forms import CONTRACT_DATES
from contracts.models import PREFIX_VALIDATOR, Contract, ContractEvent, ContractPrice, Organisation, Participant
from contracts.services import (
    ORGANISATION_NAME_TAKEN,
    PARTICIPANT_EMAIL_TAKEN,
    PREFIX_LOCKED,
    PREFIX_TAKEN,
    PRICE_CODE_TAKEN,
    PRICE_IN_USE,
)
from imports.models import ImportJob
from invitations.models import InvitationCode
from invitations.services import ALREADY_HAS_CODE

from ..factories import (
    CodeFactory,
    ContractFactory,
    OrganisationFactory,
    ParticipantFactory,
    PriceFactory,
    ServiceFactory,
)

pytestmark = pytest.mark.django_db

BASE = "/t/acme/contracts/"
ORGANISATIONS = BASE
NEW_ORGANISATION = f"{BASE}organisations/new/"
REQUIRED = "This field is required."


def organisation_url(organisation, suffix=""):
    return f"{BASE}organisations/{organisation.pk}/{suffix}"


def contract_url(contract, suffix=""):
    return f"{BASE}{contract.pk}/{suffix}"


def text(response) -> str:
    return html.unescape(response.content.decode())


def field_error(response, field: str) -> str:
    return " ".join(re.findall(rf'<p class="field-error" id="id_{field}_error">(.*?)</p>', text(response)))


def form_errors(response) -> str:
    found = re.search(r'<div class="form-errors" role="alert">(.*?)</div>', text(response), re.S)
    return found.group(1) if found else ""


def listed(response, pattern: str) -> list[int]:
    return [int(pk) for pk in re.findall(pattern, response.content.decode())]


def listed_organisations(response) -> list[int]:
    return listed(response, r'<td><a href="/t/acme/contracts/organisations/(\d+)/">')


def listed_participants(response) -> list[int]:
    return listed(response, r'<small class="muted">id (\d+)</small>')


@pytest.fixture
def initech(tenant):
    return OrganisationFactory(
        tenant=tenant, name="Initech", contact_name="Bill Lumbergh", email="bill@initech.example"
    )


@pytest.fixture
def hooli(tenant):
    return OrganisationFactory(tenant=tenant, name="Hooli", contact_name="Gavin Belson", status="inactive")


@pytest.fixture
def globex_org(other_tenant):
    """Another tenant's organisation matching every search below if the tenant filter leaks."""
    return OrganisationFactory(tenant=other_tenant, name="Initech Hooli", contact_name="Bill Gavin")


@pytest.fixture
def contract(tenant, initech):
    return ContractFactory(tenant=tenant, organisation=initech, name="Onboarding 2025", invitation_prefix="ACME")


@pytest.fixture
def price(contract):
    return PriceFactory(contract=contract, price_code="STD")


def organisation_data(**overrides):
    return {
        "name": "Umbrella",
        "contact_name": "Alice",
        "email": "alice@umbrella.example",
        "status": "active",
        **overrides,
    }


def contract_data(**overrides):
    return {
        "name": "Onboarding 2026",
        "invitation_prefix": "beta",
        "starts_on": "2026-01-01",
        "ends_on": "2026-12-31",
        "status": "active",
        **overrides,
    }


# Organisations: the list


def test_the_list_shows_this_tenants_organisations_by_name_with_their_contract_count(
    staff_http, initech, hooli, globex_org, contract
):
    response = staff_http.get(ORGANISATIONS)

    assert response.status_code == 200
    assert listed_organisations(response) == [hooli.pk, initech.pk]
    assert "Initech Hooli" not in text(response)
    assert re.search(r'Initech</a></td>\s*<td class="hide-phone">.*?</td>\s*<td>1</td>', text(response))
    assert re.search(r'Hooli</a></td>\s*<td class="hide-phone">.*?</td>\s*<td>0</td>', text(response))


@pytest.mark.parametrize("query", ["inite", "LUMBERGH", "bill@initech", "Bill Initech"])
def test_a_search_finds_an_organisation_by_part_of_its_name_contact_or_email(
    staff_http, initech, hooli, globex_org, query
):
    assert listed_organisations(staff_http.get(ORGANISATIONS, {"q": query})) == [initech.pk]


def test_the_status_filter_shows_only_organisations_in_that_status(staff_http, initech, hooli, globex_org):
    assert listed_organisations(staff_http.get(ORGANISATIONS, {"status": "inactive"})) == [hooli.pk]
    assert listed_organisations(staff_http.get(ORGANISATIONS, {"status": "active"})) == [initech.pk]


def test_a_nonsense_status_is_ignored_with_a_message(staff_http, initech, hooli):
    response = staff_http.get(ORGANISATIONS, {"status": "deleted"})

    assert response.status_code == 200
    assert listed_organisations(response) == [hooli.pk, initech.pk]
    assert "This filter was ignored." in text(response)


def test_the_list_shows_25_organisations_per_page(staff_http, tenant):
    organisations = [OrganisationFactory(tenant=tenant, name=f"Org {n:02d}") for n in range(30)]

    first, second = staff_http.get(ORGANISATIONS), staff_http.get(ORGANISATIONS, {"page": 2})

    assert listed_organisations(first) == [o.pk for o in organisations[:25]]
    assert listed_organisations(second) == [o.pk for o in organisations[25:]]
    assert "Page 2 of 2 · 30 in all" in text(second)


def test_no_organisations_at_all_invites_to_add_the_first(staff_http, globex_org):
    page = text(staff_http.get(ORGANISATIONS))

    assert "No organisations yet" in page and "No organisations match" not in page


def test_a_search_that_matches_nothing_says_so(staff_http, initech, globex_org):
    page = text(staff_http.get(ORGANISATIONS, {"q": "globex"}))

    assert "No organisations match" in page and "Show all organisations" in page


# Organisations: adding and editing


def test_an_admin_adds_an_organisation_and_lands_on_its_page(admin_http, tenant):
    response = admin_http.post(NEW_ORGANISATION, organisation_data(), follow=True)

    organisation = Organisation.objects.get(tenant=tenant)
    assert response.redirect_chain == [(organisation_url(organisation), 302)]
    assert "Organisation “Umbrella” saved." in text(response)
    assert "alice@umbrella.example" in text(response)


def test_a_bad_organisation_form_shows_errors_beside_the_fields(admin_http, tenant):
    response = admin_http.post(NEW_ORGANISATION, organisation_data(name="", email="alice@"))

    assert response.status_code == 200
    assert field_error(response, "name") == REQUIRED
    assert field_error(response, "email") == "Enter a valid email address."
    assert not Organisation.objects.filter(tenant=tenant).exists()


def test_an_organisation_name_in_another_case_is_refused_beside_the_name(admin_http, tenant, initech):
    response = admin_http.post(NEW_ORGANISATION, organisation_data(name="INITECH"))

    assert field_error(response, "name") == ORGANISATION_NAME_TAKEN
    assert list(Organisation.objects.filter(tenant=tenant)) == [initech]


def test_the_name_of_another_tenants_organisation_is_free(admin_http, tenant, globex_org):
    assert admin_http.post(NEW_ORGANISATION, organisation_data(name="Initech Hooli")).status_code == 302
    assert Organisation.objects.filter(tenant=tenant, name="Initech Hooli").exists()


def test_editing_an_organisation_saves_it(admin_http, initech):
    response = admin_http.post(organisation_url(initech, "edit/"), organisation_data(name="Initech Ltd"))

    assert response.status_code == 302
    initech.refresh_from_db()
    assert (initech.name, initech.contact_name) == ("Initech Ltd", "Alice")


def test_renaming_an_organisation_to_anothers_name_is_refused(admin_http, initech, hooli):
    response = admin_http.post(organisation_url(initech, "edit/"), organisation_data(name="hooli"))

    assert field_error(response, "name") == ORGANISATION_NAME_TAKEN
    initech.refresh_from_db()
    assert initech.name == "Initech"


def test_an_organisation_page_lists_its_own_contracts(staff_http, tenant, initech, hooli, contract):
    ContractFactory(tenant=tenant, organisation=hooli, name="Hooli deal")

    page = text(staff_http.get(organisation_url(initech)))

    assert "Onboarding 2025" in page and "<code>ACME</code>" in page
    assert "Hooli deal" not in page and "No contracts yet" not in page


def test_an_organisation_without_contracts_says_so(staff_http, hooli):
    assert "No contracts yet" in text(staff_http.get(organisation_url(hooli)))


# Contracts: adding and editing


def test_an_admin_adds_a_contract_with_an_uppercased_prefix_and_lands_on_its_prices(admin_http, initech):
    response = admin_http.post(organisation_url(initech, "contracts/new/"), contract_data(), follow=True)

    contract = Contract.objects.get(organisation=initech)
    assert response.redirect_chain == [(contract_url(contract, "prices/"), 302)]
    assert contract.invitation_prefix == "BETA"
    assert (contract.starts_on, contract.ends_on) == (date(2026, 1, 1), date(2026, 12, 31))
    assert "Contract “Onboarding 2026” saved." in text(response)


@pytest.mark.parametrize("prefix", ["ACMI", "LAB", "B0O", "AU", "A", "A-B"])
def test_a_prefix_with_look_alike_letters_or_of_the_wrong_shape_is_refused(admin_http, initech, prefix):
    response = admin_http.post(organisation_url(initech, "contracts/new/"), contract_data(invitation_prefix=prefix))

    assert response.status_code == 200
    assert field_error(response, "invitation_prefix") == PREFIX_VALIDATOR.message
    assert not Contract.objects.exists()


def test_a_prefix_longer_than_8_is_refused(admin_http, initech):
    response = admin_http.post(
        organisation_url(initech, "contracts/new/"), contract_data(invitation_prefix="ABCDEFGHJ")
    )

    assert field_error(response, "invitation_prefix") == "Ensure this value has at most 8 characters (it has 9)."
    assert not Contract.objects.exists()


def test_a_prefix_taken_in_this_tenant_is_refused_in_any_case(admin_http, initech, contract):
    response = admin_http.post(organisation_url(initech, "contracts/new/"), contract_data(invitation_prefix="acme"))

    assert field_error(response, "invitation_prefix") == PREFIX_TAKEN
    assert list(Contract.objects.all()) == [contract]


def test_a_prefix_used_by_another_tenant_is_free(admin_http, initech, other_tenant):
    ContractFactory(tenant=other_tenant, invitation_prefix="BETA")

    assert admin_http.post(organisation_url(initech, "contracts/new/"), contract_data()).status_code == 302
    assert Contract.objects.filter(invitation_prefix="BETA").count() == 2


def test_a_contract_that_ends_before_it_starts_is_refused_beside_the_end_date(admin_http, initech):
    response = admin_http.post(
        organisation_url(initech, "contracts/new/"), contract_data(starts_on="2026-02-01", ends_on="2026-01-31")
    )

    assert field_error(response, "ends_on") == CONTRACT_DATES
    assert not Contract.objects.exists()


def test_editing_a_contract_saves_it(admin_http, contract):
    response = admin_http.post(contract_url(contract, "edit/"), contract_data(name="Renamed", invitation_prefix="ACME"))

    assert response.status_code == 302
    contract.refresh_from_db()
    assert (contract.name, contract.invitation_prefix) == ("Renamed", "ACME")


def test_the_prefix_can_change_while_no_codes_exist(admin_http, contract):
    admin_http.post(contract_url(contract, "edit/"), contract_data(invitation_prefix="new"))

    contract.refresh_from_db()
    assert contract.invitation_prefix == "NEW"


def test_other_fields_can_change_once_codes_exist(admin_http, contract, price):
    CodeFactory(price=price)

    admin_http.post(contract_url(contract, "edit/"), contract_data(name="Renamed", invitation_prefix="ACME"))

    contract.refresh_from_db()
    assert contract.name == "Renamed"


def test_the_prefix_cannot_change_once_codes_exist(admin_http, contract, price):
    CodeFactory(price=price)

    response = admin_http.post(contract_url(contract, "edit/"), contract_data(invitation_prefix="NEW"))

    contract.refresh_from_db()
    assert contract.invitation_prefix == "ACME"
    assert field_error(response, "invitation_prefix") == PREFIX_LOCKED


# The tabs


@pytest.mark.parametrize("tab", ["prices", "participants", "history"])
def test_each_tab_of_a_contract_renders_under_the_contract_header(staff_http, contract, price, tab):
    response = staff_http.get(contract_url(contract, f"{tab}/"))

    assert response.status_code == 200
    page = text(response)
    assert "Onboarding 2025" in page and "Prefix <code>ACME</code>" in page
    assert f'href="{contract_url(contract, f"{tab}/")}" aria-current="page"' in page


def test_a_contract_opens_on_its_prices(staff_http, contract):
    assert staff_http.get(contract_url(contract)).url == contract_url(contract, "prices/")


def test_another_tenants_contract_is_not_found(staff_http, other_tenant):
    stranger = ContractFactory(tenant=other_tenant)

    assert staff_http.get(contract_url(stranger, "prices/")).status_code == 404


# Prices


def price_data(service, **overrides):
    return {"service": service.pk, "amount": "49.50", "price_code": "student", **overrides}


def test_an_admin_adds_a_price_with_an_uppercased_code(admin_http, tenant, contract):
    service = ServiceFactory(tenant=tenant, name="Yoga")

    response = admin_http.post(contract_url(contract, "prices/new/"), price_data(service), follow=True)

    assert response.redirect_chain == [(contract_url(contract, "prices/"), 302)]
    price = ContractPrice.objects.get(contract=contract)
    assert (price.price_code, price.service, str(price.amount)) == ("STUDENT", service, "49.50")
    page = text(response)
    assert "Price saved." in page and "<code>STUDENT</code>" in page and "Yoga" in page and "49.50" in page


def test_a_price_code_taken_in_the_contract_is_refused_beside_it(admin_http, tenant, contract, price):
    response = admin_http.post(contract_url(contract, "prices/new/"), price_data(price.service, price_code="std"))

    assert field_error(response, "price_code") == PRICE_CODE_TAKEN
    assert list(ContractPrice.objects.filter(contract=contract)) == [price]


def test_the_same_price_code_in_another_contract_is_fine(admin_http, tenant, contract, price):
    other = ContractFactory(tenant=tenant)

    assert (
        admin_http.post(contract_url(other, "prices/new/"), price_data(price.service, price_code="std")).status_code
        == 302
    )
    assert ContractPrice.objects.filter(price_code="STD").count() == 2


def test_a_service_of_another_tenant_cannot_be_priced(admin_http, contract, other_tenant):
    response = admin_http.post(contract_url(contract, "prices/new/"), price_data(ServiceFactory(tenant=other_tenant)))

    assert field_error(response, "service").startswith("Select a valid choice.")
    assert not ContractPrice.objects.filter(contract=contract).exists()


def test_editing_a_price_saves_it(admin_http, contract, price):
    admin_http.post(
        contract_url(contract, f"prices/{price.pk}/edit/"), price_data(price.service, amount="12.00", price_code="std")
    )

    price.refresh_from_db()
    assert (price.price_code, str(price.amount)) == ("STD", "12.00")


def test_removing_a_price_asks_first_then_removes_it(admin_http, contract, price):
    url = contract_url(contract, f"prices/{price.pk}/delete/")

    assert "Remove price STD" in text(admin_http.get(url))
    assert ContractPrice.objects.filter(pk=price.pk).exists()

    response = admin_http.post(url, follow=True)

    assert "Price STD removed." in text(response)
    assert not ContractPrice.objects.filter(pk=price.pk).exists()


def test_a_price_that_codes_carry_is_not_removed(admin_http, contract, price):
    CodeFactory(price=price)

    response = admin_http.post(contract_url(contract, f"prices/{price.pk}/delete/"), follow=True)

    assert PRICE_IN_USE in text(response)
    assert ContractPrice.objects.filter(pk=price.pk).exists()


# Who may change what


def admin_only_urls(initech, contract, price):
    return [
        NEW_ORGANISATION,
        organisation_url(initech, "edit/"),
        organisation_url(initech, "contracts/new/"),
        contract_url(contract, "edit/"),
        contract_url(contract, "prices/new/"),
        contract_url(contract, f"prices/{price.pk}/edit/"),
        contract_url(contract, f"prices/{price.pk}/delete/"),
    ]


def test_staff_get_403_on_every_organisation_contract_and_price_change(staff_http, initech, contract, price):
    for url in admin_only_urls(initech, contract, price):
        assert staff_http.get(url).status_code == 403, url
        assert staff_http.post(url, {**organisation_data(), **contract_data(), "price_code": "X"}).status_code == 403, (
            url
        )
    assert (Organisation.objects.count(), Contract.objects.count(), ContractPrice.objects.count()) == (1, 1, 1)
    initech.refresh_from_db()
    assert initech.name == "Initech"


@pytest.mark.parametrize("http", ["admin_http", "owner_http"])
def test_admins_and_owners_may_open_every_change_form(request, http, initech, contract, price):
    client = request.getfixturevalue(http)

    for url in admin_only_urls(initech, contract, price):
        assert client.get(url).status_code == 200, url


def test_staff_do_not_see_the_change_buttons(staff_http, initech, contract, price):
    page = text(staff_http.get(contract_url(contract, "prices/")))

    assert contract_url(contract, "edit/") not in page
    assert contract_url(contract, "prices/new/") not in page


# History


def test_the_history_tab_shows_who_created_the_contract_and_added_a_price_and_a_participant(
    admin_http, tenant, initech
):
    admin_http.post(organisation_url(initech, "contracts/new/"), contract_data())
    contract = Contract.objects.get(organisation=initech)
    admin_http.post(contract_url(contract, "prices/new/"), price_data(ServiceFactory(tenant=tenant, name="Yoga")))
    admin_http.post(contract_url(contract, "participants/new/"), participant_data())

    page = text(admin_http.get(contract_url(contract, "history/")))

    rows = re.findall(r"<tr>\s*<td>[^<]*</td>\s*<td>(.*?)</td>\s*<td>(.*?)</td>", page, re.S)
    cleaned = [(who, re.sub(r"<[^>]+>", "", what).strip()) for who, what in rows]
    assert cleaned == [
        ("Adam Admin", "Participant added Participant Ada Lovelace added."),
        ("Adam Admin", "Price added Price STUDENT (Yoga, 49.50 EUR) added."),
        ("Adam Admin", "Contract created Contract “Onboarding 2026” created."),
    ]


def test_the_history_tab_shows_a_committed_import(admin_http, contract, price, django_capture_on_commit_callbacks):
    content = b"first_name,last_name,email,price_code\nGrace,Hopper,grace@example.com,STD\n"
    with django_capture_on_commit_callbacks(execute=True):
        admin_http.post(
            contract_url(contract, "participants/upload/"), {"file": SimpleUploadedFile("people.csv", content)}
        )
    job = ImportJob.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        admin_http.post(f"/t/acme/imports/{job.pk}/commit/")

    page = text(admin_http.get(contract_url(contract, "history/")))

    assert re.search(
        r"<td>Adam Admin</td>\s*<td><span class=\"badge\">Participants imported</span> "
        r"Participants CSV imported: 1 added, 0 updated, 1 codes generated.</td>",
        page,
    )


def test_the_history_of_another_contract_is_not_mixed_in(staff_http, tenant, contract):
    ContractEvent.objects.create(
        tenant=tenant, contract=ContractFactory(tenant=tenant), kind="price_added", summary="Elsewhere"
    )

    page = text(staff_http.get(contract_url(contract, "history/")))

    assert "Elsewhere" not in page and "Nothing has happened yet" in page


# Participants


def participant_data(**overrides):
    return {"first_name": "Ada", "last_name": "Lovelace", "email": "Ada@Example.com", "phone": "", **overrides}


@pytest.fixture
def ada(contract):
    return ParticipantFactory(
        contract=contract, first_name="Ada", last_name="Lovelace", email="ada@example.com", phone="+44 20 7946 0000"
    )


@pytest.fixture
def alan(contract):
    return ParticipantFactory(contract=contract, first_name="Alan", last_name="Turing", email="alan@bletchley.example")


def test_the_participants_tab_lists_this_contracts_participants_by_last_name(staff_http, tenant, contract, ada, alan):
    ParticipantFactory(contract=ContractFactory(tenant=tenant), first_name="Ada", last_name="Elsewhere")

    assert listed_participants(staff_http.get(contract_url(contract, "participants/"))) == [ada.pk, alan.pk]


@pytest.mark.parametrize("query", ["lovel", "ADA", "ada@example", "7946", "Ada Love"])
def test_a_participant_search_finds_by_part_of_a_name_email_or_phone(staff_http, contract, ada, alan, query):
    response = staff_http.get(contract_url(contract, "participants/"), {"q": query})

    assert listed_participants(response) == [ada.pk]


def test_a_participant_search_that_matches_nothing_says_so(staff_http, contract, ada):
    page = text(staff_http.get(contract_url(contract, "participants/"), {"q": "nobody"}))

    assert "No participants match your search" in page and "Show all participants" in page


def test_a_contract_without_participants_says_so(staff_http, contract):
    assert "No participants yet" in text(staff_http.get(contract_url(contract, "participants/")))


def test_the_participants_list_shows_25_per_page_and_keeps_the_search(staff_http, contract):
    people = [ParticipantFactory(contract=contract, last_name=f"Smith{n:02d}") for n in range(27)]

    first = staff_http.get(contract_url(contract, "participants/"), {"q": "smith"})
    following = html.unescape(re.search(r'<a href="([^"]*)" rel="next">', first.content.decode()).group(1))
    second = staff_http.get(contract_url(contract, "participants/") + following)

    assert listed_participants(first) == [p.pk for p in people[:25]]
    assert listed_participants(second) == [p.pk for p in people[25:]]
    assert following.startswith("?q=smith&after=")


def test_staff_add_a_participant(staff_http, contract):
    response = staff_http.post(contract_url(contract, "participants/new/"), participant_data(), follow=True)

    assert response.redirect_chain == [(contract_url(contract, "participants/"), 302)]
    assert "Participant saved." in text(response)
    participant = Participant.objects.get(contract=contract)
    assert (participant.full_name, participant.email) == ("Ada Lovelace", "ada@example.com")


def test_a_participant_without_a_name_is_refused_beside_the_field(staff_http, contract):
    response = staff_http.post(contract_url(contract, "participants/new/"), participant_data(last_name=""))

    assert field_error(response, "last_name") == REQUIRED
    assert not Participant.objects.exists()


def test_an_email_taken_in_the_contract_is_refused_beside_it(staff_http, contract, ada):
    response = staff_http.post(contract_url(contract, "participants/new/"), participant_data(first_name="Augusta"))

    assert field_error(response, "email") == PARTICIPANT_EMAIL_TAKEN
    assert list(Participant.objects.filter(contract=contract)) == [ada]


def test_editing_a_participant_saves_it_and_refuses_anothers_email(staff_http, contract, ada, alan):
    url = contract_url(contract, f"participants/{alan.pk}/edit/")

    refused = staff_http.post(url, participant_data(first_name="Alan", last_name="Turing", email="ADA@example.com"))
    assert field_error(refused, "email") == PARTICIPANT_EMAIL_TAKEN

    assert (
        staff_http.post(
            url, participant_data(first_name="Alan M.", last_name="Turing", email="alan@bletchley.example")
        ).status_code
        == 302
    )
    alan.refresh_from_db()
    assert (alan.first_name, alan.email) == ("Alan M.", "alan@bletchley.example")


def test_a_participant_of_another_contract_cannot_be_edited_here(staff_http, tenant, contract):
    stranger = ParticipantFactory(contract=ContractFactory(tenant=tenant))

    assert staff_http.get(contract_url(contract, f"participants/{stranger.pk}/edit/")).status_code == 404


# Generate Code for one participant


def test_generate_code_assigns_a_new_code_to_the_participant(staff_http, contract, price, ada):
    response = staff_http.post(
        contract_url(contract, f"participants/{ada.pk}/code/"), {"price": price.pk, "width": 10}, follow=True
    )

    code = InvitationCode.objects.get()
    assert (code.participant, code.price, code.contract) == (ada, price, contract)
    assert code.code.startswith("ACME") and len(code.code) == 14
    page = text(response)
    assert f"Code {code.shown} generated for Ada Lovelace." in page
    assert f"<code>{code.shown}</code>" in page


def test_generate_code_twice_for_the_same_price_is_refused_and_makes_no_second_code(staff_http, contract, price, ada):
    url = contract_url(contract, f"participants/{ada.pk}/code/")
    staff_http.post(url, {"price": price.pk, "width": 10})

    response = staff_http.post(url, {"price": price.pk, "width": 12})

    assert response.status_code == 200
    assert ALREADY_HAS_CODE.format(name="Ada Lovelace", price="STD") in form_errors(response)
    assert InvitationCode.objects.filter(participant=ada).count() == 1


def test_generate_code_for_another_price_makes_a_second_code(staff_http, contract, price, ada):
    url = contract_url(contract, f"participants/{ada.pk}/code/")
    student = PriceFactory(contract=contract, price_code="STUDENT")

    staff_http.post(url, {"price": price.pk, "width": 10})
    staff_http.post(url, {"price": student.pk, "width": 10})

    assert set(InvitationCode.objects.filter(participant=ada).values_list("price__price_code", flat=True)) == {
        "STD",
        "STUDENT",
    }


def test_generate_code_without_prices_says_who_can_add_one(staff_http, admin_http, contract, ada):
    url = contract_url(contract, f"participants/{ada.pk}/code/")

    assert "Ask an admin or owner to add one." in text(staff_http.get(url))
    assert "Add a price</a> first." in text(admin_http.get(url))


def test_the_participants_list_uses_the_same_number_of_queries_for_3_or_40(staff_http, contract, price):
    url = contract_url(contract, "participants/")

    def queries():
        staff_http.get(url)
        with CaptureQueriesContext(connection) as captured:
            assert staff_http.get(url).status_code == 200
        return len(captured)

    def add(n):
        for _ in range(n):
            CodeFactory(price=price, participant=ParticipantFactory(contract=contract))

    add(3)
    few = queries()
    add(37)
    many = queries()

    assert many == few


# Found along the way


def test_staff_are_not_offered_add_buttons_they_may_not_use(staff_http, tenant):
    offered = []

    def check(page_url, link):
        if link in text(staff_http.get(page_url)):
            offered.append(page_url)

    check(ORGANISATIONS, NEW_ORGANISATION)  # no organisations yet
    organisation = OrganisationFactory(tenant=tenant)
    check(organisation_url(organisation), organisation_url(organisation, "contracts/new/"))  # no contracts yet
    contract = ContractFactory(tenant=tenant, organisation=organisation)
    check(contract_url(contract, "prices/"), contract_url(contract, "prices/new/"))  # no prices yet
    participant = ParticipantFactory(contract=contract)
    check(contract_url(contract, f"participants/{participant.pk}/code/"), contract_url(contract, "prices/new/"))

    assert offered == []


def test_a_code_that_was_never_shown_can_be_edited_on_its_edit_page(admin_http, contract, price):
    code = CodeFactory(price=price, code="ACME7KD9QX2MF4")

    response = admin_http.post(
        contract_url(contract, f"codes/{code.pk}/edit/"), {"code": "ACME-7KD9Q-X2MF5", "price": price.pk, "max_uses": 1}
    )

    assert response.status_code == 302
    code.refresh_from_db()
    assert code.code == "ACME7KD9QX2MF5"
