"""Bookable services, their weekly availability, the slots people book, and the bookings."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy

from tenancy.models import NO_CONTROL_CHARACTERS, TenantOwned


class Weekday(models.IntegerChoices):
    MONDAY = 0, gettext_lazy("Monday")
    TUESDAY = 1, gettext_lazy("Tuesday")
    WEDNESDAY = 2, gettext_lazy("Wednesday")
    THURSDAY = 3, gettext_lazy("Thursday")
    FRIDAY = 4, gettext_lazy("Friday")
    SATURDAY = 5, gettext_lazy("Saturday")
    SUNDAY = 6, gettext_lazy("Sunday")


class Service(TenantOwned):
    """Something a person can book a time for: a class, a session, an appointment type."""

    name = models.CharField(max_length=200, validators=[NO_CONTROL_CHARACTERS])
    description = models.TextField(blank=True)
    duration_minutes = models.PositiveSmallIntegerField(
        default=60, validators=[MinValueValidator(5), MaxValueValidator(720)]
    )
    price = models.DecimalField(max_digits=10, decimal_places=2, default=0, validators=[MinValueValidator(0)])
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "name"], name="service_unique_name")]
        ordering = ["name"]

    def __str__(self):
        return self.name


class WeeklyAvailability(TenantOwned):
    """On this weekday, slots of the service's length start from ``start_time`` until they no longer
    fit before ``end_time``; each slot takes ``slot_capacity`` people."""

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="availability")
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    start_time = models.TimeField()
    end_time = models.TimeField()
    slot_capacity = models.PositiveSmallIntegerField(default=1, validators=[MinValueValidator(1)])

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(end_time__gt=models.F("start_time")), name="availability_ends_after_start"
            ),
        ]
        ordering = ["weekday", "start_time"]

    def __str__(self):
        return f"{self.get_weekday_display()} {self.start_time:%H:%M}–{self.end_time:%H:%M}"


class Slot(TenantOwned):
    """One bookable time of a service, made the first time someone books it.

    ``booked`` never exceeds ``capacity``: seats are taken with a conditional UPDATE, and the
    database checks it too (docs/concurrency.md).
    """

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="slots")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    capacity = models.PositiveSmallIntegerField()
    booked = models.PositiveSmallIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "service", "starts_at"], name="slot_unique_start"),
            models.CheckConstraint(condition=models.Q(booked__lte=models.F("capacity")), name="slot_not_overbooked"),
        ]
        ordering = ["starts_at"]

    def __str__(self):
        return f"{self.service} at {self.starts_at:%Y-%m-%d %H:%M}"

    @property
    def remaining(self) -> int:
        return max(self.capacity - self.booked, 0)


class BookingStatus(models.TextChoices):
    CONFIRMED = "confirmed", gettext_lazy("Confirmed")
    CANCELLED = "cancelled", gettext_lazy("Cancelled")


class Booking(TenantOwned):
    """A person's place in a slot. ``reference`` is the unguessable handle of its confirmation page."""

    reference = models.CharField(max_length=32, unique=True)
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="bookings")
    slot = models.ForeignKey(Slot, on_delete=models.PROTECT, related_name="bookings")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    client = models.ForeignKey(
        "accounts.Client", null=True, blank=True, on_delete=models.PROTECT, related_name="bookings"
    )
    first_name = models.CharField(max_length=150)
    last_name = models.CharField(max_length=150)
    email = models.EmailField()
    phone = models.CharField(max_length=40, blank=True)
    date_of_birth = models.DateField(null=True, blank=True)
    notes = models.TextField(blank=True)
    price_amount = models.DecimalField(max_digits=10, decimal_places=2, default=0)
    status = models.CharField(max_length=10, choices=BookingStatus.choices, default=BookingStatus.CONFIRMED)
    created_at = models.DateTimeField(default=timezone.now)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        indexes = [models.Index(fields=["tenant", "starts_at"], name="booking_tenant_start_idx")]
        ordering = ["starts_at", "id"]

    def __str__(self):
        return f"{self.full_name}, {self.service} at {self.starts_at:%Y-%m-%d %H:%M}"

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()
