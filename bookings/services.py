"""Writes of bookings: services and their availability, taking and giving back seats, bookings.

How a slot never holds more people than its capacity is written down in docs/concurrency.md.
"""

import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Callable

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from accounts.services import client_for_booking
from messaging.services import email_queue
from tenancy.events import publish
from tenancy.localization import money, when
from tenancy.models import Tenant

from .models import Booking, BookingStatus, Service, Slot, WeeklyAvailability
from .selectors import slot_offer

SLOT_NOT_OFFERED = gettext_noop("That time is not offered for this service. Pick one of the times listed.")
SLOT_FULL = gettext_noop("That time has just been fully booked. Please pick another time.")
SLOT_IN_PAST = gettext_noop("That time has already started. Please pick a later time.")
SLOT_TOO_FAR = gettext_noop("That time is too far ahead to book yet. Please pick an earlier time.")
ALREADY_CANCELLED = gettext_noop("This booking is already cancelled.")
SERVICE_NAME_TAKEN = gettext_noop("Another service already has this name.")


class BookingError(Exception):
    """A booking that cannot be made; ``str(exc)`` is the message for the page."""


@dataclass(frozen=True)
class BookingDetails:
    first_name: str
    last_name: str
    email: str
    phone: str = ""
    date_of_birth: date | None = None
    notes: str = ""


# Functions ``(tenant=, booking=, actor=)`` run inside the cancelling transaction, before the seat is
# given back: an app that attached something to a booking (a code use, a credit) returns it there.
cancellation_handlers: list[Callable[..., None]] = []
# Functions ``(tenant=, booking=) -> [(label, text), …]`` adding lines to the staff booking page.
detail_extras: list[Callable[..., list[tuple[str, str]]]] = []


def service_save(*, tenant: Tenant, service: Service | None = None, **fields) -> Service:
    service = service or Service(tenant=tenant)
    for name, value in fields.items():
        setattr(service, name, value)
    if Service.objects.filter(tenant=tenant, name__iexact=service.name).exclude(pk=service.pk).exists():
        raise ValidationError({"name": _(SERVICE_NAME_TAKEN)})
    try:
        with transaction.atomic():
            service.save()
    except IntegrityError:
        raise ValidationError({"name": _(SERVICE_NAME_TAKEN)}) from None
    return service


def availability_add(*, tenant: Tenant, service: Service, weekday: int, start_time, end_time, slot_capacity: int):
    return WeeklyAvailability.objects.create(
        tenant=tenant,
        service=service,
        weekday=weekday,
        start_time=start_time,
        end_time=end_time,
        slot_capacity=slot_capacity,
    )


def availability_delete(*, tenant: Tenant, availability: WeeklyAvailability) -> None:
    """Existing bookings stay; the times are no longer offered."""
    WeeklyAvailability.objects.filter(tenant=tenant, pk=availability.pk).delete()


def in_horizon(moment: datetime) -> bool:
    """Bookings are taken up to ``BOOKING_HORIZON_DAYS`` ahead."""
    return moment <= timezone.now() + timedelta(days=settings.BOOKING_HORIZON_DAYS)


def slot_take_seat(*, tenant: Tenant, service: Service, starts_at: datetime) -> Slot:
    """Take one seat in the slot, or raise ``BookingError``. Call inside a transaction.

    One statement (docs/concurrency.md): the first booking of a time inserts its slot row with the
    seat taken; later ones update the row only ``WHERE booked < capacity``, the capacity being the
    weekly window's as staff set it now (raised or lowered since the row was made), so two people
    racing for the last seat cannot both get it, and no row back means the slot is full.
    """
    if not in_horizon(starts_at):
        raise BookingError(_(SLOT_TOO_FAR))
    offer = slot_offer(tenant=tenant, service=service, starts_at=starts_at, count_taken=False)
    if offer is None:
        raise BookingError(_(SLOT_NOT_OFFERED))
    if offer.starts_at <= timezone.now():
        raise BookingError(_(SLOT_IN_PAST))
    if offer.capacity < 1:
        raise BookingError(_(SLOT_FULL))
    with connection.cursor() as cursor:
        moments = [connection.ops.adapt_datetimefield_value(m) for m in (offer.starts_at, offer.ends_at)]
        cursor.execute(_TAKE_SEAT, [tenant.pk, service.pk, *moments, offer.capacity])
        row = cursor.fetchone()
    if row is None:
        raise BookingError(_(SLOT_FULL))
    values = {
        "id": row[0],
        "tenant_id": tenant.pk,
        "service_id": service.pk,
        "starts_at": offer.starts_at,
        "ends_at": offer.ends_at,
        "capacity": offer.capacity,
        "booked": row[1],
    }
    names = [field.attname for field in Slot._meta.concrete_fields]
    return Slot.from_db(connection.alias, names, [values[name] for name in names])


_TAKE_SEAT = f"""
    INSERT INTO {Slot._meta.db_table} AS slot (tenant_id, service_id, starts_at, ends_at, capacity, booked)
    VALUES (%s, %s, %s, %s, %s, 1)
    ON CONFLICT (tenant_id, service_id, starts_at) DO UPDATE
        SET capacity = EXCLUDED.capacity, booked = slot.booked + 1
        WHERE slot.booked < EXCLUDED.capacity
    RETURNING id, booked
"""


def slot_give_back_seat(*, tenant: Tenant, slot: Slot) -> None:
    Slot.objects.filter(tenant=tenant, pk=slot.pk, booked__gt=0).update(booked=F("booked") - 1)


def booking_create(
    *,
    tenant: Tenant,
    service: Service,
    starts_at: datetime,
    details: BookingDetails,
    price_amount: Decimal,
    client=None,
) -> Booking:
    """Take a seat and record the booking, with its confirmation email. Call inside the caller's
    transaction, after anything that must be locked first (a code: see docs/concurrency.md).
    ``client``: the card the booking is for when the caller knows it (else found by email)."""
    price_amount = Decimal(price_amount)
    slot = slot_take_seat(tenant=tenant, service=service, starts_at=starts_at)
    client = client or client_for_booking(
        tenant=tenant,
        email=details.email,
        first_name=details.first_name,
        last_name=details.last_name,
        phone=details.phone,
    )
    booking = Booking.objects.create(
        tenant=tenant,
        reference=secrets.token_urlsafe(12),
        service=service,
        slot=slot,
        starts_at=slot.starts_at,
        ends_at=slot.ends_at,
        client=client,
        first_name=details.first_name,
        last_name=details.last_name,
        email=details.email,
        phone=details.phone,
        date_of_birth=details.date_of_birth,
        notes=details.notes,
        price_amount=price_amount,
    )
    publish(
        tenant=tenant,
        name="booking.created",
        obj=booking,
        summary=f"Booking {booking.reference}: {service.name} for {booking.first_name} {booking.last_name}.",
        payload={"booking": booking_facts(booking)},
    )
    if not booking.email:  # a card without an address: nobody to tell
        return booking
    email_queue(
        tenant=tenant,
        to=booking.email,
        key="bookings.booking_confirmation",
        context={
            "name": booking.first_name,
            "service": service.name,
            "when": f"{when(booking.starts_at, tenant.zone)} ({tenant.time_zone})",
            "duration": service.duration_minutes,
            "price": money(price_amount, tenant.currency),
            "reference": booking.reference,
        },
        idempotency_key=f"booking-confirmation:{booking.pk}",
    )
    return booking


def booking_facts(booking: Booking) -> dict:
    """A booking as webhooks and the audit trail tell it."""
    return {
        "reference": booking.reference,
        "service": booking.service.name,
        "starts_at": booking.starts_at,
        "ends_at": booking.ends_at,
        "first_name": booking.first_name,
        "last_name": booking.last_name,
        "email": booking.email,
        "price_amount": booking.price_amount,
        "client_id": booking.client_id,
    }


def booking_cancel(*, tenant: Tenant, booking: Booking, actor) -> Booking:
    with transaction.atomic():
        booking = Booking.objects.select_for_update().get(tenant=tenant, pk=booking.pk)
        if booking.status == BookingStatus.CANCELLED:
            raise ValidationError(_(ALREADY_CANCELLED))
        for handler in cancellation_handlers:
            handler(tenant=tenant, booking=booking, actor=actor)
        slot_give_back_seat(tenant=tenant, slot=booking.slot)
        booking.status = BookingStatus.CANCELLED
        booking.cancelled_at = timezone.now()
        booking.cancelled_by = actor
        booking.save(update_fields=["status", "cancelled_at", "cancelled_by"])
        publish(
            tenant=tenant,
            name="booking.cancelled",
            obj=booking,
            actor=actor,
            summary=f"Booking {booking.reference} cancelled.",
            payload={"booking": booking_facts(booking)},
        )
    return booking
