"""Outgoing webhooks: the endpoints a tenant registers and every delivery made to them."""

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy

from tenancy.events import WEBHOOK_EVENTS
from tenancy.models import TenantOwned


class WebhookEndpoint(TenantOwned):
    """A receiver (a CRM, an automation) that wants to hear of some of the tenant's events.

    The secret signs every request (HMAC-SHA256); it is kept because the signature needs it, and
    pages show it only once, right after it was made.
    """

    url = models.URLField(max_length=2000)
    description = models.CharField(max_length=200, blank=True)
    events = models.JSONField(default=list)  # names from tenancy.events.WEBHOOK_EVENTS
    secret = models.CharField(max_length=100)
    active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    secret_rotated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self):
        return self.description or self.url

    @property
    def event_labels(self) -> list[str]:
        return [WEBHOOK_EVENTS.get(name, name) for name in self.events]


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", gettext_lazy("Pending")
    SUCCEEDED = "succeeded", gettext_lazy("Succeeded")
    FAILED = "failed", gettext_lazy("Failed")


class WebhookDelivery(TenantOwned):
    """One event for one endpoint, written in the transaction that published the event.

    ``event_id`` names the event, not the attempt: it is the same for every endpoint that hears the
    event, for every retry and for a replay, so a receiver can drop what it has already handled.
    A worker owns an attempt while ``claimed_at`` is recent (set by one conditional UPDATE).
    """

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(max_length=100)
    event_id = models.UUIDField(default=uuid.uuid4)
    occurred_at = models.DateTimeField(default=timezone.now)
    payload = models.JSONField(default=dict)
    status = models.CharField(max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_response = models.TextField(blank=True)
    last_error = models.TextField(blank=True)
    # The headers of the last request sent (the signature changes with every attempt's time).
    last_request_headers = models.JSONField(default=dict, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)
    replay_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="replays")

    class Meta:
        indexes = [
            models.Index(fields=["tenant", "-created_at", "-id"], name="webhook_delivery_log_idx"),
            models.Index(fields=["endpoint", "-created_at", "-id"], name="webhook_delivery_endpoint_idx"),
            models.Index(
                fields=["next_attempt_at"],
                condition=models.Q(status="pending"),
                name="webhook_delivery_pending_idx",
            ),
        ]
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.event} → {self.endpoint_id} ({self.get_status_display()})"

    @property
    def body(self) -> dict:
        """What is POSTed: the same for every attempt and every replay of the event."""
        return {
            "id": str(self.event_id),
            "type": self.event,
            "created_at": self.occurred_at.isoformat(),
            "data": self.payload,
        }
