"""Tenancy through the pages: resolving the tenant, roles, the team, invitations, switching."""

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from messaging.models import OutboundEmail
from tenancy import services
from tenancy.decorators import NOT_A_MEMBER, ROLE_TOO_LOW
from tenancy.models import Membership, Role, StaffInvitation

from ..conftest import member, signed_in
from ..factories import DEFAULT_PASSWORD, UserFactory, invitation_with_token

pytestmark = pytest.mark.django_db


def team_url(tenant, name="tenancy:team", **kwargs):
    return reverse(name, kwargs={"tenant_slug": tenant.slug, **kwargs})


def invitation_link() -> str:
    """From the message as delivered: the outbox row only has a placeholder for it."""
    return re.search(r"http://testserver(/t/\S+/join/\S+/)", mail.outbox[-1].body)[1]


def test_an_unknown_workspace_is_a_404_page(owner_http):
    response = owner_http.get("/t/no-such-place/")
    assert response.status_code == 404
    assert b"Page not found" in response.content


def test_a_person_who_is_not_a_member_gets_403(tenant, other_tenant):
    outsider = signed_in(member(other_tenant, Role.OWNER))
    response = outsider.get(team_url(tenant, "tenancy:home"))
    assert response.status_code == 403
    assert NOT_A_MEMBER in response.content.decode()


def test_staff_cannot_open_owner_pages(staff_http, tenant):
    response = staff_http.get(team_url(tenant))
    assert response.status_code == 403
    assert ROLE_TOO_LOW in response.content.decode()


def test_an_anonymous_visitor_is_asked_to_sign_in_and_comes_back(client, tenant, owner):
    url = team_url(tenant, "tenancy:home")
    response = client.get(url)
    assert response.status_code == 302 and response.url == f"{reverse('accounts:login')}?next={url}"
    response = client.post(response.url, {"username": owner.email, "password": DEFAULT_PASSWORD, "next": url})
    assert response.status_code == 302 and response.url == url


def test_the_navigation_shows_what_the_role_allows(staff_http, owner_http, tenant):
    staff_page = staff_http.get(team_url(tenant, "tenancy:home")).content.decode()
    owner_page = owner_http.get(team_url(tenant, "tenancy:home")).content.decode()
    assert ">Clients<" in staff_page and ">Team<" not in staff_page and ">Settings<" not in staff_page
    assert ">Team<" in owner_page and ">Settings<" in owner_page and ">Email templates<" in owner_page


def test_a_member_of_several_workspaces_can_switch(tenant, other_tenant):
    person = member(tenant, Role.STAFF)
    Membership.objects.create(tenant=other_tenant, user=person, role=Role.ADMIN)
    http = signed_in(person)
    listing = http.get(reverse("workspaces")).content.decode()
    assert "Acme Training" in listing and "Globex Studio" in listing
    page = http.get(team_url(tenant, "tenancy:home")).content.decode()
    assert "Switch workspace" in page and team_url(other_tenant, "tenancy:home") in page
    assert http.get(team_url(other_tenant, "tenancy:home")).status_code == 200


def test_one_workspace_goes_straight_to_it(staff_http, tenant):
    response = staff_http.get(reverse("workspaces"))
    assert response.status_code == 302 and response.url == team_url(tenant, "tenancy:home")


def test_no_workspace_says_what_to_do(db):
    response = signed_in(UserFactory()).get(reverse("workspaces"))
    assert b"You are not on any team yet" in response.content


def test_inviting_sends_an_email_through_the_outbox(owner_http, tenant, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_http.post(
            team_url(tenant, "tenancy:team_invite"), {"email": "New@Example.com ", "role": "admin"}
        )
    assert response.status_code == 302
    invitation = StaffInvitation.objects.get(tenant=tenant)
    assert invitation.email == "new@example.com" and invitation.role == Role.ADMIN
    email = OutboundEmail.objects.get(tenant=tenant)
    assert email.to_email == "new@example.com" and email.status == "sent"
    assert mail.outbox[0].to == ["new@example.com"]
    assert "Olga Owner invited you to join the Acme Training team on Tessera as Admin." in email.body_text
    team = owner_http.get(team_url(tenant)).content.decode()
    assert "new@example.com" in team and "Pending" in team


@pytest.mark.parametrize(
    "data, field, message",
    [
        ({"email": "nope", "role": "staff"}, "email", "Enter a valid email address."),
        ({"email": "a@b.example", "role": "king"}, "role", "Select a valid choice."),
        ({"email": "", "role": "staff"}, "email", "This field is required."),
    ],
)
def test_bad_invitations_are_refused_beside_the_field(owner_http, tenant, data, field, message):
    response = owner_http.post(team_url(tenant, "tenancy:team_invite"), data)
    assert response.status_code == 200
    assert message in response.context["form"].errors[field][0]
    assert f'id="id_{field}_error"' in response.content.decode()
    assert not StaffInvitation.objects.exists() and not OutboundEmail.objects.exists()


def test_an_existing_member_cannot_be_invited(owner_http, tenant, staff):
    response = owner_http.post(team_url(tenant, "tenancy:team_invite"), {"email": staff.email.upper(), "role": "staff"})
    assert services.ALREADY_MEMBER.format(email=staff.email) in response.content.decode()
    assert not StaffInvitation.objects.exists()


def test_inviting_again_replaces_the_earlier_link(tenant, owner, django_capture_on_commit_callbacks):
    first = services.staff_invitation_create(tenant=tenant, email="x@example.com", role="staff", invited_by=owner)
    second = services.staff_invitation_create(tenant=tenant, email="X@example.com", role="admin", invited_by=owner)
    first.refresh_from_db()
    assert first.revoked_at is not None and second.is_open
    assert OutboundEmail.objects.filter(tenant=tenant).count() == 2


def test_a_new_person_accepts_by_choosing_a_password(client, tenant, owner, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        services.staff_invitation_create(tenant=tenant, email="newbie@example.com", role="staff", invited_by=owner)
    link = invitation_link()
    page = client.get(link)
    assert b"Create account and join" in page.content and b"newbie@example.com" in page.content

    weak = client.post(link, {"first_name": "Nia", "last_name": "New", "password1": "123", "password2": "123"})
    assert weak.status_code == 200 and weak.context["form"].errors["password1"]
    assert not User.objects.filter(email="newbie@example.com").exists()

    differ = client.post(
        link, {"first_name": "Nia", "last_name": "New", "password1": "a-long-pass-42", "password2": "b"}
    )
    assert "The two passwords differ." in differ.context["form"].errors["password2"]

    done = client.post(
        link, {"first_name": "Nia", "last_name": "New", "password1": "a-long-pass-42", "password2": "a-long-pass-42"}
    )
    assert done.status_code == 302 and done.url == team_url(tenant, "tenancy:home")
    user = User.objects.get(email="newbie@example.com")
    assert user.check_password("a-long-pass-42") and user.get_full_name() == "Nia New"
    assert Membership.objects.get(tenant=tenant, user=user).role == Role.STAFF
    assert client.get(done.url).status_code == 200  # signed in

    again = client.get(link)
    assert again.status_code == 410 and b"already been accepted" in again.content


def test_an_existing_account_signs_in_then_accepts(tenant, owner, other_tenant):
    existing = member(other_tenant, Role.OWNER, email="known@example.com")
    invitation, raw = invitation_with_token(tenant=tenant, email="known@example.com", role=Role.ADMIN, invited_by=owner)
    link = team_url(tenant, "tenancy:join", token=raw)
    from django.test import Client

    anonymous = Client()
    assert b"Sign in to accept" in anonymous.get(link).content
    assert anonymous.post(link).status_code == 200  # nothing happens without signing in
    assert not Membership.objects.filter(tenant=tenant, user=existing).exists()

    wrong = signed_in(owner).get(link)
    assert b"but this invitation is for known@example.com" in wrong.content

    http = signed_in(existing)
    response = http.post(link)
    assert response.status_code == 302
    assert Membership.objects.get(tenant=tenant, user=existing).role == Role.ADMIN


def test_a_signed_in_person_cannot_accept_an_invitation_for_someone_else(tenant, owner):
    intruder = UserFactory(email="intruder@example.com")
    UserFactory(email="invited@example.com")
    invitation, raw = invitation_with_token(tenant=tenant, email="invited@example.com")
    with pytest.raises(Exception) as error:
        services.staff_invitation_accept(tenant=tenant, raw_token=raw, user=intruder)
    assert "Sign in with that address" in str(error.value)
    assert not Membership.objects.filter(user=intruder).exists()


@pytest.mark.parametrize(
    "change, status, text",
    [
        ({"expires_at": timezone.now() - timedelta(minutes=1)}, 410, "has expired"),
        ({"revoked_at": timezone.now()}, 410, "was withdrawn"),
    ],
)
def test_expired_and_withdrawn_links_say_so(client, tenant, change, status, text):
    invitation, raw = invitation_with_token(tenant=tenant, **change)
    response = client.get(team_url(tenant, "tenancy:join", token=raw))
    assert response.status_code == status and text in response.content.decode()


def test_a_mistyped_link_says_so(client, tenant):
    response = client.get(team_url(tenant, "tenancy:join", token="not-a-real-token"))
    assert response.status_code == 404 and b"not valid" in response.content


def test_resend_gives_a_new_link_and_kills_the_old_one(owner_http, tenant, owner, django_capture_on_commit_callbacks):
    invitation, old_raw = invitation_with_token(
        tenant=tenant, invited_by=owner, sent_at=timezone.now() - timedelta(hours=1)
    )
    url = team_url(tenant, "tenancy:invitation_resend", invitation_id=invitation.pk)
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_http.post(url)
    assert response.status_code == 302
    new_link = invitation_link()
    assert owner_http.get(team_url(tenant, "tenancy:join", token=old_raw)).status_code == 404
    assert new_link.endswith("/") and old_raw not in new_link
    assert owner_http.get(new_link).status_code == 200

    # A double click: the second resend is refused, so the link just sent keeps working.
    with django_capture_on_commit_callbacks(execute=True):
        again = owner_http.post(url, follow=True)
    assert services.SENT_A_MOMENT_AGO in again.content.decode()
    assert len(mail.outbox) == 1 and owner_http.get(new_link).status_code == 200


def test_two_workspaces_accepted_by_one_new_address_at_once_do_not_fail(tenant, other_tenant, monkeypatch):
    """Both requests see no account yet; the second to create it gets a message, not a 500."""
    first, first_raw = invitation_with_token(tenant=tenant, email="twice@example.com")
    second, second_raw = invitation_with_token(tenant=other_tenant, email="twice@example.com")
    services.staff_invitation_accept_new_user(
        tenant=tenant, raw_token=first_raw, first_name="T", last_name="W", password="pw-long-enough-1"
    )
    monkeypatch.setattr(User.objects, "find_by_email", lambda email: None)  # the race: not seen yet
    with pytest.raises(ValidationError, match="exists already"):
        services.staff_invitation_accept_new_user(
            tenant=other_tenant, raw_token=second_raw, first_name="T", last_name="W", password="pw-long-enough-1"
        )
    second.refresh_from_db()
    assert second.is_open


def test_withdrawing_asks_first(owner_http, tenant):
    invitation, raw = invitation_with_token(tenant=tenant)
    url = team_url(tenant, "tenancy:invitation_revoke", invitation_id=invitation.pk)
    assert b"Withdraw the invitation" in owner_http.get(url).content
    invitation.refresh_from_db()
    assert invitation.is_open
    owner_http.post(url)
    invitation.refresh_from_db()
    assert invitation.revoked_at is not None


def test_owners_set_roles(owner_http, tenant, staff):
    membership = Membership.objects.get(user=staff)
    response = owner_http.post(team_url(tenant, "tenancy:member_role", member_id=membership.pk), {"role": "admin"})
    assert response.status_code == 302
    membership.refresh_from_db()
    assert membership.role == Role.ADMIN


def test_the_last_owner_cannot_be_demoted_or_removed(owner_http, tenant, owner):
    membership = Membership.objects.get(user=owner)
    response = owner_http.post(
        team_url(tenant, "tenancy:member_role", member_id=membership.pk), {"role": "staff"}, follow=True
    )
    assert services.LAST_OWNER in response.content.decode()
    response = owner_http.post(team_url(tenant, "tenancy:member_remove", member_id=membership.pk), follow=True)
    assert services.LAST_OWNER in response.content.decode()
    membership.refresh_from_db()
    assert membership.role == Role.OWNER


def test_removing_a_member_asks_first_and_takes_access_away(owner_http, tenant, staff):
    membership = Membership.objects.get(user=staff)
    url = team_url(tenant, "tenancy:member_remove", member_id=membership.pk)
    assert b"Remove staff@acme.example" in owner_http.get(url).content
    owner_http.post(url)
    assert not Membership.objects.filter(pk=membership.pk).exists()
    assert signed_in(staff).get(team_url(tenant, "tenancy:home")).status_code == 403


def test_admins_edit_the_workspace_settings(admin_http, staff_http, tenant):
    url = team_url(tenant, "tenancy:settings")
    assert staff_http.get(url).status_code == 403
    bad = admin_http.post(
        url,
        {
            "name": "",
            "display_name": "Acme\nBcc: x@evil.example",
            "time_zone": "Mars/Olympus",
            "currency": "EUR",
            "language": "en",
            "brand_color": "red",
        },
    )
    errors = bad.context["form"].errors
    assert set(errors) == {"name", "display_name", "time_zone", "brand_color"}
    assert errors["display_name"] == ["Use one line of text: no line breaks, tabs or control characters."]
    assert b"Acme Training" in bad.content  # the header still shows the saved name
    good = admin_http.post(
        url,
        {
            "name": "Acme Academy",
            "display_name": "Acme",
            "time_zone": "Asia/Tokyo",
            "currency": "JPY",
            "language": "en",
            "brand_color": "#123456",
        },
    )
    assert good.status_code == 302
    tenant.refresh_from_db()
    assert (tenant.name, tenant.time_zone, tenant.currency, tenant.brand_color) == (
        "Acme Academy",
        "Asia/Tokyo",
        "JPY",
        "#123456",
    )
