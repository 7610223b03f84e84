"""Invitation codes of a contract, the batches they are generated in, and their redemptions."""

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy

from tenancy.models import TenantOwned

from . import codes


class CodeStatus(models.TextChoices):
    """Stored states. "Expired" and "not yet valid" follow from the validity window."""

    ACTIVE = "active", gettext_lazy("Active")
    USED_UP = "used_up", gettext_lazy("Used up")
    VOID = "void", gettext_lazy("Void")


class ShownStatus(models.TextChoices):
    """What the pages show and filter by."""

    ACTIVE = "active", gettext_lazy("Active")
    NOT_YET_VALID = "not_yet_valid", gettext_lazy("Not yet valid")
    USED_UP = "used_up", gettext_lazy("Used up")
    EXPIRED = "expired", gettext_lazy("Expired")
    VOID = "void", gettext_lazy("Void")


class BatchStatus(models.TextChoices):
    QUEUED = "queued", gettext_lazy("Waiting")
    RUNNING = "running", gettext_lazy("Generating")
    DONE = "done", gettext_lazy("Done")
    FAILED = "failed", gettext_lazy("Failed")


class CodeBatch(TenantOwned):
    """One "Generate Codes" request. The task tops the batch up to ``quantity``, so running it
    again after a crash finishes the job without making more codes than asked for."""

    contract = models.ForeignKey("contracts.Contract", on_delete=models.PROTECT, related_name="code_batches")
    price = models.ForeignKey("contracts.ContractPrice", on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField()
    width = models.PositiveSmallIntegerField()
    max_uses = models.PositiveIntegerField(default=1)
    valid_from = models.DateTimeField(null=True, blank=True)
    valid_until = models.DateTimeField(null=True, blank=True)
    restricted_domain = models.CharField(max_length=253, blank=True)
    campaign = models.CharField(max_length=50, blank=True, default="", db_default="")
    status = models.CharField(max_length=10, choices=BatchStatus.choices, default=BatchStatus.QUEUED)
    created_count = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.quantity} codes for {self.contract}"

    @property
    def percent(self) -> int:
        return min(100, round(100 * self.created_count / self.quantity)) if self.quantity else 100


class InvitationCode(TenantOwned):
    # Indexes are chosen for a table of millions of rows, and lead with the tenant or the contract, so
    # those foreign keys need no index of their own. The codes list reads only indexes whatever the
    # contract's size (invitations/selectors.py): (contract, id) gives its newest-first pages;
    # (contract, status, id) the pages of a status, and carries the tenant and the validity so the
    # capped counts of a status read the index alone; the two partial indexes hold only codes with a
    # validity window, for the counts of expired and not-yet-valid codes; the unique (tenant, code)
    # index compares by bytes (varchar_pattern_ops), so it also answers "code starts with …".
    # A code costs few checks to insert, because codes are made 100,000 at a time: one foreign key
    # over (tenant, contract) checks both in one lookup, and that the contract is the tenant's
    # (tenancy/migration_ops.py); the batch link is provenance only, kept by Django (SET_NULL) with no
    # database key or index; the participant and creator indexes hold only the rows that have one.
    tenant = models.ForeignKey("tenancy.Tenant", on_delete=models.CASCADE, db_index=False, db_constraint=False)
    contract = models.ForeignKey(
        "contracts.Contract", on_delete=models.PROTECT, related_name="codes", db_index=False, db_constraint=False
    )
    price = models.ForeignKey("contracts.ContractPrice", on_delete=models.PROTECT, related_name="codes")
    participant = models.ForeignKey(
        "contracts.Participant", null=True, blank=True, on_delete=models.SET_NULL, related_name="codes", db_index=False
    )
    batch = models.ForeignKey(
        CodeBatch,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="codes",
        db_index=False,
        db_constraint=False,
    )
    code = models.CharField(max_length=40)
    max_uses = models.PositiveIntegerField(default=1, validators=[MinValueValidator(1)])
    uses = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=10, choices=CodeStatus.choices, default=CodeStatus.ACTIVE)
    valid_from = models.DateTimeField(null=True, blank=True)
    valid_until = models.DateTimeField(null=True, blank=True)
    restricted_domain = models.CharField(
        max_length=253,
        blank=True,
        help_text=gettext_lazy("Only email addresses at this domain may book with the code."),
    )
    # A free tag for analytics ("spring-mailing"): figures per campaign across contracts.
    campaign = models.CharField(max_length=50, blank=True, default="", db_default="")
    # The first time the code left the system (viewed, downloaded, sent, redeemed): its text is fixed.
    shown_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "code"], name="code_unique_in_tenant", opclasses=["int8_ops", "varchar_pattern_ops"]
            ),
            models.UniqueConstraint(
                fields=["participant", "price"],
                condition=models.Q(participant__isnull=False) & ~models.Q(status="void"),
                name="code_one_per_participant_and_price",
            ),
            models.CheckConstraint(condition=models.Q(uses__lte=models.F("max_uses")), name="code_uses_within_max"),
            models.CheckConstraint(condition=models.Q(max_uses__gte=1), name="code_max_uses_positive"),
        ]
        indexes = [
            models.Index(
                fields=["participant"], condition=models.Q(participant__isnull=False), name="code_participant_idx"
            ),
            models.Index(fields=["created_by"], condition=models.Q(created_by__isnull=False), name="code_creator_idx"),
            models.Index(fields=["contract", "id"], name="code_contract_id_idx"),
            models.Index(fields=["tenant", "campaign"], condition=~models.Q(campaign=""), name="code_campaign_idx"),
            models.Index(
                fields=["contract", "status", "id"],
                include=["tenant", "valid_from", "valid_until"],
                name="code_contract_status_idx",
            ),
            models.Index(
                fields=["contract", "valid_until"],
                include=["tenant"],
                condition=models.Q(status="active", valid_until__isnull=False),
                name="code_contract_expiry_idx",
            ),
            models.Index(
                fields=["contract", "valid_from"],
                include=["tenant", "valid_until"],
                condition=models.Q(status="active", valid_from__isnull=False),
                name="code_contract_start_idx",
            ),
        ]
        ordering = ["-id"]

    def __str__(self):
        return self.shown

    @property
    def shown(self) -> str:
        return codes.display(self.code, self.contract.invitation_prefix)

    def shown_status(self, now=None) -> str:
        now = now or timezone.now()
        if self.status != CodeStatus.ACTIVE:
            return self.status
        if self.valid_until and self.valid_until <= now:
            return ShownStatus.EXPIRED
        if self.valid_from and self.valid_from > now:
            return ShownStatus.NOT_YET_VALID
        return ShownStatus.ACTIVE

    @property
    def shown_status_label(self) -> str:
        return str(ShownStatus(self.shown_status()).label)

    @property
    def text_locked(self) -> bool:
        return self.shown_at is not None or self.uses > 0

    @property
    def deletable(self) -> bool:
        return self.uses == 0 and not self.redemptions.exists()


class Redemption(TenantOwned):
    """A code used for a booking. Cancelling the booking gives the use back (``released_at``)."""

    code = models.ForeignKey(InvitationCode, on_delete=models.PROTECT, related_name="redemptions")
    booking = models.OneToOneField("bookings.Booking", on_delete=models.PROTECT, related_name="redemption")
    email = models.EmailField()
    redeemed_at = models.DateTimeField(default=timezone.now)
    released_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-redeemed_at"]

    def __str__(self):
        return f"{self.code_id} → booking {self.booking_id}"


class SendChannel(models.TextChoices):
    EMAIL = "email", gettext_lazy("Email")
    SMS = "sms", gettext_lazy("SMS")


class CodeSend(TenantOwned):
    """A code sent to someone (by email or SMS): whom, when, by whom, and the outbox row that carries
    it. A resend is a new row; the first row's time is the code's "sent" time in the analytics."""

    code = models.ForeignKey(InvitationCode, on_delete=models.CASCADE, related_name="sends")
    channel = models.CharField(max_length=5, choices=SendChannel.choices)
    recipient = models.CharField(max_length=254, help_text=gettext_lazy("Email address or phone number (E.164)."))
    name = models.CharField(max_length=200, blank=True)
    outbox_id = models.BigIntegerField(
        null=True, blank=True, help_text=gettext_lazy("The outbox row (email or SMS) that carries it.")
    )
    sent_at = models.DateTimeField(default=timezone.now)
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )

    class Meta:
        indexes = [
            models.Index(fields=["code", "sent_at"], name="codesend_code_idx"),
            models.Index(fields=["tenant", "sent_at"], name="codesend_tenant_idx"),
        ]
        ordering = ["-sent_at", "-id"]

    def __str__(self):
        return f"{self.code_id} → {self.recipient}"
