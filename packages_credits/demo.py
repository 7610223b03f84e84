"""Demo packages: two on sale; the demo customer's card holds one partly used (a booking paid with a
credit), one expired; another client holds one unpaid."""

from datetime import datetime, time, timedelta
from decimal import Decimal

from django.utils import timezone

from accounts.models import User
from accounts.services import client_for_booking

from . import services
from .models import ClientPackage, Package, PaymentMethod


def _package(tenant, name, price, items, **fields):
    existing = Package.objects.filter(tenant=tenant, name=name).first()
    return existing or services.package_save(tenant=tenant, name=name, price=Decimal(price), items=items, **fields)


def _next_weekday_at_ten(tenant):
    day = timezone.localdate(timezone=tenant.zone) + timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return datetime.combine(day, time(10), tzinfo=tenant.zone)


def seed(demo) -> None:
    tenant = demo.tenants["demo"]
    intro, workshop = demo.services["intro"], demo.services["workshop"]
    five = _package(tenant, "Five intro sessions", "200.00", [(intro, 5)], validity_days=90)
    pool = _package(
        tenant,
        "Studio pass",
        "240.00",
        [(intro, 1), (workshop, 1)],
        shared_pool=True,
        pool_sessions=8,
        valid_until=timezone.localdate(timezone=tenant.zone) + timedelta(days=180),
    )
    owner = demo.users["owner"]
    customer = User.objects.find_by_email("customer@demo.tessera.test")
    casey = client_for_booking(tenant=tenant, email=customer.email, first_name="Casey", last_name="Customer")
    mara = client_for_booking(tenant=tenant, email="mara.jong@example.com", first_name="Mara", last_name="de Jong")
    demo.notes.append(
        "packages: Clients → Casey Customer → Payments · Packages; Casey books with a credit in My Account"
    )
    if ClientPackage.objects.filter(tenant=tenant, client__in=[casey, mara]).exists():
        return
    services.client_package_add(
        tenant=tenant,
        client=casey,
        package=five,
        price=Decimal("180.00"),  # a loyal client's price
        expires_on=services.default_expiry(tenant=tenant, package=five),
        payment=services.Payment(PaymentMethod.BANK_TRANSFER, Decimal("180.00"), "NL-2026-114"),
        actor=owner,
    )
    services.booking_with_credit(
        tenant=tenant,
        client=casey,
        service=intro,
        starts_at=_next_weekday_at_ten(tenant),
    )
    old = services.client_package_add(
        tenant=tenant,
        client=casey,
        package=pool,
        price=pool.price,
        expires_on=timezone.localdate(timezone=tenant.zone),
        payment=services.Payment(PaymentMethod.CASH, pool.price),
        actor=owner,
    )
    ClientPackage.objects.filter(pk=old.pk).update(
        expires_on=timezone.localdate(timezone=tenant.zone) - timedelta(days=10)
    )
    services.client_package_add(
        tenant=tenant,
        client=mara,
        package=pool,
        price=pool.price,
        expires_on=services.default_expiry(tenant=tenant, package=pool),
        actor=owner,
    )
