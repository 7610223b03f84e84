"""Writes of prepaid packages: definitions, a client's packages and their payments, cancelling
them, and taking and giving back credits when bookings are made and cancelled.

A credit is never used twice: taking one is ``UPDATE … SET used = used + 1 WHERE used < total``
inside the booking's transaction; giving one back is the same in reverse, once per booking (the
``CreditUse`` row is marked returned under a lock). See docs/concurrency.md.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import dateformat, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from accounts.models import Client
from bookings.models import Booking, Service
from bookings.services import BookingDetails, booking_create
from messaging.services import email_queue
from tenancy.events import publish
from tenancy.localization import money
from tenancy.models import Tenant
from tenancy.urlresolvers import absolute_tenant_url

from .models import (
    ClientPackage,
    ClientPackageStatus,
    Credit,
    CreditUse,
    Package,
    PackageItem,
    PackagePayment,
)

PACKAGE_NAME_TAKEN = gettext_noop("Another package already has this name.")
ONE_VALIDITY = gettext_noop("Give either a number of days or a fixed end date (one of the two).")
POOL_NEEDS_SESSIONS = gettext_noop("A shared pool needs its number of sessions.")
NEEDS_A_SERVICE = gettext_noop("Pick at least one service the package covers.")
PACKAGE_ARCHIVED = gettext_noop("This package is archived and can no longer be added.")
EXPIRY_IN_PAST = gettext_noop("The expiry cannot be in the past.")
ALREADY_CANCELLED = gettext_noop("This package is already cancelled.")
ADDRESS_UNPROVEN = gettext_noop(
    "Confirm your email address first: use the link in the email we sent you to choose your password."
)
ADD_GUARD_SECONDS = 10
ADDED_A_MOMENT_AGO = gettext_noop("This package was added to this client a moment ago; it was not added twice.")
NOT_HERE = gettext_noop("This package or client is not in this workspace.")
MORE_THAN_PRICE = gettext_noop("That is more than the price.")
PAYMENT_NOT_POSITIVE = gettext_noop("Enter an amount above zero.")
NOTHING_DUE = gettext_noop("Nothing is due on this package.")
MORE_THAN_DUE = gettext_noop("That is more than the {balance} still due.")
NO_CREDIT = gettext_noop("No package credit applies to this booking.")
WHY_EXPIRED = gettext_noop("Your package “{name}” expired on {day}.")
WHY_CANCELLED = gettext_noop("Your package “{name}” was cancelled.")
WHY_USED_UP = gettext_noop("All sessions of your package “{name}” have been used.")
WHY_UNPAID = gettext_noop("Your package “{name}” starts when its payment has been received.")
WHY_NOT_COVERED = gettext_noop("Your package “{name}” does not cover this service.")


@dataclass(frozen=True)
class Payment:
    method: str
    amount: Decimal
    reference: str = ""


def _today(tenant: Tenant) -> date:
    return timezone.localdate(timezone=tenant.zone)


# Definitions


def package_save(
    *, tenant: Tenant, package: Package | None = None, items: list[tuple[Service, int]], **fields
) -> Package:
    """Save a package and the services it covers (``items``: service and its number of sessions)."""
    package = package or Package(tenant=tenant)
    for name, value in fields.items():
        setattr(package, name, value)
    items = [(service, sessions) for service, sessions in items if service.tenant_id == tenant.pk]
    errors = {}
    if bool(package.validity_days) == bool(package.valid_until):
        errors["validity_days"] = _(ONE_VALIDITY)
    if package.shared_pool and not package.pool_sessions:
        errors["pool_sessions"] = _(POOL_NEEDS_SESSIONS)
    if not items:
        errors[NON_FIELD_ERRORS] = _(NEEDS_A_SERVICE)
    if Package.objects.filter(tenant=tenant, name__iexact=package.name).exclude(pk=package.pk).exists():
        errors["name"] = _(PACKAGE_NAME_TAKEN)
    if errors:
        raise ValidationError(errors)
    if not package.shared_pool:
        package.pool_sessions = None
    try:
        with transaction.atomic():
            package.save()
            package.items.all().delete()
            PackageItem.objects.bulk_create(
                [
                    PackageItem(tenant=tenant, package=package, service=service, sessions=sessions)
                    for service, sessions in items
                ]
            )
    except IntegrityError:
        raise ValidationError({"name": _(PACKAGE_NAME_TAKEN)}) from None
    return package


def default_expiry(*, tenant: Tenant, package: Package, start: date | None = None) -> date:
    """The last day of use of a package bought on ``start`` (today in the workspace's time zone)."""
    start = start or _today(tenant)
    return package.valid_until or start + timedelta(days=package.validity_days - 1)


# A client's packages


def client_package_add(
    *,
    tenant: Tenant,
    client: Client,
    package: Package,
    price: Decimal,
    expires_on: date,
    payment: Payment | None = None,
    actor=None,
    online: bool = False,
) -> ClientPackage:
    """Give a client a package with its credits. Added by staff it is active at once, paid or not
    (the balance shows); bought online it becomes active when paid. The client gets an email."""
    if package.tenant_id != tenant.pk or client.tenant_id != tenant.pk:
        raise ValidationError(_(NOT_HERE))
    if payment is not None and payment.amount > price:
        raise ValidationError({"payment_amount": _(MORE_THAN_PRICE)})
    if not package.is_active:
        raise ValidationError({"package": _(PACKAGE_ARCHIVED)})
    if expires_on < _today(tenant):
        raise ValidationError({"expires_on": _(EXPIRY_IN_PAST)})
    with transaction.atomic():
        Client.objects.select_for_update().filter(tenant=tenant, pk=client.pk).first()  # one add at a time per client
        moment_ago = timezone.now() - timedelta(seconds=ADD_GUARD_SECONDS)
        if ClientPackage.objects.filter(
            tenant=tenant, client=client, package=package, created_at__gte=moment_ago
        ).exists():
            raise ValidationError(_(ADDED_A_MOMENT_AGO))
        held = ClientPackage.objects.create(
            tenant=tenant,
            client=client,
            package=package,
            name=package.name,
            price=price,
            expires_on=expires_on,
            status=ClientPackageStatus.AWAITING_PAYMENT if online and price > 0 else ClientPackageStatus.ACTIVE,
            created_by=actor,
        )
        items = list(package.items.select_related("service"))
        if package.shared_pool:
            credits = [Credit(tenant=tenant, client_package=held, service=None, total=package.pool_sessions)]
        else:
            credits = [Credit(tenant=tenant, client_package=held, service=i.service, total=i.sessions) for i in items]
        Credit.objects.bulk_create(credits)
        held.services.set([item.service for item in items])
        if payment is not None and payment.amount:
            _payment(tenant, held, payment, actor)
        _email(tenant, held, "packages_credits.package_added", f"package-added:{held.pk}", actor)
    return held


def payment_record(*, tenant: Tenant, client_package: ClientPackage, payment: Payment, actor) -> ClientPackage:
    with transaction.atomic():
        held = ClientPackage.objects.select_for_update().get(tenant=tenant, pk=client_package.pk)
        if held.status == ClientPackageStatus.CANCELLED:
            raise ValidationError(_(ALREADY_CANCELLED))
        if held.balance <= 0:
            raise ValidationError(_(NOTHING_DUE))
        if payment.amount <= 0:
            raise ValidationError({"amount": _(PAYMENT_NOT_POSITIVE)})
        if payment.amount > held.balance:
            raise ValidationError({"amount": _(MORE_THAN_DUE).format(balance=money(held.balance, tenant.currency))})
        _payment(tenant, held, payment, actor)
    return held


def _payment(tenant: Tenant, held: ClientPackage, payment: Payment, actor) -> None:
    PackagePayment.objects.create(
        tenant=tenant,
        client_package=held,
        method=payment.method,
        amount=payment.amount,
        reference=payment.reference.strip(),
        recorded_by=actor,
    )
    held.amount_paid += payment.amount
    fields = ["amount_paid"]
    if held.status == ClientPackageStatus.AWAITING_PAYMENT and held.is_paid:
        held.status = ClientPackageStatus.ACTIVE  # bought online: usable once paid
        fields.append("status")
        _email(tenant, held, "packages_credits.package_active", f"package-active:{held.pk}", actor)
    held.save(update_fields=fields)


def client_package_cancel(*, tenant: Tenant, client_package: ClientPackage, reason: str, actor) -> ClientPackage:
    """Unused credits become void; bookings already made with credits stay."""
    with transaction.atomic():
        held = ClientPackage.objects.select_for_update().get(tenant=tenant, pk=client_package.pk)
        if held.status == ClientPackageStatus.CANCELLED:
            raise ValidationError(_(ALREADY_CANCELLED))
        held.status = ClientPackageStatus.CANCELLED
        held.cancelled_at, held.cancelled_by, held.cancel_reason = timezone.now(), actor, reason.strip()
        held.save(update_fields=["status", "cancelled_at", "cancelled_by", "cancel_reason"])
    return held


def _email(tenant: Tenant, held: ClientPackage, key: str, idempotency_key: str, actor) -> None:
    if not held.client.email:
        return
    credits = [
        {"service": credit.service.name if credit.service else "any covered service", "sessions": credit.total}
        for credit in held.credits.select_related("service")
    ]
    email_queue(
        tenant=tenant,
        to=held.client.email,
        key=key,
        context={
            "name": held.client.first_name,
            "package": held.name,
            "credits": credits,
            "price": money(held.price, tenant.currency),
            "paid": money(held.amount_paid, tenant.currency),
            "balance": money(held.balance, tenant.currency) if held.balance else "",
            "active": held.status == ClientPackageStatus.ACTIVE,
            "expires": dateformat.format(held.expires_on, "j F Y"),
            "account_url": absolute_tenant_url(tenant, "portal:home"),
        },
        idempotency_key=idempotency_key,
        created_by=actor,
    )


# Credits and bookings


def _usable(tenant: Tenant, client: Client, service: Service, day: date):
    """Credits that can pay for ``service`` on ``day``, soonest to expire first."""
    return (
        Credit.objects.filter(
            tenant=tenant,
            client_package__client=client,
            client_package__status=ClientPackageStatus.ACTIVE,
            client_package__expires_on__gte=day,
            used__lt=F("total"),
        )
        .filter(Q(service=service) | Q(service__isnull=True, client_package__services=service))
        .select_related("client_package")
        .order_by("client_package__expires_on", "id")
        .distinct()
    )


def credit_available(*, tenant: Tenant, client: Client | None, service: Service, starts_at: datetime) -> Credit | None:
    if client is None:
        return None
    day = timezone.localtime(starts_at, tenant.zone).date()
    if day < _today(tenant):
        return None
    return _usable(tenant, client, service, day).first()


def last_usable_day(*, tenant: Tenant, client: Client, service: Service) -> date | None:
    """The last day some credit of the client can pay for ``service`` (None if none can)."""
    credit = _usable(tenant, client, service, _today(tenant)).order_by("-client_package__expires_on").first()
    return credit.client_package.expires_on if credit else None


def why_no_credit(*, tenant: Tenant, client: Client | None, service: Service, starts_at: datetime) -> str:
    """What the client sees when none of their packages applies ("" when they hold none)."""
    if client is None:
        return ""
    day = timezone.localtime(starts_at, tenant.zone).date()
    held_all = list(ClientPackage.objects.filter(tenant=tenant, client=client).prefetch_related("credits", "services"))
    covering = [h for h in held_all if any(covered.pk == service.pk for covered in h.services.all())]
    if not covering:  # name a package the client holds: the newest
        return _(WHY_NOT_COVERED).format(name=held_all[0].name) if held_all else ""
    for held in covering:
        if held.status == ClientPackageStatus.CANCELLED:
            reason = _(WHY_CANCELLED)
        elif held.status == ClientPackageStatus.AWAITING_PAYMENT:
            reason = _(WHY_UNPAID)
        elif held.expires_on < day:
            reason = _(WHY_EXPIRED)
        elif all(c.used >= c.total for c in held.credits.all() if c.service_id in (None, service.pk)):
            reason = _(WHY_USED_UP)
        else:
            continue
        return reason.format(name=held.name, day=dateformat.format(held.expires_on, "j F Y"))
    return ""


def booking_with_credit(*, tenant: Tenant, client: Client, service: Service, starts_at: datetime) -> Booking:
    """Book and pay with a package credit, in one transaction: the credit is taken with a
    conditional UPDATE (two bookings racing for the last credit: one gets it), then the seat."""
    day = timezone.localtime(starts_at, tenant.zone).date()
    with transaction.atomic():
        for credit in _usable(tenant, client, service, day):
            # The package row first (a cancellation locks it too), then the conditional UPDATE.
            held = ClientPackage.objects.select_for_update().get(tenant=tenant, pk=credit.client_package_id)
            if held.status != ClientPackageStatus.ACTIVE or held.expires_on < day:
                continue
            if Credit.objects.filter(tenant=tenant, pk=credit.pk, used__lt=F("total")).update(used=F("used") + 1):
                break
        else:
            raise ValidationError(_(NO_CREDIT))
        # The booking is the credit holder's: their card's name and address.
        details = BookingDetails(client.first_name, client.last_name, client.email, client.phone)
        booking = booking_create(
            tenant=tenant,
            service=service,
            starts_at=starts_at,
            details=details,
            price_amount=Decimal("0"),
            client=client,
        )
        CreditUse.objects.create(tenant=tenant, credit=credit, booking=booking)
        used = Credit.objects.values_list("used", "total").get(tenant=tenant, pk=credit.pk)
        publish(
            tenant=tenant,
            name="package.used",
            obj=held,
            summary=f"A credit of {held.name} used by {client.email or client} (booking {booking.reference}).",
            payload={
                "client_package": {"id": held.pk, "name": held.name, "expires_on": held.expires_on},
                "client": {"id": client.pk, "email": client.email},
                "credit": {"id": credit.pk, "used": used[0], "total": used[1]},
                "booking": {"reference": booking.reference, "service": service.name, "starts_at": booking.starts_at},
            },
        )
    return booking


def give_back_for_cancelled_booking(*, tenant: Tenant, booking: Booking, actor) -> None:
    """Cancellation handler of bookings: the credit a booking used comes back, once, when the
    booking is cancelled at least ``PACKAGE_CREDIT_RETURN_HOURS`` before it starts (the rule)."""
    if booking.starts_at - timezone.now() < timedelta(hours=settings.PACKAGE_CREDIT_RETURN_HOURS):
        return
    use = CreditUse.objects.select_for_update().filter(tenant=tenant, booking=booking, returned_at__isnull=True).first()
    if use is None:
        return
    use.returned_at = timezone.now()
    use.save(update_fields=["returned_at"])
    Credit.objects.filter(tenant=tenant, pk=use.credit_id, used__gt=0).update(used=F("used") - 1)


def booking_extras(*, tenant: Tenant, booking: Booking) -> list[tuple[str, str]]:
    use = CreditUse.objects.filter(tenant=tenant, booking=booking).select_related("credit__client_package").first()
    if use is None:
        return []
    name = use.credit.client_package.name
    paid_with = _("a credit of “{name}” (given back)") if use.returned_at else _("a credit of “{name}”")
    lines = [(_("Paid with"), paid_with.format(name=name))]
    if not use.returned_at:
        deadline = timezone.localtime(
            booking.starts_at - timedelta(hours=settings.PACKAGE_CREDIT_RETURN_HOURS), tenant.zone
        )
        lines.append(
            (
                _("Credit back"),
                _("if cancelled before {deadline}; later cancellations keep it").format(
                    deadline=dateformat.format(deadline, "j M Y, H:i")
                ),
            )
        )
    return lines


def client_package_buy(*, tenant: Tenant, user, package: Package) -> tuple[ClientPackage, str]:
    """A signed-in person buys a package in My Account: it is theirs at once, usable when paid
    (offline, through the payment provider; staff record the payment). Returns it and what to do."""
    from accounts.selectors import client_for_user
    from accounts.services import client_for_booking
    from payments.providers import PaymentRequest, payment_provider

    if not user.email_verified:
        raise ValidationError(_(ADDRESS_UNPROVEN))
    with transaction.atomic():
        client = client_for_user(tenant=tenant, user=user) or client_for_booking(
            tenant=tenant, email=user.email, first_name=user.first_name or user.email, last_name=user.last_name
        )
        held = client_package_add(
            tenant=tenant,
            client=client,
            package=package,
            price=package.price,
            expires_on=default_expiry(tenant=tenant, package=package),
            actor=user,
            online=True,
        )
        if held.price == 0:
            return held, ""
        start = payment_provider().start(
            PaymentRequest(
                reference=f"P-{held.pk:06d}",
                amount=held.price,
                currency=tenant.currency,
                description=held.name,
                payee=tenant.public_name,
            )
        )
    return held, start.instructions
