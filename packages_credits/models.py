"""Prepaid packages: a tenant's package definitions, the packages a client holds, their credits
(one counter per service, or one shared pool), the payments recorded against them, and each use
of a credit by a booking.

A credit's ``used`` never exceeds its ``total``: uses are taken and given back with conditional
UPDATEs and a database check (docs/concurrency.md).
"""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy, gettext_noop

from tenancy.models import NO_CONTROL_CHARACTERS, TenantOwned

MONEY = {"max_digits": 10, "decimal_places": 2}


class Package(TenantOwned):
    name = models.CharField(max_length=200, validators=[NO_CONTROL_CHARACTERS])
    description = models.TextField(blank=True)
    price = models.DecimalField(**MONEY, validators=[MinValueValidator(Decimal("0"))])
    shared_pool = models.BooleanField(
        gettext_lazy("one shared pool"),
        default=False,
        help_text=gettext_lazy(
            "On: the sessions below are one pool usable for any of the services. Off: a count per service."
        ),
    )
    pool_sessions = models.PositiveIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(1000)]
    )
    validity_days = models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(3650)],
        help_text=gettext_lazy("Valid for N days…"),
    )
    valid_until = models.DateField(null=True, blank=True, help_text=gettext_lazy("…or until a fixed date."))
    is_active = models.BooleanField(
        "active", default=True, help_text=gettext_lazy("Archived packages are no longer offered.")
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint("tenant", Lower("name"), name="package_unique_name"),
            models.CheckConstraint(
                condition=models.Q(validity_days__isnull=True) ^ models.Q(valid_until__isnull=True),
                name="package_one_validity",
            ),
        ]
        ordering = ["name"]

    def __str__(self):
        return self.name


class PackageItem(TenantOwned):
    """A service the package covers; ``sessions`` counts when the package has no shared pool."""

    package = models.ForeignKey(Package, on_delete=models.CASCADE, related_name="items")
    service = models.ForeignKey("bookings.Service", on_delete=models.PROTECT, related_name="+")
    sessions = models.PositiveIntegerField(default=1, validators=[MinValueValidator(1), MaxValueValidator(1000)])

    class Meta:
        constraints = [models.UniqueConstraint(fields=["package", "service"], name="package_item_once")]
        ordering = ["id"]


class ClientPackageStatus(models.TextChoices):
    AWAITING_PAYMENT = "awaiting_payment", gettext_lazy("Awaiting payment")
    ACTIVE = "active", gettext_lazy("Active")
    CANCELLED = "cancelled", gettext_lazy("Cancelled")


class ClientPackage(TenantOwned):
    """A package a client holds: the price agreed, the last day it can be used, its payments."""

    client = models.ForeignKey("accounts.Client", on_delete=models.PROTECT, related_name="packages")
    package = models.ForeignKey(Package, on_delete=models.PROTECT, related_name="held")
    name = models.CharField(max_length=200)
    price = models.DecimalField(**MONEY, validators=[MinValueValidator(Decimal("0"))])
    expires_on = models.DateField(
        help_text=gettext_lazy("The last day a credit can be used, in the workspace's time zone.")
    )
    status = models.CharField(max_length=20, choices=ClientPackageStatus.choices, default=ClientPackageStatus.ACTIVE)
    amount_paid = models.DecimalField(**MONEY, default=Decimal("0"))
    # The services it covers as added: later edits of the package's definition do not change it.
    services = models.ManyToManyField("bookings.Service", related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancel_reason = models.CharField(max_length=500, blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.name} for {self.client}"

    @property
    def state(self) -> str:
        """What the client and staff see: Cancelled, Awaiting payment, Expired, Used up or Active (in English:
        templates show it with ``{% translate %}``)."""
        if self.status != ClientPackageStatus.ACTIVE:
            return self.get_status_display()
        if self.expires_on < timezone.localdate(timezone=self.tenant.zone):
            return gettext_noop("Expired")
        if all(credit.used >= credit.total for credit in self.credits.all()):
            return gettext_noop("Used up")
        return gettext_noop("Active")

    @property
    def balance(self) -> Decimal:
        return max(self.price - self.amount_paid, Decimal("0"))

    @property
    def is_paid(self) -> bool:
        return self.amount_paid >= self.price


class Credit(TenantOwned):
    """Sessions of one service (or, with ``service`` empty, of any service the package covers)."""

    client_package = models.ForeignKey(ClientPackage, on_delete=models.CASCADE, related_name="credits")
    service = models.ForeignKey("bookings.Service", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    total = models.PositiveIntegerField()
    used = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(used__lte=models.F("total")), name="credit_not_overused"),
        ]
        ordering = ["id"]

    @property
    def remaining(self) -> int:
        return self.total - self.used


class PaymentMethod(models.TextChoices):
    CASH = "cash", gettext_lazy("Cash")
    BANK_TRANSFER = "bank_transfer", gettext_lazy("Bank transfer")
    CHEQUE = "cheque", gettext_lazy("Cheque")
    OTHER = "other", gettext_lazy("Other")


class PackagePayment(TenantOwned):
    client_package = models.ForeignKey(ClientPackage, on_delete=models.CASCADE, related_name="payments")
    method = models.CharField(max_length=20, choices=PaymentMethod.choices)
    amount = models.DecimalField(**MONEY, validators=[MinValueValidator(Decimal("0.01"))])
    reference = models.CharField(max_length=100, blank=True, validators=[NO_CONTROL_CHARACTERS])
    recorded_at = models.DateTimeField(default=timezone.now)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["recorded_at", "id"]


class CreditUse(TenantOwned):
    """A booking that used a credit; ``returned_at`` is set when the credit was given back."""

    credit = models.ForeignKey(Credit, on_delete=models.PROTECT, related_name="uses")
    booking = models.ForeignKey("bookings.Booking", on_delete=models.PROTECT, related_name="credit_uses")
    used_at = models.DateTimeField(default=timezone.now)
    returned_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # A booking uses at most one credit at a time.
            models.UniqueConstraint(
                fields=["booking"], condition=models.Q(returned_at__isnull=True), name="credit_use_one_per_booking"
            )
        ]
        ordering = ["-used_at", "-id"]
