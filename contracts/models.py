"""Client organisations, their contracts, the prices agreed in each, the contract's participants,
and the contract's history (every change and redemption: when, who, what)."""

from django.conf import settings
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy

from tenancy.models import NO_CONTROL_CHARACTERS, TenantOwned

PREFIX_VALIDATOR = RegexValidator(
    r"^[0-9ABCDEFGHJKMNPQRSTVWXYZ]{2,8}$",
    "Use 2 to 8 letters and digits, except I, L, O and U (they look like 1, 0 and V).",
)
PRICE_CODE_VALIDATOR = RegexValidator(
    r"^[A-Z0-9][A-Z0-9_-]{0,11}$", "Use 1 to 12 capital letters, digits, hyphens or underscores."
)


class OrganisationStatus(models.TextChoices):
    ACTIVE = "active", gettext_lazy("Active")
    INACTIVE = "inactive", gettext_lazy("Inactive")


class Organisation(TenantOwned):
    name = models.CharField(max_length=200, validators=[NO_CONTROL_CHARACTERS])
    contact_name = models.CharField(max_length=200, blank=True)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=40, blank=True)
    address = models.TextField(blank=True)
    status = models.CharField(max_length=10, choices=OrganisationStatus.choices, default=OrganisationStatus.ACTIVE)
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint("tenant", Lower("name"), name="organisation_unique_name")]
        ordering = ["name"]

    def __str__(self):
        return self.name


class ContractStatus(models.TextChoices):
    ACTIVE = "active", gettext_lazy("Active")
    SUSPENDED = "suspended", gettext_lazy("Suspended")
    ENDED = "ended", gettext_lazy("Ended")


class Contract(TenantOwned):
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="contracts")
    name = models.CharField(max_length=200, validators=[NO_CONTROL_CHARACTERS])
    invitation_prefix = models.CharField(
        max_length=8,
        validators=[PREFIX_VALIDATOR],
        help_text=gettext_lazy("Starts every invitation code of this contract."),
    )
    starts_on = models.DateField()
    ends_on = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=ContractStatus.choices, default=ContractStatus.ACTIVE)
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "invitation_prefix"], name="contract_unique_prefix"),
            # The target of the (tenant, contract) foreign keys of participants and codes.
            models.UniqueConstraint(fields=["tenant", "id"], name="contract_id_in_tenant"),
            models.CheckConstraint(
                condition=models.Q(ends_on__isnull=True) | models.Q(ends_on__gte=models.F("starts_on")),
                name="contract_ends_after_start",
            ),
        ]
        ordering = ["organisation__name", "name"]

    def __str__(self):
        return f"{self.name} ({self.organisation})"


class ContractPrice(TenantOwned):
    """What the client pays for a service under this contract; codes carry one price."""

    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="prices")
    service = models.ForeignKey("bookings.Service", on_delete=models.PROTECT, related_name="contract_prices")
    amount = models.DecimalField(max_digits=10, decimal_places=2, validators=[MinValueValidator(0)])
    price_code = models.CharField(max_length=12, validators=[PRICE_CODE_VALIDATOR])

    class Meta:
        constraints = [models.UniqueConstraint(fields=["contract", "price_code"], name="price_code_unique_in_contract")]
        ordering = ["price_code"]

    def __str__(self):
        return f"{self.price_code}: {self.service} {self.amount}"


class Participant(TenantOwned):
    """A person the client organisation wants to send; may get invitation codes assigned."""

    # One key over (tenant, contract) checks both in one lookup a row, and that the contract is the
    # tenant's (tenancy/migration_ops.py); the name index, which leads with the contract, serves it.
    tenant = models.ForeignKey("tenancy.Tenant", on_delete=models.CASCADE, db_constraint=False)
    contract = models.ForeignKey(
        Contract, on_delete=models.CASCADE, related_name="participants", db_index=False, db_constraint=False
    )
    first_name = models.CharField(max_length=150)
    last_name = models.CharField(max_length=150)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=40, blank=True)
    date_of_birth = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                "contract", Lower("email"), condition=~models.Q(email=""), name="participant_email_unique_in_contract"
            )
        ]
        indexes = [models.Index(fields=["contract", "last_name", "first_name"], name="participant_name_idx")]
        ordering = ["last_name", "first_name", "id"]

    def __str__(self):
        return self.full_name

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


class EventKind(models.TextChoices):
    CONTRACT_CREATED = "contract_created", gettext_lazy("Contract created")
    CONTRACT_CHANGED = "contract_changed", gettext_lazy("Contract changed")
    PRICE_ADDED = "price_added", gettext_lazy("Price added")
    PRICE_CHANGED = "price_changed", gettext_lazy("Price changed")
    PRICE_REMOVED = "price_removed", gettext_lazy("Price removed")
    PARTICIPANT_ADDED = "participant_added", gettext_lazy("Participant added")
    PARTICIPANT_CHANGED = "participant_changed", gettext_lazy("Participant changed")
    CODES_GENERATED = "codes_generated", gettext_lazy("Codes generated")
    CODE_CHANGED = "code_changed", gettext_lazy("Code changed")
    CODE_VOIDED = "code_voided", gettext_lazy("Code voided")
    CODE_DELETED = "code_deleted", gettext_lazy("Code deleted")
    CODE_SHOWN = "code_shown", gettext_lazy("Code shown")
    CODE_REDEEMED = "code_redeemed", gettext_lazy("Code redeemed")
    CODE_RELEASED = "code_released", gettext_lazy("Code use given back")
    CODES_DOWNLOADED = "codes_downloaded", gettext_lazy("Codes downloaded")
    IMPORT_COMMITTED = "import_committed", gettext_lazy("Participants imported")


class ContractEvent(TenantOwned):
    """One line of a contract's history. Codes are named by id and text, so the line outlives a
    deleted code."""

    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=30, choices=EventKind.choices)
    summary = models.CharField(max_length=500)
    code_id = models.BigIntegerField(null=True, blank=True)
    code_text = models.CharField(max_length=40, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["contract", "-created_at"], name="event_contract_idx"),
            models.Index(fields=["tenant", "code_id"], name="event_code_idx"),
        ]
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return self.summary
