"""The audit trail: what people do in the pages and what the services do lands in it, with who,
when and before/after; staff search it and download it; nothing of another tenant, no secrets."""

import csv
import io
from datetime import datetime, time, timedelta

import pytest
from django.apps import apps
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from audit.models import Action, AuditEvent
from audit.tracking import NOT_TRACKED, TRACKED
from bookings.services import BookingDetails
from invitations.models import InvitationCode
from invitations.services import code_redeem_and_book
from messaging.services import Recipient, emails_queue
from tenancy.models import Role
from tenancy.scoping import isolated_scope

from ..conftest import member, signed_in
from ..factories import ClientFactory, CodeFactory, PriceFactory, ServiceFactory, StaffInvitationFactory, open_every_day


def url(tenant, name, **kwargs):
    return reverse(name, kwargs={"tenant_slug": tenant.slug, **kwargs})


def events(tenant, **filters):
    return list(AuditEvent.objects.filter(tenant=tenant, **filters).order_by("id"))


def tomorrow_at_ten(tenant):
    day = timezone.localdate(timezone=tenant.zone) + timedelta(days=1)
    return datetime.combine(day, time(10)).replace(tzinfo=tenant.zone)


def test_every_tenant_owned_model_is_either_tracked_or_recorded_by_its_services():
    owned = {
        model._meta.label_lower
        for model in apps.get_models()
        if any(field.name == "tenant" for field in model._meta.fields)
    }
    owned.add("tenancy.tenant")
    unclassified = owned - set(TRACKED) - set(NOT_TRACKED)
    assert not unclassified, f"Say how the audit trail records these: {sorted(unclassified)}"
    assert not set(TRACKED) & set(NOT_TRACKED)
    assert all(reason.strip() for reason in NOT_TRACKED.values())


def test_a_client_card_edited_in_the_page_is_recorded_with_who_and_before_and_after(tenant, admin):
    client = ClientFactory(tenant=tenant, first_name="Ann", last_name="Lee", email="ann@example.com", phone="")
    http = signed_in(admin)
    response = http.post(
        url(tenant, "clients:edit", client_id=client.pk),
        {
            "first_name": "Anne",
            "last_name": "Lee",
            "email": "ann@example.com",
            "phone": "+44 20 7946 0000",
            "notes": "",
        },
    )
    assert response.status_code == 302

    [changed] = events(tenant, event="accounts.client.changed")
    assert changed.action == Action.CHANGE
    assert changed.actor_label == "admin@acme.example" and changed.actor_user == admin
    assert changed.changes["first_name"] == ["Ann", "Anne"]
    assert changed.changes["phone"] == ["", "+44 20 7946 0000"]
    assert "email" not in changed.changes  # unchanged fields are not listed
    assert changed.object_id == str(client.pk)

    page = http.get(url(tenant, "audit:detail", event_id=changed.pk))
    assert page.status_code == 200
    assert "Anne" in page.content.decode() and "Before and after" in page.content.decode()


def test_a_redemption_a_void_and_a_bulk_send_are_recorded_as_such(tenant, admin):
    service = open_every_day(ServiceFactory(tenant=tenant), capacity=5)
    price = PriceFactory(tenant=tenant, service=service)
    code = CodeFactory(tenant=tenant, price=price, contract=price.contract, max_uses=1)
    with isolated_scope(tenant=tenant):
        code_redeem_and_book(
            tenant=tenant,
            code=InvitationCode.objects.select_related("price", "contract").get(pk=code.pk),
            service=service,
            starts_at=tomorrow_at_ten(tenant),
            details=BookingDetails(first_name="Rae", last_name="Dee", email="rae@example.com"),
        )
    [redeemed] = events(tenant, event="code.redeemed")
    assert redeemed.action == Action.REDEEM
    assert redeemed.actor_label == "system"  # a public visitor, not a member
    assert redeemed.data["redemption"]["email"] == "rae@example.com"
    assert events(tenant, event="booking.created")[0].action == Action.CREATE

    other = CodeFactory(tenant=tenant, price=price, contract=price.contract)
    response = signed_in(admin).post(
        url(tenant, "invitations:code_void", contract_id=other.contract_id, code_id=other.pk)
    )
    assert response.status_code == 302
    [voided] = events(tenant, event="contract.code_voided")
    assert voided.action == Action.REVOKE and voided.actor_user == admin

    with isolated_scope(tenant=tenant), transaction.atomic():
        emails_queue(
            tenant=tenant,
            key="bookings.booking_confirmation",
            context={"name": "x", "service": "y", "when": "z", "duration": 30, "price": "0", "reference": "r"},
            recipients=[Recipient(f"p{n}@example.com", f"audit-bulk-{n}") for n in range(3)],
            created_by=admin,
        )
    [bulk] = events(tenant, event="emails.queued")
    assert bulk.action == Action.SEND and bulk.data["count"] == 3 and bulk.actor_user == admin


def test_a_rolled_back_change_leaves_no_entry(tenant):
    client = ClientFactory(tenant=tenant, first_name="Ann")
    with pytest.raises(RuntimeError), isolated_scope(tenant=tenant), transaction.atomic():
        client.first_name = "Changed"
        client.save()
        raise RuntimeError("the request failed")
    assert not events(tenant, event="accounts.client.changed")


def test_secrets_never_enter_the_trail(tenant, owner):
    invitation = StaffInvitationFactory(tenant=tenant)
    [created] = events(tenant, event="tenancy.staffinvitation.created")
    assert "token_hash" not in created.changes
    assert invitation.token_hash not in str(created.changes) + str(created.data)


def test_search_filters_and_csv_export(tenant, admin):
    ClientFactory(tenant=tenant, first_name="Zelda", last_name="Quist")
    ClientFactory(tenant=tenant, first_name="Bob", last_name="Other")
    http = signed_in(admin)

    page = http.get(url(tenant, "audit:list"), {"q": "zelda"}).content.decode()
    assert "Zelda Quist" in page and "Bob Other" not in page

    assert "Zelda" not in http.get(url(tenant, "audit:list"), {"action": "delete"}).content.decode()
    future = (timezone.localdate() + timedelta(days=3)).isoformat()
    assert "No entries match" in http.get(url(tenant, "audit:list"), {"start": future}).content.decode()

    response = http.get(url(tenant, "audit:export"), {"q": "quist"})
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert [row["action"] for row in rows] == ["Created"]
    assert "Zelda" in rows[0]["summary"] and rows[0]["actor"] == "system"


@pytest.mark.parametrize(
    "query",
    [
        {"start": "2026-13-45"},
        {"start": "2026-05-02", "end": "2026-05-01"},
        {"action": "emperor"},
        {"q": "\x00<script>" + "x" * 500},
        {"object_type": "'; drop table", "object_id": "../../"},
        {"after": "!!!"},
        {"start": "0001-01-01"},
    ],
)
def test_bad_filters_give_a_message_never_an_error(tenant, admin, query):
    ClientFactory(tenant=tenant)
    response = signed_in(admin).get(url(tenant, "audit:list"), query)
    assert response.status_code == 200
    assert signed_in(admin).get(url(tenant, "audit:export"), query).status_code == 200


def test_only_owners_and_admins_read_it_and_never_another_tenants_entries(tenant, other_tenant, admin):
    ClientFactory(tenant=other_tenant, first_name="Foreign")
    [foreign] = events(other_tenant, event="accounts.client.created")
    http = signed_in(admin)
    assert "Foreign" not in http.get(url(tenant, "audit:list")).content.decode()
    assert "Foreign" not in b"".join(http.get(url(tenant, "audit:export")).streaming_content).decode()
    assert http.get(url(tenant, "audit:detail", event_id=foreign.pk)).status_code == 404

    staff = member(tenant, Role.STAFF, email="staff2@acme.example")
    assert signed_in(staff).get(url(tenant, "audit:list")).status_code == 403


def test_an_empty_trail_says_so(tenant, admin):
    AuditEvent.objects.filter(tenant=tenant).delete()
    assert "Nothing recorded yet" in signed_in(admin).get(url(tenant, "audit:list")).content.decode()
