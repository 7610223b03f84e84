"""Reads of services, slots and bookings. Every function takes the tenant explicitly.

Slots are computed from weekly availability in the tenant's time zone; a ``Slot`` row exists only
once someone booked that time, and then holds the seat count.
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from datetime import timezone as dt_timezone

from django.db.models import QuerySet
from django.http import Http404

from tenancy.models import Tenant

from .models import Booking, Service, Slot, WeeklyAvailability


@dataclass(frozen=True)
class OfferedSlot:
    starts_at: datetime
    ends_at: datetime
    capacity: int
    booked: int

    @property
    def remaining(self) -> int:
        return max(self.capacity - self.booked, 0)


def services_for_tenant(*, tenant: Tenant, active_only: bool = False) -> QuerySet[Service]:
    services = Service.objects.filter(tenant=tenant)
    return services.filter(is_active=True) if active_only else services


def service_get(*, tenant: Tenant, service_id: int) -> Service:
    service = Service.objects.filter(tenant=tenant, pk=service_id).first()
    if service is None:
        raise Http404("No such service.")
    return service


def availability_for(*, tenant: Tenant, service: Service) -> list[WeeklyAvailability]:
    return list(WeeklyAvailability.objects.filter(tenant=tenant, service=service))


def availability_get(*, tenant: Tenant, service: Service, availability_id: int) -> WeeklyAvailability:
    row = WeeklyAvailability.objects.filter(tenant=tenant, service=service, pk=availability_id).first()
    if row is None:
        raise Http404("No such availability.")
    return row


def _local_starts(day: date, window: WeeklyAvailability, minutes: int, zone):
    step = timedelta(minutes=minutes)
    moment = datetime.combine(day, window.start_time)
    end = datetime.combine(day, window.end_time)
    while moment + step <= end:
        local = moment.replace(tzinfo=zone)
        # A wall-clock time skipped by a daylight-saving jump does not exist: no slot then.
        if local.astimezone(dt_timezone.utc).astimezone(zone).replace(tzinfo=None) == moment:
            yield local
        moment += step


def offered_slots(
    *,
    tenant: Tenant,
    service: Service,
    first_day: date,
    days: int,
    not_before: datetime | None = None,
    count_taken: bool = True,
) -> list[OfferedSlot]:
    """Every slot of ``service`` on ``days`` days from ``first_day``, with the seats already taken
    (``count_taken=False``: the times and capacities only, ``booked`` 0, one query less)."""
    zone = tenant.zone
    minutes = service.duration_minutes
    windows = availability_for(tenant=tenant, service=service)
    offers: dict[datetime, OfferedSlot] = {}
    for offset in range(days):
        day = first_day + timedelta(days=offset)
        for window in windows:
            if window.weekday != day.weekday():
                continue
            for start in _local_starts(day, window, minutes, zone):
                known = offers.get(start)
                capacity = max(window.slot_capacity, known.capacity if known else 0)
                offers[start] = OfferedSlot(start, start + timedelta(minutes=minutes), capacity, 0)
    if not offers:
        return []
    if count_taken:
        first, last = min(offers), max(offers)
        # The capacity is always the window's as configured now; a slot row only adds the seats taken.
        taken = Slot.objects.filter(tenant=tenant, service=service, starts_at__range=(first, last))
        for starts_at, booked in taken.values_list("starts_at", "booked"):
            local = starts_at.astimezone(zone)
            if local in offers:
                offers[local] = OfferedSlot(local, offers[local].ends_at, offers[local].capacity, booked)
    result = sorted(offers.values(), key=lambda offer: offer.starts_at)
    if not_before is not None:
        result = [offer for offer in result if offer.starts_at > not_before]
    return result


def slot_offer(
    *, tenant: Tenant, service: Service, starts_at: datetime, count_taken: bool = True
) -> OfferedSlot | None:
    """The offered slot starting exactly at ``starts_at``, or None if the service has none then."""
    local = starts_at.astimezone(tenant.zone)
    days = {"first_day": local.date(), "days": 1, "count_taken": count_taken}
    for offer in offered_slots(tenant=tenant, service=service, **days):
        if offer.starts_at == local:
            return offer
    return None


def bookings_between(*, tenant: Tenant, start: datetime, end: datetime, service: Service | None = None):
    bookings = Booking.objects.filter(tenant=tenant, starts_at__gte=start, starts_at__lt=end).select_related("service")
    if service is not None:
        bookings = bookings.filter(service=service)
    return bookings.order_by("starts_at", "last_name")


def booking_get(*, tenant: Tenant, booking_id: int) -> Booking:
    booking = Booking.objects.filter(tenant=tenant, pk=booking_id).select_related("service", "client").first()
    if booking is None:
        raise Http404("No such booking.")
    return booking


def booking_by_reference(*, tenant: Tenant, reference: str) -> Booking:
    if "\x00" in reference:  # from a URL; PostgreSQL refuses to compare text holding NUL, and no reference holds one
        raise Http404("No such booking.")
    booking = Booking.objects.filter(tenant=tenant, reference=reference).select_related("service").first()
    if booking is None:
        raise Http404("No such booking.")
    return booking


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def local_midnight(day: date, zone) -> datetime:
    return datetime.combine(day, time.min).replace(tzinfo=zone)
