"""A session invitation can also go by SMS: the same link, through the outbox, resent with the email."""

import pytest
from django.urls import reverse

from messaging.models import Channel, OutboundEmail
from sessions_roster.models import SessionInvitation
from sessions_roster.services.invitations import invitation_resend, invitation_send
from tenancy.scoping import isolated_scope

from ..conftest import signed_in
from ..factories import SessionFactory


def invite_url(tenant, session):
    return reverse("sessions:invite", kwargs={"tenant_slug": tenant.slug, "session_id": session.pk})


def test_staff_invite_by_email_and_sms_and_both_carry_the_same_private_link(tenant, staff, settings):
    settings.SMS_URL = "outbox://"
    session = SessionFactory(tenant=tenant, capacity=5)
    response = signed_in(staff).post(
        invite_url(tenant, session), {"email": "ivy@example.com", "phone": "+44 (0)7700 900123"}
    )
    assert response.status_code == 302
    invitation = SessionInvitation.objects.get(tenant=tenant, session=session)
    assert invitation.phone == "+447700900123"
    email = OutboundEmail.objects.get(tenant=tenant, channel=Channel.EMAIL, to_email="ivy@example.com")
    sms = OutboundEmail.objects.get(tenant=tenant, channel=Channel.SMS)
    assert sms.to_phone == "+447700900123"
    assert session.title in sms.body_text
    # Staff pages see a mask; the real link waits (the same one in both) until delivery.
    link = next(iter(email.private_values.values()))
    assert "/register/invitation/" in link and link not in sms.body_text
    assert list(sms.private_values.values()) == [link]

    page = signed_in(staff).get(
        reverse("sessions:roster", kwargs={"tenant_slug": tenant.slug, "session_id": session.pk})
    )
    assert "and by SMS to +447700900123" in page.content.decode()


def test_a_resend_sends_the_sms_again(tenant, staff, settings):
    settings.SMS_URL = "outbox://"
    session = SessionFactory(tenant=tenant, capacity=5)
    with isolated_scope(tenant=tenant):
        invitation = invitation_send(tenant=tenant, session=session, email="ivy@example.com", phone="+4915112345678")
        SessionInvitation.objects.filter(pk=invitation.pk).update(sent_at=None)
        invitation_resend(tenant=tenant, invitation=invitation, actor=staff)
    assert OutboundEmail.objects.filter(tenant=tenant, channel=Channel.SMS, to_phone="+4915112345678").count() == 2


@pytest.mark.parametrize("phone", ["07700 900123", "call me", "+12", "+44 7700 900123 ext 5" * 3])
def test_a_bad_number_is_refused_in_the_form_and_nothing_is_held(tenant, staff, phone):
    session = SessionFactory(tenant=tenant, capacity=5)
    response = signed_in(staff).post(invite_url(tenant, session), {"email": "ivy@example.com", "phone": phone})
    assert response.status_code == 200
    assert "country code" in response.content.decode() or "at most" in response.content.decode()
    assert not SessionInvitation.objects.filter(tenant=tenant).exists()
    assert not OutboundEmail.objects.filter(tenant=tenant).exists()
    session.refresh_from_db()
    assert session.spots_taken == 0
