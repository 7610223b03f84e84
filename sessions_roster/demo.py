"""Demo sessions: open, full with a waitlist, not yet open and free; invitations in every state;
discount codes. Everything goes through the services, so the spot counts are the real ones."""

from datetime import datetime, time, timedelta
from decimal import Decimal

from django.utils import timezone

from .models import DiscountCode, DiscountKind, InvitationStatus, Session, SessionInvitation
from .services import checkout, discounts, invitations, sessions, waitlist
from .services.checkout import Attendee, CartLine


def _at(tenant, days: int, hour: int) -> datetime:
    day = timezone.localdate(timezone=tenant.zone) + timedelta(days=days)
    return datetime.combine(day, time(hour), tzinfo=tenant.zone)


def _session(tenant, title, *, days, hour, hours, capacity, price, location, description, opens_in_days=None):
    existing = Session.objects.filter(tenant=tenant, title=title).first()
    if existing:
        return existing, False
    session = sessions.session_create(
        tenant=tenant,
        title=title,
        description=description,
        location=location,
        starts_at=_at(tenant, days, hour),
        ends_at=_at(tenant, days, hour + hours),
        capacity=capacity,
        price=Decimal(price),
        registration_opens_at=_at(tenant, opens_in_days, 9) if opens_in_days else None,
        is_listed=True,
        offer_hold_hours=24,
    )
    return session, True


def _discount(tenant, code, kind, value, **fields) -> DiscountCode:
    existing = DiscountCode.objects.filter(tenant=tenant, code=code).first()
    return existing or discounts.discount_save(
        tenant=tenant, code=code, kind=kind, value=Decimal(value), is_active=True, **fields
    )


def _register(tenant, session, first, last, discount="", invitation=None):
    email = f"{first.lower()}.{last.lower()}@example.com"
    line = CartLine(session.pk, invitation_id=invitation.pk if invitation else None)
    return checkout.order_checkout(
        tenant=tenant,
        lines=[line],
        attendee=Attendee(first, last, email),
        discount_text=discount,
        proven_invitations=frozenset([invitation.pk]) if invitation else frozenset(),
    )


def seed(demo) -> None:
    tenant = demo.tenants["demo"]
    owner = demo.users["owner"]
    welcome = _discount(tenant, "WELCOME10", DiscountKind.PERCENT, "10")
    _discount(tenant, "FRIENDS5", DiscountKind.FIXED, "5.00", max_uses=20)
    _discount(
        tenant,
        "SUMMER25",
        DiscountKind.PERCENT,
        "25",
        valid_from=_at(tenant, -120, 9),
        valid_until=_at(tenant, -30, 9),
    )

    pottery, new = _session(
        tenant,
        "Pottery for beginners",
        days=7,
        hour=10,
        hours=2,
        capacity=8,
        price="40.00",
        location="Studio 2, Keizersgracht 12",
        description="Learn to shape your first bowl. Clay and tools included.",
    )
    if new:
        _register(tenant, pottery, "Lena", "Berg", discount="WELCOME10")
        paid = _register(tenant, pottery, "Tom", "Hendriks")
        checkout.order_mark_paid(tenant=tenant, order=paid, actor=owner)
        _register(tenant, pottery, "Eva", "Smit", discount="FRIENDS5")
        used = invitations.invitation_send(tenant=tenant, session=pottery, email="noah.visser@example.com", actor=owner)
        _register(tenant, pottery, "Noah", "Visser", invitation=used)
        invitations.invitation_send(
            tenant=tenant, session=pottery, email="mila.jansen@example.com", discount_code=welcome, actor=owner
        )
        invitations.invitation_send(
            tenant=tenant, session=pottery, email="sara.bakker@example.com", lock_to_email=True, actor=owner
        )
        cancelled = invitations.invitation_send(
            tenant=tenant, session=pottery, email="daan.mulder@example.com", actor=owner
        )
        invitations.invitation_cancel(tenant=tenant, invitation=cancelled, actor=owner)
        lapsing = invitations.invitation_send(
            tenant=tenant,
            session=pottery,
            email="julia.vos@example.com",
            expires_at=timezone.now() + timedelta(hours=1),
            actor=owner,
        )
        SessionInvitation.objects.filter(pk=lapsing.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
        invitations.invitation_expire(tenant=tenant, invitation_id=lapsing.pk)

    wheel, new = _session(
        tenant,
        "Wheel throwing masterclass",
        days=10,
        hour=18,
        hours=3,
        capacity=3,
        price="75.00",
        location="Studio 1",
        description="Small group, experienced potters. Bring an apron.",
    )
    if new:
        first = _register(tenant, wheel, "Anna", "de Groot")
        _register(tenant, wheel, "Bram", "Peters")
        _register(tenant, wheel, "Chris", "Dekker")
        for name in ("Fleur Willems", "Gijs Kok", "Hanna Meijer"):
            given, family = name.split(" ", 1)
            email = f"{given.lower()}.{family.lower()}@example.com"
            waitlist.waitlist_join(tenant=tenant, session=wheel, first_name=given, last_name=family, email=email)
        # Anna cancels: her spot is offered to Fleur, first on the waitlist, and held for her.
        checkout.registration_cancel(tenant=tenant, registration=first.registrations.get(), actor=owner)

    glazing, new = _session(
        tenant,
        "Glazing evening",
        days=21,
        hour=19,
        hours=2,
        capacity=10,
        price="30.00",
        location="Studio 2",
        description="Colour the pieces you made. Registration opens a week before.",
        opens_in_days=14,
    )
    if new:
        invitations.invitation_send(tenant=tenant, session=glazing, email="lena.berg@example.com", actor=owner)

    _session(
        tenant,
        "Studio open day",
        days=5,
        hour=13,
        hours=4,
        capacity=40,
        price="0.00",
        location="Keizersgracht 12",
        description="Walk in, meet the teachers, try the wheel. Free, but please register.",
    )
    pending = SessionInvitation.objects.filter(
        tenant=tenant, session=pottery, status=InvitationStatus.PENDING, lock_to_email=False
    ).first()
    demo.notes.append(
        "sessions: the public page is /t/demo/register/; the dashboard has Sessions (roster, waitlist, "
        f"discount codes){' — pending invitation for ' + pending.email if pending else ''}"
    )
