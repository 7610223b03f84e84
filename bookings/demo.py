"""Demo services with weekly times."""

from datetime import time
from decimal import Decimal

from .models import Service, WeeklyAvailability


def _service(tenant, name, minutes, price, description, windows):
    service, _ = Service.objects.update_or_create(
        tenant=tenant,
        name=name,
        defaults={"duration_minutes": minutes, "price": price, "description": description, "is_active": True},
    )
    for weekday, start, end, capacity in windows:
        WeeklyAvailability.objects.update_or_create(
            tenant=tenant,
            service=service,
            weekday=weekday,
            start_time=start,
            defaults={"end_time": end, "slot_capacity": capacity},
        )
    return service


def seed(demo) -> None:
    studio, harbour = demo.tenants["demo"], demo.tenants["harbour"]
    weekdays = [(day, time(9), time(12), 2) for day in range(5)]
    demo.services = {
        "intro": _service(studio, "Intro session", 60, Decimal("45.00"), "A one-to-one first session.", weekdays),
        "workshop": _service(
            studio,
            "Group workshop",
            90,
            Decimal("25.00"),
            "Hands-on workshop in a small group.",
            [(1, time(18), time(21), 10), (3, time(18), time(21), 10)],
        ),
    }
    _service(
        harbour,
        "Morning flow",
        60,
        Decimal("15.00"),
        "Gentle yoga to start the day.",
        [(d, time(7), time(9), 12) for d in range(6)],
    )
