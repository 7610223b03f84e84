"""Signing in and out, resetting a forgotten password, and the one-login-per-email rule."""

import re

import pytest
from django.contrib.auth import SESSION_KEY
from django.core import mail
from django.db import IntegrityError, transaction
from django.test import Client as HttpClient
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from accounts.forms import LOGIN_FAILED
from accounts.models import User
from messaging.models import EmailStatus, OutboundEmail
from tenancy.models import Role

from ..conftest import member, signed_in
from ..factories import DEFAULT_PASSWORD, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

LOGIN_URL = reverse("accounts:login")
RESET_URL = reverse("accounts:password_reset")
NEW_PASSWORD = "a-brand-new-passphrase-42"


def sign_in(http, email, password=DEFAULT_PASSWORD, follow=False):
    return http.post(LOGIN_URL, {"username": email, "password": password}, follow=follow)


def is_signed_in(http) -> bool:
    return SESSION_KEY in http.session


# Signing in


def test_signing_in_with_the_email_in_another_case_lands_on_the_only_workspace(tenant):
    member(tenant, Role.STAFF, email="pat@acme.example")
    http = HttpClient()

    response = sign_in(http, "PAT@Acme.Example")

    assert response.status_code == 302 and response.url == reverse("workspaces")
    assert http.get(response.url).url == reverse("tenancy:home", kwargs={"tenant_slug": "acme"})
    assert is_signed_in(http)


def test_a_person_in_two_workspaces_picks_one_after_signing_in(tenant, other_tenant):
    user = member(tenant, Role.STAFF, email="pat@acme.example")
    MembershipFactory(tenant=other_tenant, user=user, role=Role.OWNER)
    http = HttpClient()

    response = sign_in(http, "pat@acme.example", follow=True)

    assert response.redirect_chain == [(reverse("workspaces"), 302)]
    assert b"Acme Training" in response.content and b"Globex Studio" in response.content


def test_a_wrong_password_shows_the_message_and_does_not_sign_in():
    UserFactory(email="pat@example.com")
    http = HttpClient()

    response = sign_in(http, "pat@example.com", password="not-the-password")

    assert response.status_code == 200
    assert LOGIN_FAILED in response.content.decode()
    assert not is_signed_in(http)


def test_an_unknown_email_gets_the_same_message_as_a_wrong_password():
    response = sign_in(HttpClient(), "nobody@example.com")

    assert response.status_code == 200
    assert LOGIN_FAILED in response.content.decode()


def test_a_switched_off_account_cannot_sign_in():
    UserFactory(email="gone@example.com", is_active=False)
    http = HttpClient()

    response = sign_in(http, "gone@example.com")

    assert response.status_code == 200
    assert not is_signed_in(http)
    # Django's ModelBackend refuses inactive users before the form can tell them apart, so the
    # page says LOGIN_FAILED; LOGIN_INACTIVE is only shown with a backend that lets them through.
    assert LOGIN_FAILED in response.content.decode()


def test_switching_an_account_off_ends_its_open_sessions(tenant, staff):
    http = signed_in(staff)
    User.objects.filter(pk=staff.pk).update(is_active=False)

    assert http.get("/t/acme/").status_code == 302  # sent to sign in


def test_a_signed_in_person_opening_the_sign_in_page_goes_to_their_workspaces(tenant, staff):
    response = signed_in(staff).get(LOGIN_URL)

    assert response.status_code == 302 and response.url == reverse("workspaces")


def test_an_offsite_next_address_is_ignored_after_signing_in():
    UserFactory(email="pat@example.com")

    response = HttpClient().post(
        LOGIN_URL, {"username": "pat@example.com", "password": DEFAULT_PASSWORD, "next": "https://evil.example/"}
    )

    assert response.status_code == 302 and response.url == reverse("workspaces")


# Signing out


def test_signing_out_is_a_post_that_ends_the_session(staff):
    http = signed_in(staff)

    assert http.get(reverse("accounts:logout")).status_code == 405
    assert is_signed_in(http)

    response = http.post(reverse("accounts:logout"))

    assert response.status_code == 302 and response.url == LOGIN_URL
    assert not is_signed_in(http)
    assert http.get(reverse("workspaces")).status_code == 302  # back to sign-in


# Password reset


def ask_for_reset(http, email, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        return http.post(RESET_URL, {"email": email})


def reset_link() -> str:
    """The link is only in the recipient's copy, never readable in the outbox row."""
    [url] = re.findall(r"http://testserver(/accounts/password/reset/\S+/\S+/)", mail.outbox[-1].body)
    return url


def test_a_reset_request_writes_a_platform_email_and_sends_it(django_capture_on_commit_callbacks):
    UserFactory(email="pat@example.com", first_name="Pat")

    response = ask_for_reset(HttpClient(), "pat@example.com", django_capture_on_commit_callbacks)

    assert response.status_code == 302 and response.url == reverse("accounts:password_reset_done")
    [email] = OutboundEmail.objects.all()
    assert email.tenant is None
    assert email.template_key == "accounts.password_reset"
    assert email.to_email == "pat@example.com"
    assert email.status == EmailStatus.SENT
    [message] = mail.outbox
    assert message.to == ["pat@example.com"]
    assert reset_link() in message.body
    assert reset_link() not in email.body_text + email.body_html
    assert email.private_values == {}


def test_a_reset_request_in_another_case_still_finds_the_account(django_capture_on_commit_callbacks):
    UserFactory(email="pat@example.com")

    ask_for_reset(HttpClient(), "Pat@EXAMPLE.com", django_capture_on_commit_callbacks)

    assert OutboundEmail.objects.get().to_email == "pat@example.com"


def test_the_reset_link_sets_a_new_password_that_signs_in(django_capture_on_commit_callbacks):
    UserFactory(email="pat@example.com")
    http = HttpClient()
    ask_for_reset(http, "pat@example.com", django_capture_on_commit_callbacks)
    link = reset_link()

    opened = http.get(link)
    assert opened.status_code == 302 and opened.url.endswith("/set-password/")
    form_page = http.get(opened.url)
    assert b"Choose a new password" in form_page.content

    saved = http.post(opened.url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})

    assert saved.status_code == 302 and saved.url == reverse("accounts:password_reset_complete")
    assert not is_signed_in(http)
    assert sign_in(HttpClient(), "pat@example.com").status_code == 200  # the old password is gone
    fresh = HttpClient()
    assert sign_in(fresh, "pat@example.com", password=NEW_PASSWORD).url == reverse("workspaces")
    assert is_signed_in(fresh)


def test_a_used_reset_link_does_not_work_any_more(django_capture_on_commit_callbacks):
    UserFactory(email="pat@example.com")
    http = HttpClient()
    ask_for_reset(http, "pat@example.com", django_capture_on_commit_callbacks)
    link = reset_link()
    set_password_url = http.get(link).url
    http.post(set_password_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})

    again = HttpClient().get(link, follow=True)

    assert again.status_code == 200
    assert b"This link does not work any more" in again.content
    assert b"new_password1" not in again.content


def test_a_forged_reset_link_does_not_work():
    user = UserFactory(email="pat@example.com")
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    response = HttpClient().get(reverse("accounts:password_reset_confirm", args=[uid, "abc-123"]), follow=True)

    assert b"This link does not work any more" in response.content


def test_a_reset_request_for_an_unknown_email_looks_the_same_and_sends_nothing(django_capture_on_commit_callbacks):
    response = ask_for_reset(HttpClient(), "nobody@example.com", django_capture_on_commit_callbacks)

    assert response.status_code == 302 and response.url == reverse("accounts:password_reset_done")
    assert not OutboundEmail.objects.exists()
    assert mail.outbox == []


def test_a_switched_off_account_gets_no_reset_email(django_capture_on_commit_callbacks):
    UserFactory(email="gone@example.com", is_active=False)

    response = ask_for_reset(HttpClient(), "gone@example.com", django_capture_on_commit_callbacks)

    assert response.url == reverse("accounts:password_reset_done")
    assert not OutboundEmail.objects.exists()


def test_a_malformed_reset_address_is_refused_in_the_page():
    response = HttpClient().post(RESET_URL, {"email": "not-an-email"})

    assert response.status_code == 200
    assert b"Enter a valid email address." in response.content
    assert not OutboundEmail.objects.exists()


# The User model


def test_two_users_whose_emails_differ_only_in_case_are_refused():
    User.objects.create(email="ada@example.com")

    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create(email="ADA@example.com")

    assert User.objects.count() == 1


def test_create_user_stores_the_email_lowercased_and_trimmed():
    user = User.objects.create_user("  Ada.Lovelace@Example.COM ", password=DEFAULT_PASSWORD)

    assert user.email == "ada.lovelace@example.com"
    assert user.check_password(DEFAULT_PASSWORD)


def test_create_user_with_an_email_taken_in_another_case_is_refused():
    User.objects.create_user("ada@example.com")

    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create_user("Ada@Example.com")
