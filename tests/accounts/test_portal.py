"""My Account: a signed-in person sees this tenant's card for them, and never another tenant's."""

import pytest
from django.urls import reverse

from accounts.models import Client

from ..conftest import signed_in
from ..factories import ClientFactory, UserFactory

pytestmark = pytest.mark.django_db

ACCOUNT = "/t/acme/account/"
NO_CARD = "has no client card for"


@pytest.fixture
def pat():
    return UserFactory(email="pat@example.com", first_name="Pat", last_name="Doe")


def test_an_anonymous_visitor_is_sent_to_sign_in(client, tenant):
    response = client.get(ACCOUNT)

    assert response.status_code == 302
    assert response.url == f"{reverse('accounts:login')}?next={ACCOUNT}"


def test_a_person_with_a_card_sees_their_details_and_the_card_is_linked(tenant, pat):
    card = ClientFactory(
        tenant=tenant, first_name="Patricia", last_name="Doe", email="pat@example.com", phone="+31 6 1234 5678"
    )

    response = signed_in(pat).get(ACCOUNT)

    page = response.content.decode()
    assert response.status_code == 200
    assert "Your details" in page
    assert "Patricia Doe" in page and "+31 6 1234 5678" in page
    assert NO_CARD not in page
    card.refresh_from_db()
    assert card.user == pat


def test_a_card_whose_email_differs_in_case_is_found_and_linked(tenant, pat):
    card = ClientFactory(tenant=tenant, first_name="Patricia", email="Pat@Example.COM")

    page = signed_in(pat).get(ACCOUNT).content.decode()

    assert "Patricia" in page
    card.refresh_from_db()
    assert card.user == pat


def test_a_person_without_a_card_is_told_so(tenant, pat):
    ClientFactory(tenant=tenant, email="someone.else@example.com", first_name="Someone")

    response = signed_in(pat).get(ACCOUNT)

    page = response.content.decode()
    assert response.status_code == 200
    assert f"Acme Training {NO_CARD} pat@example.com yet." in page
    assert "Someone" not in page


def test_a_staff_member_without_a_card_sees_the_portal_too(staff_http):
    page = staff_http.get(ACCOUNT).content.decode()

    assert NO_CARD in page


def test_another_tenants_card_with_the_same_email_is_never_shown(tenant, other_tenant, pat):
    theirs = ClientFactory(tenant=other_tenant, first_name="Globex-Pat", email="pat@example.com", phone="555 0100")

    page = signed_in(pat).get(ACCOUNT).content.decode()

    assert NO_CARD in page
    assert "Globex-Pat" not in page and "555 0100" not in page
    theirs.refresh_from_db()
    assert theirs.user is None  # visiting Acme's portal links nothing at Globex


def test_each_tenant_shows_and_links_only_its_own_card(tenant, other_tenant, pat):
    ours = ClientFactory(tenant=tenant, first_name="Acme-Pat", email="pat@example.com")
    theirs = ClientFactory(tenant=other_tenant, first_name="Globex-Pat", email="pat@example.com")
    http = signed_in(pat)

    acme_page = http.get(ACCOUNT).content.decode()
    globex_page = http.get("/t/globex/account/").content.decode()

    assert "Acme-Pat" in acme_page and "Globex-Pat" not in acme_page
    assert "Globex-Pat" in globex_page and "Acme-Pat" not in globex_page
    assert {c.tenant_id: c.user_id for c in Client.objects.filter(pk__in=[ours.pk, theirs.pk])} == {
        tenant.pk: pat.pk,
        other_tenant.pk: pat.pk,
    }


def test_a_card_linked_to_someone_else_is_not_shown(tenant, pat):
    other_person = UserFactory(email="other@example.com")
    ClientFactory(tenant=tenant, first_name="Otto", email="other@example.com", user=other_person)

    page = signed_in(pat).get(ACCOUNT).content.decode()

    assert NO_CARD in page and "Otto" not in page


def test_an_unknown_workspace_answers_404(pat):
    assert signed_in(pat).get("/t/nowhere/account/").status_code == 404


def test_a_card_linked_to_another_login_is_not_shown_to_whoever_now_has_its_email(tenant, pat):
    # The card's first owner changed their login email (Django admin); the card stays linked to them.
    first_owner = UserFactory(email="pat.old@example.com")
    ClientFactory(tenant=tenant, first_name="Former", email="pat@example.com", phone="555 0199", user=first_owner)

    page = signed_in(pat).get(ACCOUNT).content.decode()

    assert "555 0199" not in page and NO_CARD in page
