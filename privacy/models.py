"""A tenant's data exports (one zip archive of all its rows) and the erasures of one person's data."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy

from tenancy.models import TenantOwned


class ExportStatus(models.TextChoices):
    QUEUED = "queued", gettext_lazy("Queued")
    RUNNING = "running", gettext_lazy("Preparing")
    READY = "ready", gettext_lazy("Ready")
    FAILED = "failed", gettext_lazy("Failed")
    EXPIRED = "expired", gettext_lazy("Deleted")


BUSY_STATUSES = (ExportStatus.QUEUED, ExportStatus.RUNNING)


class DataExport(TenantOwned):
    """One archive of the tenant's data, built by a task, downloadable until ``expires_at``.

    The archive's file name is ``file_token`` (random): the file is never served by its name, only
    through the owners' download page, and the token keeps two exports from ever sharing a file.
    """

    status = models.CharField(max_length=10, choices=ExportStatus.choices, default=ExportStatus.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0)
    file_token = models.CharField(max_length=64, blank=True)
    size = models.PositiveBigIntegerField(default=0)
    row_count = models.PositiveBigIntegerField(default=0)
    manifest = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    downloads = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            # One export at a time per tenant: a second request while one is being built is refused.
            models.UniqueConstraint(
                fields=["tenant"],
                condition=Q(status__in=["queued", "running"]),
                name="privacy_one_busy_export",
            ),
        ]
        indexes = [models.Index(fields=["tenant", "-id"], name="privacy_export_tenant_idx")]
        ordering = ["-id"]

    def __str__(self):
        return f"Data export #{self.pk} ({self.get_status_display()})"

    @property
    def busy(self) -> bool:
        return self.status in BUSY_STATUSES

    @property
    def downloadable(self) -> bool:
        return (
            self.status == ExportStatus.READY
            and bool(self.file_token)
            and self.expires_at is not None
            and self.expires_at > timezone.now()
        )


class Erasure(TenantOwned):
    """One erasure of a person's data. Holds only the SHA-256 of the address, never the address."""

    email_sha256 = models.CharField(max_length=64)
    counts = models.JSONField(default=dict, blank=True)
    login_deactivated = models.BooleanField(default=False)
    erased_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-id"]

    def __str__(self):
        return f"Erasure #{self.pk}"

    @property
    def placeholder_email(self) -> str:
        return f"erased-{self.pk}@erased.invalid"

    @property
    def total(self) -> int:
        return sum(self.counts.values())
