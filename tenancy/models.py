"""Tenants, their members and the invitations that make new members."""

import zoneinfo

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy

from .scoping import TenantScopedManager

SLUG_VALIDATOR = RegexValidator(
    r"^[a-z0-9](?:[a-z0-9-]{0,48}[a-z0-9])?$",
    "Use 1–50 lowercase letters, digits and hyphens, not starting or ending with a hyphen.",
)
NO_CONTROL_CHARACTERS = RegexValidator(
    r"^[^\x00-\x1f\x7f]*$", "Use one line of text: no line breaks, tabs or control characters."
)
COLOR_VALIDATOR = RegexValidator(r"^#[0-9a-fA-F]{6}$", "Enter a colour as #RRGGBB, e.g. #2f5d62.")

CURRENCY_CHOICES = [
    (code, code)
    for code in (
        "EUR",
        "USD",
        "GBP",
        "CHF",
        "SEK",
        "NOK",
        "DKK",
        "PLN",
        "CZK",
        "HUF",
        "CAD",
        "AUD",
        "NZD",
        "JPY",
        "SGD",
        "ZAR",
        "INR",
        "BRL",
        "MXN",
    )
]


def time_zone_choices():
    return [(name, name) for name in sorted(zoneinfo.available_timezones())]


class Tenant(models.Model):
    """A business using Tessera. Not tenant-owned itself: it is the scope."""

    name = models.CharField(max_length=200, validators=[NO_CONTROL_CHARACTERS])
    slug = models.SlugField(max_length=50, unique=True, validators=[SLUG_VALIDATOR])
    time_zone = models.CharField(max_length=64, default="UTC", choices=time_zone_choices)
    currency = models.CharField(max_length=3, default="EUR", choices=CURRENCY_CHOICES)
    display_name = models.CharField(
        max_length=200,
        blank=True,
        validators=[NO_CONTROL_CHARACTERS],
        help_text=gettext_lazy("Shown on public pages and in emails; the name if blank."),
    )
    brand_color = models.CharField(max_length=7, default="#2f5d62", validators=[COLOR_VALIDATOR])
    # The workspace's language and formats (dates, numbers, money) on its pages and in its emails.
    language = models.CharField(max_length=10, default="en", choices=settings.LANGUAGES)
    # The logo on public pages and emails, kept in the database (no shared disk between web processes):
    # a checked PNG, JPEG or WebP; served by tenancy's logo view with logo_updated_at in its URL.
    logo = models.BinaryField(null=True, blank=True, editable=False)
    logo_type = models.CharField(max_length=20, blank=True, default="")
    logo_updated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    @property
    def public_name(self) -> str:
        return self.display_name or self.name

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)


class TenantOwned(models.Model):
    """Base of every tenant-owned model: a tenant column and the fail-closed scoped manager."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE)

    objects = TenantScopedManager()

    class Meta:
        abstract = True


class Role(models.TextChoices):
    OWNER = "owner", gettext_lazy("Owner")
    ADMIN = "admin", gettext_lazy("Admin")
    STAFF = "staff", gettext_lazy("Staff")


ROLE_RANK = {Role.STAFF: 1, Role.ADMIN: 2, Role.OWNER: 3}


def role_at_least(role: str, minimum: str) -> bool:
    return ROLE_RANK[Role(role)] >= ROLE_RANK[Role(minimum)]


class Membership(TenantOwned):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.STAFF)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "user"], name="membership_unique_user")]
        ordering = ["tenant", "user__email"]

    def __str__(self):
        return f"{self.user} · {self.get_role_display()} at {self.tenant}"

    def has_role(self, minimum: str) -> bool:
        return role_at_least(self.role, minimum)


class InvitationStatus(models.TextChoices):
    PENDING = "pending", gettext_lazy("Pending")
    ACCEPTED = "accepted", gettext_lazy("Accepted")
    REVOKED = "revoked", gettext_lazy("Revoked")
    EXPIRED = "expired", gettext_lazy("Expired")


class StaffInvitation(TenantOwned):
    """An emailed invitation to join a tenant's team with a role. Only the token's hash is stored."""

    email = models.EmailField()
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.STAFF)
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # At most one open invitation per address and tenant; a new one revokes the old.
            models.UniqueConstraint(
                "tenant",
                Lower("email"),
                condition=models.Q(accepted_at__isnull=True, revoked_at__isnull=True),
                name="staffinvitation_one_open_per_email",
            )
        ]
        ordering = ["-created_at"]

    def __str__(self):
        return f"Invitation for {self.email} to {self.tenant}"

    @property
    def status(self) -> str:
        if self.accepted_at:
            return InvitationStatus.ACCEPTED
        if self.revoked_at:
            return InvitationStatus.REVOKED
        if self.expires_at <= timezone.now():
            return InvitationStatus.EXPIRED
        return InvitationStatus.PENDING

    @property
    def is_open(self) -> bool:
        return self.status == InvitationStatus.PENDING
