"""Secrets in emailed links, one test per kind: at least 128 bits, only a hash (or nothing) kept in
the database once the message is out, single use where the flow is, and an expiry."""

import base64
import hashlib
import re
from datetime import datetime, timedelta

import pytest
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.core import mail
from django.core.exceptions import ValidationError
from django.test import Client as HttpClient
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from messaging.models import OutboundEmail
from regcodes import services as seats
from regcodes.models import LearnerInvite
from sessions_roster.models import SessionInvitation, WaitlistEntry, WaitlistStatus
from sessions_roster.services import invitations as session_invitations
from tenancy import services as team
from tenancy.models import StaffInvitation
from tenancy.urlresolvers import tenant_reverse

from ..factories import (
    DEFAULT_PASSWORD,
    NewLearner,
    ProductSessionFactory,
    SessionFactory,
    UserFactory,
    offer_token,
    seat_invite,
    seat_order,
    session_invite,
    session_register,
    waitlist_add,
)

pytestmark = pytest.mark.django_db
NEW_PASSWORD = "a-new-Passw0rd-for-tests"


def urlsafe_bits(token: str) -> int:
    return len(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))) * 8


def sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def assert_only_hashed(row, token: str, hash_field: str):
    """The row keeps the token's SHA-256 and nothing the token could be read from; no email row
    keeps it once delivered (the outbox holds link values only until delivery)."""
    row.refresh_from_db()
    assert getattr(row, hash_field) == sha256(token)
    values = [str(getattr(row, f.attname)) for f in row._meta.concrete_fields]
    assert not any(token in value for value in values)
    for email in OutboundEmail.objects.all():
        assert token not in f"{email.subject}{email.body_text}{email.body_html}{email.private_values}"


def delivered_link(pattern: str) -> str:
    return re.search(rf"http://testserver({pattern})", mail.outbox[-1].body)[1]


# Staff invitation (tenancy)


def test_staff_invitation_token(tenant, owner, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        invitation = team.staff_invitation_create(
            tenant=tenant, email="new@example.com", role="staff", invited_by=owner
        )
    link = delivered_link(r"/t/acme/join/(\S+)/")
    token = link.rstrip("/").rsplit("/", 1)[1]

    assert urlsafe_bits(token) >= 128
    assert_only_hashed(invitation, token, "token_hash")
    # Expires.
    StaffInvitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert HttpClient().get(link).status_code == 410
    # Single use.
    StaffInvitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() + timedelta(days=1))
    joined = HttpClient().post(
        link, {"first_name": "N", "last_name": "Ew", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    )
    assert joined.status_code == 302
    assert HttpClient().get(link).status_code == 410


# Session invitation (sessions_roster)


def test_session_invitation_token(tenant, django_capture_on_commit_callbacks):
    session = SessionFactory(tenant=tenant, capacity=3)
    with django_capture_on_commit_callbacks(execute=True):
        invitation, token = session_invite(session, "ivy@example.com")
    link = tenant_reverse(tenant, "register:invitation", invite_token=token)

    assert link in mail.outbox[-1].body
    assert urlsafe_bits(token) >= 128
    assert_only_hashed(invitation, token, "token_hash")
    # Single use: once registered through it, the link is closed.
    session_register(session, "ivy@example.com", invitation=invitation)
    assert HttpClient().get(link).status_code == 410


def test_session_invitation_expires_at_its_date_or_when_the_session_starts(tenant):
    session = SessionFactory(tenant=tenant, capacity=3)
    dated, dated_token = session_invite(session, "ivy@example.com", expires_at=timezone.now() + timedelta(days=1))
    undated, undated_token = session_invite(session, "lou@example.com")

    SessionInvitation.objects.filter(pk=dated.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert HttpClient().get(tenant_reverse(tenant, "register:invitation", invite_token=dated_token)).status_code == 410

    session.__class__.objects.filter(pk=session.pk).update(
        starts_at=timezone.now() - timedelta(minutes=1), ends_at=timezone.now() + timedelta(hours=1)
    )
    response = HttpClient().get(tenant_reverse(tenant, "register:invitation", invite_token=undated_token))
    assert response.status_code == 410
    assert session_invitations.LINK_SESSION_STARTED in response.content.decode()


# Waitlist offer (sessions_roster)


def test_waitlist_offer_token(tenant, owner, django_capture_on_commit_callbacks):
    session = SessionFactory(tenant=tenant, capacity=1)
    held, _ = session_invite(session, "first@example.com")
    entry = waitlist_add(session, "wendy@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        session_invitations.invitation_cancel(tenant=tenant, invitation=held, actor=owner)
    token = offer_token(entry)
    link = tenant_reverse(tenant, "register:offer", offer_token=token)

    assert link in mail.outbox[-1].body

    assert entry.status == WaitlistStatus.OFFERED and entry.offer_expires_at is not None
    assert urlsafe_bits(token) >= 128
    assert_only_hashed(entry, token, "offer_token_hash")
    # Expires.
    WaitlistEntry.objects.filter(pk=entry.pk).update(offer_expires_at=timezone.now() - timedelta(seconds=1))
    assert HttpClient().get(link).status_code == 410


def test_waitlist_offer_is_single_use(tenant, owner):
    session = SessionFactory(tenant=tenant, capacity=1)
    held, _ = session_invite(session, "first@example.com")
    entry = waitlist_add(session, "wendy@example.com")
    session_invitations.invitation_cancel(tenant=tenant, invitation=held, actor=owner)
    link = tenant_reverse(tenant, "register:offer", offer_token=offer_token(entry))
    http = HttpClient()
    http.get(link)
    http.post(
        tenant_reverse(tenant, "register:checkout"),
        {"first_name": "Wendy", "last_name": "Wait", "email": "wendy@example.com"},
    )

    entry.refresh_from_db()
    assert entry.status == WaitlistStatus.REGISTERED
    assert HttpClient().get(link).status_code == 410


# Seat invitation (regcodes)


@pytest.fixture
def order(tenant):
    buyer = UserFactory(email="buyer@customer.example")
    return seat_order(ProductSessionFactory(tenant=tenant), buyer, quantity=2)


def test_seat_invitation_token(tenant, order, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        invite, token = seat_invite(order, "sam@example.com")
    link = tenant_reverse(tenant, "seats:accept", seat_token=token)

    assert link in mail.outbox[-1].body
    assert urlsafe_bits(token) >= 128
    assert_only_hashed(invite, token, "token_hash")
    # Single use.
    taken = HttpClient().post(
        link, {"first_name": "Sam", "last_name": "S", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    )
    assert taken.status_code == 302
    assert HttpClient().get(link).status_code == 410


def test_seat_invitation_expires(tenant, order, settings):
    settings.SEAT_INVITE_VALID_DAYS = 30
    invite, token = seat_invite(order, "sam@example.com")
    link = tenant_reverse(tenant, "seats:accept", seat_token=token)
    LearnerInvite.objects.filter(pk=invite.pk).update(sent_at=timezone.now() - timedelta(days=29))
    assert HttpClient().get(link).status_code == 200

    LearnerInvite.objects.filter(pk=invite.pk).update(sent_at=timezone.now() - timedelta(days=30, seconds=1))
    expired = HttpClient().get(link)
    posted = HttpClient().post(
        link, {"first_name": "Sam", "last_name": "S", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    )

    assert expired.status_code == 410 and "sent more than 30 days ago" in expired.content.decode()
    assert posted.status_code == 410
    invite.refresh_from_db()
    assert invite.status == "open"

    # The service refuses it too, and the customer's page says so instead of offering the old link.
    with pytest.raises(ValidationError, match="sent more than 30 days ago"):
        seats.invite_accept(tenant=tenant, invite=invite, user=UserFactory(email="sam@example.com"))
    buyer = HttpClient()
    buyer.force_login(order.buyer)
    page = buyer.get(tenant_reverse(tenant, "seats_portal:order", order_id=order.pk)).content.decode()
    assert "Link expired: invite again for a new one" in page and token not in page


def test_changing_the_secret_key_closes_links_a_database_copy_could_otherwise_rebuild(tenant, order, settings):
    _, token = seat_invite(order, "sam@example.com")
    settings.SECRET_KEY = "another-key-entirely"

    assert HttpClient().get(tenant_reverse(tenant, "seats:accept", seat_token=token)).status_code == 404


# Password reset and set-password (accounts; Django's token: no row at all)


def reset_token(link: str) -> str:
    return link.rstrip("/").rsplit("/", 1)[1]


def django_token_bits(token: str) -> int:
    _, digest = token.split("-")
    return len(digest) * 4


def test_password_reset_token(django_capture_on_commit_callbacks):
    user = UserFactory(email="pat@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        HttpClient().post(reverse("accounts:password_reset"), {"email": "pat@example.com"})
    link = delivered_link(r"/accounts/password/reset/\S+/\S+/")
    token = reset_token(link)

    assert django_token_bits(token) >= 128
    assert_not_stored(user, token)
    # Single use: setting the password changes what the token is made from.
    http = HttpClient()
    form = http.get(link).url
    http.post(form, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert b"This link does not work any more" in HttpClient().get(link, follow=True).content


def assert_not_stored(user, token):
    user.refresh_from_db()
    assert not any(token in str(getattr(user, f.attname)) for f in user._meta.concrete_fields)
    for email in OutboundEmail.objects.all():
        assert token not in f"{email.subject}{email.body_text}{email.body_html}{email.private_values}"


class MadeTwoDaysAgo(PasswordResetTokenGenerator):
    def _now(self):
        return datetime.now() - timedelta(days=2)


def test_password_reset_and_set_password_links_expire(settings):
    settings.PASSWORD_RESET_TIMEOUT = 24 * 60 * 60
    user = UserFactory(email="pat@example.com")
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    old = reverse("accounts:password_reset_confirm", args=[uid, MadeTwoDaysAgo().make_token(user)])
    fresh = reverse("accounts:password_reset_confirm", args=[uid, PasswordResetTokenGenerator().make_token(user)])

    assert b"This link does not work any more" in HttpClient().get(old, follow=True).content
    assert b"Choose a new password" in HttpClient().get(fresh, follow=True).content


def test_set_password_token_for_a_new_learner(tenant, order, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        seats.learners_assign(tenant=tenant, order=order, learners=[NewLearner(email="lena@example.com")], actor=None)
    user = UserFactory._meta.model.objects.get(email="lena@example.com")
    link = re.search(r"http://testserver(/accounts/password/reset/\S+/\S+/)", mail.outbox[-1].body)[1]
    token = reset_token(link)

    assert django_token_bits(token) >= 128
    assert_not_stored(user, token)
    http = HttpClient()
    http.post(http.get(link).url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD) and not user.check_password(DEFAULT_PASSWORD)
    assert b"This link does not work any more" in HttpClient().get(link, follow=True).content
