"""Demo invitation codes in every status, one of them used for a booking.

Codes are derived from a label, so running the seed again finds the same codes.
"""

import hashlib
from datetime import datetime, time, timedelta

from django.utils import timezone

from bookings.services import BookingDetails
from contracts.models import EventKind
from contracts.services import event_record

from . import codes
from .models import CodeSend, CodeStatus, InvitationCode
from .sending import SendRow, codes_send
from .services import code_redeem_and_book


def _text(prefix: str, label: str) -> str:
    digest = hashlib.sha256(label.encode()).digest()
    return prefix + "".join(codes.ALPHABET[b & 31] for b in digest[:10])


def _code(tenant, contract, price, label, **fields):
    code, created = InvitationCode.objects.get_or_create(
        tenant=tenant,
        code=_text(contract.invitation_prefix, label),
        defaults={"contract": contract, "price": price, **fields},
    )
    if created:
        event_record(
            tenant=tenant,
            contract=contract,
            kind=EventKind.CODES_GENERATED,
            code=code,
            summary=f"Demo code {code.shown} created ({label}).",
        )
    return code


def _next_weekday_at_ten(tenant):
    day = timezone.localdate(timezone=tenant.zone) + timedelta(days=1)
    while day.weekday() > 4:
        day += timedelta(days=1)
    return datetime.combine(day, time(10)).replace(tzinfo=tenant.zone)


def seed(demo) -> None:
    tenant = demo.tenants["demo"]
    wellbeing, pilot = demo.contracts["wellbeing"], demo.contracts["pilot"]
    std, ws, lead = demo.prices["STD"], demo.prices["WS"], demo.prices["LEAD"]
    now = timezone.now()
    for n in range(12):
        _code(tenant, wellbeing, std if n % 3 else ws, f"open-{n}", campaign="spring-mailing" if n < 6 else "")
    for person in demo.participants[:5]:
        _code(tenant, wellbeing, std, f"for-{person.email}", participant=person)
    _code(tenant, wellbeing, std, "void", status=CodeStatus.VOID)
    _code(tenant, wellbeing, std, "expired", valid_until=now - timedelta(days=30))
    _code(tenant, wellbeing, ws, "later", valid_from=now + timedelta(days=60))
    _code(tenant, wellbeing, ws, "team", max_uses=10, restricted_domain="northwind.example")
    _code(tenant, pilot, lead, "pilot-1")
    used = _code(tenant, wellbeing, std, "used", participant=demo.participants[5])
    if used.uses == 0:
        person = demo.participants[5]
        code_redeem_and_book(
            tenant=tenant,
            code=used,
            service=std.service,
            starts_at=_next_weekday_at_ten(tenant),
            details=BookingDetails(first_name=person.first_name, last_name=person.last_name, email=person.email),
        )
    if not CodeSend.objects.filter(tenant=tenant, code__contract=wellbeing).exists():
        # Three of the spring mailing's codes sent: two by email, one by SMS (analytics, code pages).
        codes_send(
            tenant=tenant,
            contract=wellbeing,
            sends=[
                SendRow(2, "email", "kim.de.vries@example.com", "Kim de Vries", 2),
                SendRow(3, "sms", "+31612345678", "Jan Bos", 1),
            ],
            code_ids=list(
                InvitationCode.objects.filter(tenant=tenant, contract=wellbeing, campaign="spring-mailing")
                .order_by("id")
                .values_list("id", flat=True)[:3]
            ),
            actor=None,
            key="demo-spring-mailing",
        )
    first = demo.participants[0]
    assigned = InvitationCode.objects.get(tenant=tenant, code=_text(wellbeing.invitation_prefix, f"for-{first.email}"))
    demo.notes.append(
        f"the booking page is /t/demo/book/ — code {assigned.shown} is {first.full_name}'s (details filled in)"
    )
