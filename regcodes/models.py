"""Registration codes: courses (products) with dated sessions, orders of seats, one code per seat
when the session generates codes, the invitations that hand a code to a learner, and the course
access a claimed code gives.

Seats are conserved: for an order, available + invited + claimed codes always equal the seats
bought. A code is held by at most one learner (a conditional UPDATE claims it; docs/concurrency.md).
"""

from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy

from tenancy.models import NO_CONTROL_CHARACTERS, TenantOwned
from tenancy.tokens import link_token

INVITE_LINK = "regcodes.invite"


class Product(TenantOwned):
    """A course people buy seats in."""

    name = models.CharField(max_length=200, validators=[NO_CONTROL_CHARACTERS])
    description = models.TextField(blank=True)
    is_active = models.BooleanField(gettext_lazy("active"), default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint("tenant", Lower("name"), name="product_unique_name")]
        ordering = ["name"]

    def __str__(self):
        return self.name


class ProductSession(TenantOwned):
    """One run of a course: its dates, the price of a seat, how long access lasts, and whether an
    order of two or more seats makes one registration code per seat."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="sessions")
    name = models.CharField(max_length=200, validators=[NO_CONTROL_CHARACTERS])
    starts_on = models.DateField()
    ends_on = models.DateField()
    price = models.DecimalField(
        max_digits=10, decimal_places=2, default=Decimal("0"), validators=[MinValueValidator(Decimal("0"))]
    )
    access_days = models.PositiveIntegerField(
        default=365,
        validators=[MinValueValidator(1), MaxValueValidator(3650)],
        help_text=gettext_lazy("How long a learner keeps access from the day the seat is assigned."),
    )
    generates_codes = models.BooleanField(
        gettext_lazy("Generate Registration Codes"),
        default=False,
        help_text=gettext_lazy(
            "Customers can buy several seats and hand them out: one registration code per seat. "
            "Off: one seat per order, for the buyer."
        ),
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(ends_on__gte=models.F("starts_on")), name="psession_dates"),
        ]
        ordering = ["starts_on", "id"]

    def __str__(self):
        return f"{self.product} — {self.name}"


class SeatOrderStatus(models.TextChoices):
    AWAITING_PAYMENT = "awaiting_payment", gettext_lazy("Awaiting payment")
    PAID = "paid", gettext_lazy("Paid")


class SeatOrder(TenantOwned):
    """Seats of one product session bought by a customer (a login), online or entered by staff."""

    reference = models.CharField(max_length=32, unique=True)
    product_session = models.ForeignKey(ProductSession, on_delete=models.PROTECT, related_name="orders")
    buyer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="seat_orders")
    client = models.ForeignKey("accounts.Client", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField(validators=[MinValueValidator(1), MaxValueValidator(10_000)])
    unit_price = models.DecimalField(max_digits=10, decimal_places=2)
    total = models.DecimalField(max_digits=14, decimal_places=2)  # the largest price times the most seats
    status = models.CharField(max_length=20, choices=SeatOrderStatus.choices)
    payment_provider = models.CharField(max_length=40, blank=True)
    payment_instructions = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    paid_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"Order {self.number}"

    @property
    def number(self) -> str:
        return f"R-{self.pk:06d}"


class CodeStatus(models.TextChoices):
    AVAILABLE = "available", gettext_lazy("Available")
    INVITED = "invited", gettext_lazy("Invited")
    CLAIMED = "claimed", gettext_lazy("Claimed")


class RegistrationCode(TenantOwned):
    """One seat. ``learner`` is set only while the code is claimed; removing access frees it."""

    order = models.ForeignKey(SeatOrder, on_delete=models.CASCADE, related_name="codes")
    code = models.CharField(max_length=20)
    status = models.CharField(max_length=10, choices=CodeStatus.choices, default=CodeStatus.AVAILABLE)
    learner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="registration_codes"
    )
    claimed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "code"], name="regcode_unique_in_tenant"),
            models.CheckConstraint(
                condition=models.Q(status="claimed", learner__isnull=False)
                | (~models.Q(status="claimed") & models.Q(learner__isnull=True)),
                name="regcode_learner_iff_claimed",
            ),
        ]
        ordering = ["id"]

    def __str__(self):
        return self.code


class LearnerInviteStatus(models.TextChoices):
    OPEN = "open", gettext_lazy("Open")
    ACCEPTED = "accepted", gettext_lazy("Accepted")
    INVALID = "invalid", gettext_lazy("No longer valid")
    WITHDRAWN = "withdrawn", gettext_lazy("Withdrawn")


class LearnerInvite(TenantOwned):
    """An emailed link offering one code to one address. The first invite for a code to be accepted
    takes it; the code's other open invites become invalid. The link is a salted HMAC
    (``tenancy.tokens.link_token``), so the customer can copy it again from My Account. With a
    ``phone`` (E.164) the same link also goes by SMS; the invite stays bound to its address."""

    code = models.ForeignKey(RegistrationCode, on_delete=models.CASCADE, related_name="invites")
    email = models.EmailField()
    phone = models.CharField(gettext_lazy("mobile number"), max_length=20, blank=True, default="", db_default="")
    message = models.TextField(blank=True, max_length=2000)
    token_salt = models.CharField(max_length=32)
    token_hash = models.CharField(max_length=64, unique=True)
    status = models.CharField(max_length=10, choices=LearnerInviteStatus.choices, default=LearnerInviteStatus.OPEN)
    sent_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-sent_at", "-id"]

    def __str__(self):
        return f"Invite for {self.email} to {self.code}"

    @property
    def token(self) -> str:
        return link_token(INVITE_LINK, self.token_salt)

    @property
    def link_expires_at(self):
        """The emailed link works for ``SEAT_INVITE_VALID_DAYS`` from when it was sent; a re-invite is a new link."""
        return self.sent_at + timedelta(days=settings.SEAT_INVITE_VALID_DAYS)

    @property
    def link_expired(self) -> bool:
        return self.link_expires_at <= timezone.now()


class CourseAccess(TenantOwned):
    """A learner's access to a product session through a claimed code, between two dates."""

    learner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="course_access")
    product_session = models.ForeignKey(ProductSession, on_delete=models.PROTECT, related_name="access")
    code = models.ForeignKey(RegistrationCode, on_delete=models.PROTECT, related_name="access")
    starts_on = models.DateField()
    ends_on = models.DateField()
    granted_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            # A code gives access to one learner at a time.
            models.UniqueConstraint(
                fields=["tenant", "code"], condition=models.Q(revoked_at__isnull=True), name="access_one_per_code"
            ),
            models.CheckConstraint(condition=models.Q(ends_on__gte=models.F("starts_on")), name="access_dates"),
        ]
        ordering = ["-granted_at", "-id"]

    def __str__(self):
        return f"{self.learner} → {self.product_session}"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @property
    def has_ended(self) -> bool:
        return self.ends_on < timezone.localdate(timezone=self.tenant.zone)
