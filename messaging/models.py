"""The email outbox and per-tenant overrides of email templates."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from tenancy.models import Tenant, TenantOwned

from . import private


class EmailStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


class OutboundEmail(TenantOwned):
    """One email, written in the same transaction as the change that causes it.

    The idempotency key makes asking twice for the same email give the same row; a resend is a new
    row pointing at the original. Rows without a tenant are platform emails (password reset).
    """

    tenant = models.ForeignKey(Tenant, null=True, blank=True, on_delete=models.CASCADE)
    to_email = models.EmailField()
    subject = models.CharField(max_length=998)
    body_text = models.TextField()
    body_html = models.TextField(blank=True)
    template_key = models.CharField(max_length=100)
    status = models.CharField(max_length=10, choices=EmailStatus.choices, default=EmailStatus.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    idempotency_key = models.CharField(max_length=200, unique=True)
    # {placeholder: secret} for links in the body; emptied once the email is sent (messaging/private.py).
    private_values = models.JSONField(default=dict, blank=True)
    resent_from = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="resends")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["tenant", "status", "-created_at"], name="outbox_tenant_status_idx"),
            models.Index(fields=["tenant", "-created_at"], name="outbox_tenant_created_idx"),
            models.Index(
                fields=["next_attempt_at"],
                condition=models.Q(status__in=["queued", "sending"]),
                name="outbox_pending_idx",
            ),
        ]
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.subject} → {self.to_email}"

    @property
    def shown_text(self) -> str:
        return private.mask(self.body_text)

    @property
    def shown_html(self) -> str:
        return private.mask(self.body_html)

    @property
    def private_link_delivered(self) -> bool:
        """It carried a private link, which is gone now that it was delivered: it cannot be resent."""
        return not self.private_values and private.carries_private(self.body_text + self.body_html)


class EmailTemplateOverride(TenantOwned):
    """A tenant's own subject, text and HTML for one kind of email; absent parts use the default file."""

    key = models.CharField(max_length=100)
    subject = models.TextField()
    body_text = models.TextField()
    body_html = models.TextField()
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "key"], name="emailtemplate_unique_key")]

    def __str__(self):
        return f"{self.key} ({self.tenant})"
