"""The client cards of the dashboard: list and search, add, edit, delete, and who may do what."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.forms import PHONE_INVALID
from accounts.models import Client
from accounts.services import CLIENT_EMAIL_TAKEN
from tenancy.models import Role

from ..conftest import member, signed_in
from ..factories import ClientFactory, UserFactory

pytestmark = pytest.mark.django_db

LIST = "/t/acme/clients/"
NEW = "/t/acme/clients/new/"
NO_CLIENTS_YET = "No clients yet"
NO_MATCH = "No clients match your search"
REQUIRED = "This field is required."
BAD_EMAIL = "Enter a valid email address."


def detail_url(client):
    return f"/t/{client.tenant.slug}/clients/{client.pk}/"


def listed_ids(response) -> list[int]:
    return [int(pk) for pk in re.findall(r'href="/t/acme/clients/(\d+)/"', response.content.decode())]


def field_error(response, field: str) -> str:
    """The error text rendered beside one field (empty when there is none)."""
    found = re.findall(rf'<p class="field-error" id="id_{field}_error">(.*?)</p>', response.content.decode())
    return " ".join(found)


def form_data(**overrides):
    return {
        "first_name": "Ada",
        "last_name": "Lovelace",
        "email": "ada@example.com",
        "phone": "+44 20 7946 0000",
        "notes": "Prefers mornings.",
        **overrides,
    }


@pytest.fixture
def ada(tenant):
    return ClientFactory(
        tenant=tenant, first_name="Ada", last_name="Lovelace", email="ada@example.com", phone="+44 20 7946 0000"
    )


@pytest.fixture
def alan(tenant):
    return ClientFactory(
        tenant=tenant, first_name="Alan", last_name="Turing", email="alan@bletchley.example", phone="01908 640404"
    )


@pytest.fixture
def grace(other_tenant):
    """Another tenant's client who matches every search below if the tenant filter leaks."""
    return ClientFactory(
        tenant=other_tenant,
        first_name="Ada",
        last_name="Lovelace Hopper",
        email="ada@globex.example",
        phone="+44 20 7946 0001",
    )


# The list


def test_the_list_shows_only_this_tenants_clients(staff_http, ada, alan, grace):
    response = staff_http.get(LIST)

    assert response.status_code == 200
    assert listed_ids(response) == [ada.pk, alan.pk]  # by last name
    assert "ada@globex.example" not in response.content.decode()


@pytest.mark.parametrize(
    "query", ["lovel", "ADA", "ada@example", "7946", "Ada Love", "love ada"], ids=lambda q: q.replace(" ", "_")
)
def test_a_search_finds_a_client_by_part_of_a_name_email_or_phone(staff_http, ada, alan, grace, query):
    response = staff_http.get(LIST, {"q": query})

    assert listed_ids(response) == [ada.pk]


def test_every_word_of_a_search_must_match(staff_http, ada, alan):
    assert listed_ids(staff_http.get(LIST, {"q": "Ada Turing"})) == []


def test_a_search_is_kept_in_the_box_and_can_be_cleared(staff_http, ada):
    page = staff_http.get(LIST, {"q": "Ada Love"}).content.decode()

    assert 'value="Ada Love"' in page
    assert f'href="{LIST}">Clear</a>' in page


def test_no_clients_at_all_shows_the_first_client_invitation(staff_http, grace):
    page = staff_http.get(LIST).content.decode()

    assert NO_CLIENTS_YET in page and NO_MATCH not in page
    assert "Add the first client" in page


def test_a_search_that_matches_nothing_says_so(staff_http, ada, grace):
    page = staff_http.get(LIST, {"q": "globex"}).content.decode()

    assert NO_MATCH in page and NO_CLIENTS_YET not in page
    assert "Show all clients" in page


def test_the_list_shows_25_clients_per_page_and_the_rest_on_page_2(staff_http, tenant):
    clients = ClientFactory.create_batch(30, tenant=tenant)

    first = staff_http.get(LIST)
    second = staff_http.get(LIST, {"page": 2})

    assert listed_ids(first) == [c.pk for c in clients[:25]]
    assert listed_ids(second) == [c.pk for c in clients[25:]]
    assert "Page 2 of 2 · 30 in all" in second.content.decode()


def test_the_pages_keep_the_search(staff_http, tenant):
    ClientFactory.create_batch(27, tenant=tenant, first_name="Ada")
    ClientFactory.create_batch(5, tenant=tenant, first_name="Bob")

    page = staff_http.get(LIST, {"q": "ada"}).content.decode()

    assert "27 in all" in page
    assert 'href="?q=ada&amp;page=2"' in page


# Paginator.get_page: not a number gives the first page, out of range (either side) the last.
@pytest.mark.parametrize("page, expected", [("abc", "first"), ("", "first"), ("999", "last"), ("0", "last")])
def test_a_nonsense_page_number_shows_a_page_instead_of_failing(staff_http, tenant, page, expected):
    clients = ClientFactory.create_batch(30, tenant=tenant)

    response = staff_http.get(LIST, {"page": page})

    assert response.status_code == 200
    assert listed_ids(response) == [c.pk for c in (clients[:25] if expected == "first" else clients[25:])]


def test_the_number_of_queries_of_the_list_does_not_grow_with_the_clients(staff_http, tenant):
    def queries_for_list():
        staff_http.get(LIST)  # warm the session and caches
        with CaptureQueriesContext(connection) as captured:
            assert staff_http.get(LIST).status_code == 200
        return len(captured)

    for n in range(3):
        ClientFactory(tenant=tenant, user=UserFactory() if n % 2 else None)
    few = queries_for_list()
    for n in range(27):
        ClientFactory(tenant=tenant, user=UserFactory() if n % 2 else None)
    many = queries_for_list()

    assert many == few


def test_people_who_are_not_members_cannot_see_the_list(client, other_tenant, ada):
    outsider = signed_in(member(other_tenant, Role.OWNER))

    assert outsider.get(LIST).status_code == 403
    assert client.get(LIST).status_code == 302  # anonymous: off to sign in


# Adding a client


def test_adding_a_client_opens_its_card_with_a_message(staff_http, tenant):
    response = staff_http.post(NEW, form_data(), follow=True)

    client = Client.objects.get(tenant=tenant)
    assert response.redirect_chain == [(detail_url(client), 302)]
    page = response.content.decode()
    assert "Client Ada Lovelace added." in page
    assert "ada@example.com" in page and "+44 20 7946 0000" in page and "Prefers mornings." in page
    assert (client.first_name, client.last_name, client.email) == ("Ada", "Lovelace", "ada@example.com")
    assert client.user is None


def test_an_email_is_stored_lowercased_and_trimmed(staff_http, tenant):
    staff_http.post(NEW, form_data(email="  Ada@Example.COM "))

    assert Client.objects.get(tenant=tenant).email == "ada@example.com"


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("first_name", "", REQUIRED),
        ("last_name", "   ", REQUIRED),
        ("email", "ada@", BAD_EMAIL),
        ("email", "not an email", BAD_EMAIL),
        ("phone", "call me maybe", PHONE_INVALID),
        ("phone", "123", PHONE_INVALID),
    ],
)
def test_a_bad_field_is_named_beside_it_and_nothing_is_saved(staff_http, tenant, field, value, message):
    response = staff_http.post(NEW, form_data(**{field: value}))

    assert response.status_code == 200
    assert field_error(response, field) == message
    assert not Client.objects.filter(tenant=tenant).exists()


def test_the_form_keeps_what_was_typed_after_an_error(staff_http):
    page = staff_http.post(NEW, form_data(phone="call me")).content.decode()

    assert 'value="Ada"' in page and 'value="ada@example.com"' in page and "Prefers mornings." in page


def test_an_email_already_on_a_card_in_another_case_is_refused(staff_http, tenant, ada):
    response = staff_http.post(NEW, form_data(first_name="Augusta", email="ADA@Example.com"))

    assert response.status_code == 200
    assert field_error(response, "email") == CLIENT_EMAIL_TAKEN
    assert list(Client.objects.filter(tenant=tenant)) == [ada]


def test_the_same_email_in_another_tenant_is_fine(staff_http, tenant, other_tenant):
    ClientFactory(tenant=other_tenant, email="ada@example.com")

    response = staff_http.post(NEW, form_data())

    assert response.status_code == 302
    assert Client.objects.filter(email="ada@example.com").count() == 2


def test_a_new_card_does_not_tell_staff_whether_its_email_has_a_login(staff_http, tenant):
    """Linking by email alone would reveal who uses Tessera in other workspaces."""
    UserFactory(email="ada@example.com")

    response = staff_http.post(NEW, form_data(email="Ada@Example.com"), follow=True)

    assert Client.objects.get(tenant=tenant).user is None
    assert "No login linked" in response.content.decode()


def test_the_card_is_linked_when_its_person_opens_my_account(staff_http, tenant):
    person = UserFactory(email="ada@example.com")
    staff_http.post(NEW, form_data(email="ada@example.com"))

    signed_in(person).get("/t/acme/account/")

    card = Client.objects.get(tenant=tenant)
    assert card.user == person
    assert "Signs in as ada@example.com" in staff_http.get(detail_url(card)).content.decode()


def test_a_client_without_an_email_can_be_added_twice(staff_http, tenant):
    staff_http.post(NEW, form_data(email=""))
    staff_http.post(NEW, form_data(email=""))

    assert Client.objects.filter(tenant=tenant, email="").count() == 2


# Editing


def test_editing_a_client_saves_the_changes(staff_http, ada):
    edit = f"{detail_url(ada)}edit/"
    response = staff_http.post(edit, form_data(first_name="Augusta", notes="New notes"), follow=True)

    assert response.redirect_chain == [(detail_url(ada), 302)]
    assert "Changes saved." in response.content.decode()
    ada.refresh_from_db()
    assert (ada.first_name, ada.notes) == ("Augusta", "New notes")


def test_the_edit_form_is_filled_in(staff_http, ada):
    page = staff_http.get(f"{detail_url(ada)}edit/").content.decode()

    assert 'value="Ada"' in page and 'value="ada@example.com"' in page


def test_editing_shows_errors_beside_the_fields_and_changes_nothing(staff_http, ada):
    response = staff_http.post(f"{detail_url(ada)}edit/", form_data(first_name="", phone="abc"))

    assert response.status_code == 200
    assert field_error(response, "first_name") == REQUIRED
    assert field_error(response, "phone") == PHONE_INVALID
    ada.refresh_from_db()
    assert ada.first_name == "Ada"


def test_editing_to_the_email_of_another_card_is_refused(staff_http, ada, alan):
    response = staff_http.post(f"{detail_url(alan)}edit/", form_data(first_name="Alan", email="Ada@Example.com"))

    assert field_error(response, "email") == CLIENT_EMAIL_TAKEN
    alan.refresh_from_db()
    assert alan.email == "alan@bletchley.example" and alan.first_name == "Alan"


def test_keeping_a_cards_own_email_in_another_case_is_fine(staff_http, ada):
    response = staff_http.post(f"{detail_url(ada)}edit/", form_data(email="ADA@example.com", notes="x"))

    assert response.status_code == 302
    ada.refresh_from_db()
    assert ada.email == "ada@example.com" and ada.notes == "x"


def test_changing_the_email_away_from_the_linked_login_unlinks_the_card(staff_http, alan):
    person = UserFactory(email=alan.email)
    Client.objects.filter(pk=alan.pk).update(user=person)

    staff_http.post(f"{detail_url(alan)}edit/", form_data(first_name="Alan", email=alan.email.upper()))
    alan.refresh_from_db()
    assert alan.user == person  # the same address in another case: still theirs

    staff_http.post(f"{detail_url(alan)}edit/", form_data(first_name="Alan", email="alan.t@example.com"))
    alan.refresh_from_db()
    assert alan.user is None


def test_another_tenants_client_cannot_be_opened_or_edited(staff_http, grace):
    url = f"/t/acme/clients/{grace.pk}/"

    assert staff_http.get(url).status_code == 404
    assert staff_http.post(f"{url}edit/", form_data()).status_code == 404
    grace.refresh_from_db()
    assert grace.last_name == "Lovelace Hopper"


# Deleting


def test_deleting_asks_first_and_keeps_the_card(admin_http, ada):
    response = admin_http.get(f"{detail_url(ada)}delete/")

    assert response.status_code == 200
    assert "Delete the card of Ada Lovelace?" in response.content.decode()
    assert Client.objects.filter(pk=ada.pk).exists()


@pytest.mark.parametrize("http", ["admin_http", "owner_http"])
def test_admins_and_owners_can_delete_a_client(request, http, ada, alan):
    response = request.getfixturevalue(http).post(f"{detail_url(ada)}delete/", follow=True)

    assert response.redirect_chain == [(LIST, 302)]
    assert "Client Ada Lovelace deleted." in response.content.decode()
    assert list(Client.objects.all()) == [alan]


def test_staff_cannot_delete_a_client_nor_see_the_button(staff_http, ada):
    url = f"{detail_url(ada)}delete/"

    assert staff_http.get(url).status_code == 403
    assert staff_http.post(url).status_code == 403
    assert Client.objects.filter(pk=ada.pk).exists()
    assert url not in staff_http.get(detail_url(ada)).content.decode()


def test_an_admin_sees_the_delete_button(admin_http, ada):
    assert f"{detail_url(ada)}delete/" in admin_http.get(detail_url(ada)).content.decode()


def test_another_tenants_client_cannot_be_deleted(owner_http, grace):
    assert owner_http.post(f"/t/acme/clients/{grace.pk}/delete/").status_code == 404
    assert Client.objects.filter(pk=grace.pk).exists()
