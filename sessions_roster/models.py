"""Sessions people register for, the orders and registrations that fill them, the invitations and
waitlist offers that hold spots, and discount codes.

``Session.spots_taken`` counts everything that holds a spot: registrations awaiting payment or
confirmed, pending invitations and open waitlist offers. It never exceeds ``capacity`` (a database
check); every change to it is one conditional UPDATE (docs/concurrency.md).
"""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy

from tenancy.models import NO_CONTROL_CHARACTERS, TenantOwned


class Session(TenantOwned):
    key = models.CharField(max_length=16, unique=True, help_text=gettext_lazy("The session's handle in public links."))
    title = models.CharField(max_length=200, validators=[NO_CONTROL_CHARACTERS])
    description = models.TextField(blank=True)
    location = models.CharField(max_length=200, blank=True, validators=[NO_CONTROL_CHARACTERS])
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    capacity = models.PositiveIntegerField(validators=[MinValueValidator(1), MaxValueValidator(100_000)])
    spots_taken = models.PositiveIntegerField(default=0)
    price = models.DecimalField(
        max_digits=10, decimal_places=2, default=Decimal("0"), validators=[MinValueValidator(Decimal("0"))]
    )
    registration_opens_at = models.DateTimeField(
        null=True, blank=True, help_text=gettext_lazy("Leave empty to open registration at once.")
    )
    is_listed = models.BooleanField(
        gettext_lazy("listed"),
        default=True,
        help_text=gettext_lazy("Listed sessions appear on the public page; unlisted ones only by link."),
    )
    offer_hold_hours = models.PositiveSmallIntegerField(
        "waitlist offer holds for (hours)",
        default=24,
        validators=[MinValueValidator(1), MaxValueValidator(336)],
        help_text=gettext_lazy("How long a freed spot is held for the next person on the waitlist."),
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(spots_taken__lte=models.F("capacity")), name="session_not_overfilled"
            ),
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")), name="session_ends_after_start"
            ),
        ]
        indexes = [models.Index(fields=["tenant", "starts_at"], name="session_tenant_start_idx")]
        ordering = ["starts_at", "id"]

    def __str__(self):
        return self.title

    @property
    def spots_left(self) -> int:
        return max(self.capacity - self.spots_taken, 0)

    @property
    def is_full(self) -> bool:
        return self.spots_taken >= self.capacity

    @property
    def has_started(self) -> bool:
        return self.starts_at <= timezone.now()

    @property
    def registration_open(self) -> bool:
        return self.registration_opens_at is None or self.registration_opens_at <= timezone.now()


class DiscountKind(models.TextChoices):
    PERCENT = "percent", gettext_lazy("Percentage")
    FIXED = "fixed", gettext_lazy("Fixed amount")


class DiscountCode(TenantOwned):
    """Takes a percentage or a fixed amount off the sessions it applies to (all when none are picked).
    ``uses`` counts orders that used it, never above ``max_uses`` (a conditional UPDATE and a check)."""

    code = models.CharField(max_length=40)
    kind = models.CharField(max_length=10, choices=DiscountKind.choices, default=DiscountKind.PERCENT)
    value = models.DecimalField(max_digits=10, decimal_places=2, validators=[MinValueValidator(Decimal("0.01"))])
    valid_from = models.DateTimeField(null=True, blank=True)
    valid_until = models.DateTimeField(null=True, blank=True)
    max_uses = models.PositiveIntegerField(null=True, blank=True, help_text=gettext_lazy("Leave empty for no limit."))
    uses = models.PositiveIntegerField(default=0)
    sessions = models.ManyToManyField(
        Session, blank=True, related_name="discount_codes", help_text=gettext_lazy("None picked: every session.")
    )
    is_active = models.BooleanField(gettext_lazy("active"), default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint("tenant", Lower("code"), name="discount_code_unique_in_tenant"),
            models.CheckConstraint(
                condition=models.Q(max_uses__isnull=True) | models.Q(uses__lte=models.F("max_uses")),
                name="discount_not_overused",
            ),
            models.CheckConstraint(
                condition=~models.Q(kind="percent") | models.Q(value__lte=100), name="discount_percent_at_most_100"
            ),
        ]
        ordering = ["code"]

    def __str__(self):
        return self.code

    @property
    def describe(self) -> str:
        if self.kind == DiscountKind.PERCENT:
            return f"{self.value.normalize():f}% off"
        return f"{self.value} off"


class OrderStatus(models.TextChoices):
    AWAITING_PAYMENT = "awaiting_payment", gettext_lazy("Awaiting payment")
    PAID = "paid", gettext_lazy("Paid")
    CANCELLED = "cancelled", gettext_lazy("Cancelled")


class Order(TenantOwned):
    """One checkout: who registered, for what, the discount math and what is due."""

    reference = models.CharField(max_length=32, unique=True)
    first_name = models.CharField(max_length=150)
    last_name = models.CharField(max_length=150)
    email = models.EmailField()
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="session_orders"
    )
    client = models.ForeignKey(
        "accounts.Client", null=True, blank=True, on_delete=models.PROTECT, related_name="session_orders"
    )
    subtotal = models.DecimalField(max_digits=12, decimal_places=2)
    discount_amount = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))
    total = models.DecimalField(max_digits=12, decimal_places=2)
    discount_code = models.ForeignKey(
        DiscountCode, null=True, blank=True, on_delete=models.PROTECT, related_name="orders"
    )
    status = models.CharField(max_length=20, choices=OrderStatus.choices)
    payment_provider = models.CharField(max_length=40, blank=True)
    payment_instructions = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    paid_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(total__gte=0), name="order_total_not_negative"),
        ]
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"Order {self.number}"

    @property
    def number(self) -> str:
        return f"S-{self.pk:06d}"

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


class RegistrationStatus(models.TextChoices):
    AWAITING_PAYMENT = "awaiting_payment", gettext_lazy("Awaiting payment")
    CONFIRMED = "confirmed", gettext_lazy("Confirmed")
    CANCELLED = "cancelled", gettext_lazy("Cancelled")


HOLDING_REGISTRATION = (RegistrationStatus.AWAITING_PAYMENT, RegistrationStatus.CONFIRMED)


class Registration(TenantOwned):
    """One person's place in one session, from an order line."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="registrations")
    session = models.ForeignKey(Session, on_delete=models.PROTECT, related_name="registrations")
    first_name = models.CharField(max_length=150)
    last_name = models.CharField(max_length=150)
    email = models.EmailField()
    price = models.DecimalField(max_digits=10, decimal_places=2)
    discount = models.DecimalField(max_digits=10, decimal_places=2, default=Decimal("0"))
    amount = models.DecimalField(max_digits=10, decimal_places=2)
    status = models.CharField(max_length=20, choices=RegistrationStatus.choices)
    invitation = models.OneToOneField(
        "SessionInvitation", null=True, blank=True, on_delete=models.PROTECT, related_name="registration"
    )
    waitlist_entry = models.OneToOneField(
        "WaitlistEntry", null=True, blank=True, on_delete=models.PROTECT, related_name="registration"
    )
    created_at = models.DateTimeField(default=timezone.now)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                "tenant",
                "session",
                Lower("email"),
                condition=~models.Q(status="cancelled"),
                name="registration_once_per_email",
            ),
            models.CheckConstraint(condition=models.Q(amount__gte=0), name="registration_amount_not_negative"),
        ]
        # A person's registrations in My Account, found by address whatever the number of sessions.
        indexes = [models.Index("tenant", Lower("email"), name="registration_person_idx")]
        ordering = ["created_at", "id"]

    def __str__(self):
        return f"{self.full_name} in {self.session}"

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


class InvitationStatus(models.TextChoices):
    PENDING = "pending", gettext_lazy("Pending")
    ACCEPTED = "accepted", gettext_lazy("Registered")
    CANCELLED = "cancelled", gettext_lazy("Cancelled")
    EXPIRED = "expired", gettext_lazy("Expired")


class SessionInvitation(TenantOwned):
    """A personal link to register for a session; while pending it holds one spot.

    The link's token is derived from ``token_salt`` and the server's secret key, so a resend carries
    the same link while the database alone (``token_hash`` is its SHA-256) cannot rebuild it.
    """

    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    # Also sent by SMS to this number (E.164), when staff gave one.
    phone = models.CharField(max_length=20, blank=True, default="", db_default="")
    discount_code = models.ForeignKey(
        DiscountCode, null=True, blank=True, on_delete=models.PROTECT, related_name="invitations"
    )
    lock_to_email = models.BooleanField(default=False)
    expires_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=InvitationStatus.choices, default=InvitationStatus.PENDING)
    token_salt = models.CharField(max_length=32)
    token_hash = models.CharField(max_length=64, unique=True)
    raised_capacity = models.BooleanField(default=False)
    times_sent = models.PositiveSmallIntegerField(default=0)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    closed_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The one-time code that proves the invited address, for a locked invitation (hash only).
    proof_hash = models.CharField(max_length=64, blank=True)
    proof_expires_at = models.DateTimeField(null=True, blank=True)
    proof_attempts = models.PositiveSmallIntegerField(default=0)
    proof_codes_sent = models.PositiveSmallIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                "tenant",
                "session",
                Lower("email"),
                condition=models.Q(status="pending"),
                name="session_invitation_one_pending_per_email",
            )
        ]
        indexes = [models.Index(fields=["status", "expires_at"], name="session_invitation_expiry_idx")]
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"Invitation for {self.email} to {self.session}"

    @property
    def is_due_to_expire(self) -> bool:
        return (
            self.status == InvitationStatus.PENDING
            and self.expires_at is not None
            and self.expires_at <= timezone.now()
        )


class WaitlistStatus(models.TextChoices):
    WAITING = "waiting", gettext_lazy("Waiting")
    OFFERED = "offered", gettext_lazy("Offer sent")
    REGISTERED = "registered", gettext_lazy("Registered")
    LAPSED = "lapsed", gettext_lazy("Offer lapsed")
    REMOVED = "removed", gettext_lazy("Removed")


class WaitlistEntry(TenantOwned):
    """A person waiting for a spot; an open offer holds one spot until ``offer_expires_at``."""

    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="waitlist")
    first_name = models.CharField(max_length=150)
    last_name = models.CharField(max_length=150)
    email = models.EmailField()
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(max_length=10, choices=WaitlistStatus.choices, default=WaitlistStatus.WAITING)
    offer_salt = models.CharField(max_length=32, blank=True)
    offer_token_hash = models.CharField(max_length=64, null=True, blank=True, unique=True)
    offered_at = models.DateTimeField(null=True, blank=True)
    offer_expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                "tenant",
                "session",
                Lower("email"),
                condition=models.Q(status__in=["waiting", "offered"]),
                name="waitlist_once_per_email",
            )
        ]
        indexes = [models.Index(fields=["session", "status", "created_at"], name="waitlist_queue_idx")]
        ordering = ["created_at", "id"]

    def __str__(self):
        return f"{self.full_name} waiting for {self.session}"

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()
