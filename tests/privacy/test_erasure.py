"""Erasing one person's data: every kind of row anonymised, nobody else touched, counts kept."""

import hashlib

import pytest

from accounts.models import Client, User
from audit.models import AuditEvent
from bookings.models import Booking
from contracts.models import ContractEvent, Organisation, Participant
from imports.models import ImportJob
from invitations.models import CodeSend, Redemption
from messaging.models import OutboundEmail
from privacy.erasure import (
    EMAIL_INVALID,
    NOTHING_LEFT,
    STAFF_REFUSED,
    ErasureRefused,
    erasure_plan,
    person_erase,
)
from privacy.models import Erasure
from regcodes.models import LearnerInvite
from sessions_roster.models import Order, Registration, SessionInvitation, WaitlistEntry
from tenancy.models import StaffInvitation
from tenancy.urlresolvers import tenant_reverse
from tests.factories import (
    BookingFactory,
    ClientFactory,
    CodeFactory,
    ContractFactory,
    ImportJobFactory,
    OrganisationFactory,
    OutboundEmailFactory,
    ParticipantFactory,
    ProductSessionFactory,
    SessionFactory,
    UserFactory,
    invitation_with_token,
    seat_invite,
    seat_order,
    session_invite,
    session_register,
    waitlist_add,
)
from tests.webhooks.factories import DeliveryFactory
from webhooks.models import WebhookDelivery

JANE = "jane.doe@example.com"
BOB = "bob@example.com"


def _person(tenant, email, first, last, *, buyer, mobile):
    """One person with a row of every kind in ``tenant``; ``mobile`` like +31 6 1234 5678."""
    e164 = mobile.replace(" ", "")
    client = ClientFactory(tenant=tenant, email=email, first_name=first, last_name=last, phone=mobile)
    booking = BookingFactory(tenant=tenant, email=email, first_name=first, last_name=last, phone=mobile)
    code = CodeFactory(tenant=tenant, uses=1, max_uses=2)
    Redemption.objects.create(tenant=tenant, code=code, booking=booking, email=email)
    CodeSend.objects.create(tenant=tenant, code=code, channel="email", recipient=email, name=f"{first} {last}")
    CodeSend.objects.create(tenant=tenant, code=code, channel="sms", recipient=e164, name=first)
    OutboundEmailFactory(tenant=tenant, channel="sms", to_email="", to_phone=e164, body_text=f"{first}, your code")
    ParticipantFactory(tenant=tenant, email=email.upper(), first_name=first, last_name=last)
    session_register(SessionFactory(tenant=tenant), email, first_name=first, last_name=last)
    session_invite(SessionFactory(tenant=tenant), email=email)
    full = SessionFactory(tenant=tenant, capacity=1)
    session_register(full, f"other-{email}")
    waitlist_add(full, email=email, first_name=first, last_name=last)
    seat_invite(seat_order(ProductSessionFactory(tenant=tenant), buyer), email=email)
    OutboundEmailFactory(tenant=tenant, to_email=email, subject=f"Hello {first}", body_text=f"Dear {first} {last}")
    OutboundEmailFactory(tenant=tenant, to_email="desk@studio.example", body_text=f"New booking by {email}")
    DeliveryFactory(tenant=tenant, payload={"booking": {"email": email, "first_name": first, "phone": "+3161"}})
    contract = ContractFactory(tenant=tenant)
    ContractEvent.objects.create(
        tenant=tenant, contract=contract, kind="participant_added", summary=f"{email} added", data={"email": email}
    )
    ImportJobFactory(tenant=tenant, content=f"first_name,last_name,email\n{first},{last},{email.upper()}\n".encode())
    OrganisationFactory(tenant=tenant, contact_name=f"{first} {last}", email=email)
    invitation_with_token(tenant=tenant, email=email)
    return client, code


@pytest.fixture
def people(tenant, other_tenant, owner):
    buyer = UserFactory(email="buyer@example.com")
    jane_client, jane_code = _person(tenant, JANE, "Jane", "Doe", buyer=buyer, mobile="+31 6 1234 5678")
    bob_client, _ = _person(tenant, BOB, "Bob", "Stone", buyer=buyer, mobile="+44 7700 900123")
    elsewhere, _ = _person(other_tenant, JANE, "Jane", "Doe", buyer=buyer, mobile="+31 6 1234 5678")
    return {"jane": jane_client, "jane_code": jane_code, "bob": bob_client, "elsewhere": elsewhere}


def _rows_holding(tenant, email):
    return {
        "clients": Client.objects.filter(tenant=tenant, email__iexact=email).count(),
        "bookings": Booking.objects.filter(tenant=tenant, email__iexact=email).count(),
        "participants": Participant.objects.filter(tenant=tenant, email__iexact=email).count(),
        "orders": Order.objects.filter(tenant=tenant, email__iexact=email).count(),
        "registrations": Registration.objects.filter(tenant=tenant, email__iexact=email).count(),
        "session_invitations": SessionInvitation.objects.filter(tenant=tenant, email__iexact=email).count(),
        "waitlist": WaitlistEntry.objects.filter(tenant=tenant, email__iexact=email).count(),
        "learner_invites": LearnerInvite.objects.filter(tenant=tenant, email__iexact=email).count(),
        "redemptions": Redemption.objects.filter(tenant=tenant, email__iexact=email).count(),
        "code_sends": CodeSend.objects.filter(tenant=tenant, recipient__iexact=email).count(),
        "outbox": OutboundEmail.objects.filter(tenant=tenant, to_email__iexact=email).count(),
        "outbox_mentions": OutboundEmail.objects.filter(tenant=tenant, body_text__icontains=email).count(),
        "organisations": Organisation.objects.filter(tenant=tenant, email__iexact=email).count(),
        "staff_invitations": StaffInvitation.objects.filter(tenant=tenant, email__iexact=email).count(),
        "webhooks": sum(email in str(d.payload) for d in WebhookDelivery.objects.filter(tenant=tenant)),
        "contract_events": sum(email in (e.summary + str(e.data)) for e in ContractEvent.objects.filter(tenant=tenant)),
        "import_files": sum(
            email.encode() in bytes(j.content).lower() for j in ImportJob.objects.filter(tenant=tenant)
        ),
    }


def _audit_mentions(tenant, email):
    return [
        event
        for event in AuditEvent.objects.filter(tenant=tenant)
        if email
        in (str(event.changes) + str(event.data) + event.summary + event.object_repr + event.actor_label).lower()
    ]


def test_every_kind_of_row_is_anonymised_and_nobody_else_is_touched(tenant, other_tenant, owner, people):
    before_jane = _rows_holding(tenant, JANE)
    assert all(before_jane.values()), before_jane
    assert _audit_mentions(tenant, JANE)
    bob_before = _rows_holding(tenant, BOB)
    elsewhere_before = _rows_holding(other_tenant, JANE)
    counts_before = (Booking.objects.count(), Redemption.objects.count(), CodeSend.objects.count())

    erasure = person_erase(tenant=tenant, email="  Jane.Doe@Example.com ", actor=owner)

    assert not any(_rows_holding(tenant, JANE).values())
    assert _audit_mentions(tenant, JANE) == []
    placeholder = erasure.placeholder_email
    assert placeholder == f"erased-{erasure.pk}@erased.invalid"
    after = _rows_holding(tenant, placeholder)
    per_address = set(before_jane) - {"outbox_mentions", "code_sends"}
    assert after["code_sends"] == before_jane["code_sends"] + 1  # the SMS send too
    assert {k: after[k] for k in per_address} == {k: before_jane[k] for k in per_address}
    # Jane's SMS and SMS code send are anonymised; Bob's stay.
    assert OutboundEmail.objects.filter(tenant=tenant, to_phone="+31612345678").count() == 0
    assert OutboundEmail.objects.filter(tenant=tenant, to_phone="+447700900123").count() == 1
    assert CodeSend.objects.filter(tenant=tenant, recipient="+31612345678").count() == 0
    assert CodeSend.objects.filter(tenant=tenant, recipient="+447700900123").count() == 1
    delivery = next(d for d in WebhookDelivery.objects.filter(tenant=tenant) if placeholder in str(d.payload))
    assert delivery.payload["booking"]["first_name"] == "Erased" and "+3161" not in str(delivery.payload)
    assert StaffInvitation.objects.get(tenant=tenant, email=placeholder).revoked_at is not None
    card = Client.objects.get(pk=people["jane"].pk)
    assert (card.first_name, card.last_name, card.phone) == ("Erased", "Erased", "")
    for mail in OutboundEmail.objects.filter(tenant=tenant, to_email=placeholder):
        assert "Jane" not in mail.subject + mail.body_text + mail.body_html and mail.private_values == {}
        assert mail.status != "queued"
    # Others untouched, counts kept.
    assert _rows_holding(tenant, BOB) == bob_before
    assert _rows_holding(other_tenant, JANE) == elsewhere_before
    assert Client.objects.get(pk=people["elsewhere"].pk).first_name == "Jane"
    assert (Booking.objects.count(), Redemption.objects.count(), CodeSend.objects.count()) == counts_before
    people["jane_code"].refresh_from_db()
    assert people["jane_code"].uses == 1
    # Audited with a hash of the address, never the address.
    event = AuditEvent.objects.get(tenant=tenant, event="person.erased")
    assert event.data["email_sha256"] == hashlib.sha256(JANE.encode()).hexdigest()
    assert JANE not in (str(event.data) + event.summary).lower()
    assert "client cards" in event.summary
    assert erasure.counts["clients"] == 1 and erasure.counts["bookings"] == 1
    assert erasure.counts["import_files"] == 1 and erasure.counts["webhook_deliveries"] == 1


def test_a_second_erasure_says_nothing_is_left(tenant, owner, people):
    person_erase(tenant=tenant, email=JANE, actor=owner)
    with pytest.raises(ErasureRefused) as refused:
        person_erase(tenant=tenant, email=JANE, actor=owner)
    assert str(refused.value) == NOTHING_LEFT.format(email=JANE)
    assert Erasure.objects.filter(tenant=tenant).count() == 1


def test_a_login_of_this_person_alone_is_deactivated(tenant, owner):
    user = UserFactory(email=JANE)
    ClientFactory(tenant=tenant, email=JANE, user=user)
    assert erasure_plan(tenant=tenant, email=JANE).login == "deactivate"
    erasure = person_erase(tenant=tenant, email=JANE, actor=owner)
    user.refresh_from_db()
    assert not user.is_active and user.email == erasure.placeholder_email and not user.has_usable_password()
    assert erasure.login_deactivated
    assert User.objects.filter(email__iexact=JANE).count() == 0


def test_a_login_used_in_another_workspace_stays(tenant, other_tenant, owner):
    user = UserFactory(email=JANE)
    ClientFactory(tenant=tenant, email=JANE, user=user)
    ClientFactory(tenant=other_tenant, email=JANE, user=user)
    person_erase(tenant=tenant, email=JANE, actor=owner)
    user.refresh_from_db()
    assert user.is_active and user.email == JANE
    assert Client.objects.get(tenant=other_tenant).email == JANE


def test_staff_cannot_be_erased(tenant, owner, staff):
    ClientFactory(tenant=tenant, email=staff.email)
    with pytest.raises(ErasureRefused) as refused:
        person_erase(tenant=tenant, email=staff.email.upper(), actor=owner)
    assert str(refused.value) == STAFF_REFUSED.format(email=staff.email)
    assert Client.objects.filter(tenant=tenant, email=staff.email).exists()


@pytest.mark.parametrize(
    "typed", ["", "   ", "not-an-address", "a@b", "x" * 300 + "@example.com", "erased-3@erased.invalid"]
)
def test_bad_addresses_are_refused_on_the_page(owner_http, tenant, typed):
    url = tenant_reverse(tenant, "privacy:erase")
    response = owner_http.post(url, {"email": typed, "confirm": "yes"})
    assert response.status_code == 200
    assert b"field-error" in response.content or b"errorlist" in response.content
    assert not Erasure.objects.exists()


def test_the_page_asks_first_then_erases(admin_http, tenant, people):
    url = tenant_reverse(tenant, "privacy:erase")
    asked = admin_http.post(url, {"email": JANE})
    assert asked.status_code == 200
    assert b"Erase this person" in asked.content and b"1 client cards" in asked.content
    assert Client.objects.filter(tenant=tenant, email=JANE).exists()  # nothing changed yet
    done = admin_http.post(url, {"email": JANE, "confirm": "yes"}, follow=True)
    assert b"Erased:" in done.content
    assert not Client.objects.filter(tenant=tenant, email=JANE).exists()
    again = admin_http.post(url, {"email": JANE})
    assert b"any more" in again.content


def test_staff_role_cannot_open_the_page(staff_http, tenant):
    assert staff_http.get(tenant_reverse(tenant, "privacy:erase")).status_code == 403


def test_tampered_form_fields_never_give_a_500(owner_http, tenant):
    url = tenant_reverse(tenant, "privacy:erase")
    for data in ({}, {"email": ["a@example.com", "b@example.com"]}, {"email": "\x00@example.com"}, {"confirm": "yes"}):
        assert owner_http.post(url, data).status_code == 200
    assert EMAIL_INVALID  # the message the page shows for an unusable address
