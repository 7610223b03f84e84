"""The email outbox and per-tenant overrides of email templates."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy

from tenancy.models import Tenant, TenantOwned

from . import private


class EmailStatus(models.TextChoices):
    QUEUED = "queued", gettext_lazy("Queued")
    SENDING = "sending", gettext_lazy("Sending")
    SENT = "sent", gettext_lazy("Sent")
    FAILED = "failed", gettext_lazy("Failed")


class Channel(models.TextChoices):
    EMAIL = "email", gettext_lazy("Email")
    SMS = "sms", gettext_lazy("SMS")


class OutboundEmail(TenantOwned):
    """One email or SMS (the outbox), written in the same transaction as the change that causes it.

    The idempotency key makes asking twice for the same message give the same row; a resend is a new
    row pointing at the original. Rows without a tenant are platform emails (password reset). An SMS
    row has ``to_phone`` (E.164) and only ``body_text``; its ``subject`` is what the Outbox lists.
    """

    tenant = models.ForeignKey(Tenant, null=True, blank=True, on_delete=models.CASCADE)
    channel = models.CharField(max_length=5, choices=Channel.choices, default=Channel.EMAIL, db_default=Channel.EMAIL)
    to_email = models.EmailField(blank=True)
    to_phone = models.CharField(max_length=16, blank=True, default="", db_default="")
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
    # The SMS provider's id for the accepted message (its answer's "id"), for questions to the provider.
    provider_id = models.CharField(max_length=100, blank=True, default="", db_default="")

    class Meta:
        indexes = [
            models.Index(fields=["tenant", "status", "-created_at"], name="outbox_tenant_status_idx"),
            models.Index(fields=["tenant", "channel", "-created_at"], name="outbox_tenant_channel_idx"),
            models.Index(fields=["tenant", "-created_at"], name="outbox_tenant_created_idx"),
            models.Index(
                fields=["next_attempt_at"],
                condition=models.Q(status__in=["queued", "sending"]),
                name="outbox_pending_idx",
            ),
        ]
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.subject} → {self.recipient}"

    @property
    def recipient(self) -> str:
        return self.to_phone if self.channel == Channel.SMS else self.to_email

    @property
    def is_sms(self) -> bool:
        return self.channel == Channel.SMS

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
