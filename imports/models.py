"""Uploaded CSV files and what became of them."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy

from tenancy.models import TenantOwned


class ImportStatus(models.TextChoices):
    VALIDATING = "validating", gettext_lazy("Checking")
    INVALID = "invalid", gettext_lazy("Has problems")
    VALID = "valid", gettext_lazy("Ready to import")
    COMMITTING = "committing", gettext_lazy("Importing")
    COMMITTED = "committed", gettext_lazy("Imported")
    FAILED = "failed", gettext_lazy("Failed")


class ImportJob(TenantOwned):
    """One uploaded file of one kind (``imports.registry``). The file is kept in the row itself, so any
    worker can read it and the import history can offer it again; at most ``IMPORT_MAX_BYTES``."""

    kind = models.CharField(max_length=60)
    params = models.JSONField(default=dict, blank=True)
    original_name = models.CharField(max_length=255)
    content = models.BinaryField()
    size = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=12, choices=ImportStatus.choices, default=ImportStatus.VALIDATING)
    progress = models.PositiveSmallIntegerField(default=0)
    total_rows = models.PositiveIntegerField(default=0)
    problems = models.JSONField(default=list, blank=True)
    problem_count = models.PositiveIntegerField(default=0)
    plan = models.JSONField(default=dict, blank=True)
    summary = models.JSONField(default=dict, blank=True)
    failure = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    validated_at = models.DateTimeField(null=True, blank=True)
    committed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["tenant", "kind", "-created_at"], name="import_tenant_kind_idx")]
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.original_name} ({self.get_status_display()})"

    @property
    def busy(self) -> bool:
        return self.status in (ImportStatus.VALIDATING, ImportStatus.COMMITTING)
