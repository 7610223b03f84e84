"""The tenant's audit trail: one row per thing done — created, changed, deleted, sent, redeemed,
revoked, imported — with who, when, what, and the values before and after."""

import json

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy

from tenancy.models import TenantOwned


class Action(models.TextChoices):
    CREATE = "create", gettext_lazy("Created")
    CHANGE = "change", gettext_lazy("Changed")
    DELETE = "delete", gettext_lazy("Deleted")
    SEND = "send", gettext_lazy("Sent")
    REDEEM = "redeem", gettext_lazy("Redeemed")
    REVOKE = "revoke", gettext_lazy("Revoked")
    IMPORT = "import", gettext_lazy("Imported")
    OTHER = "other", gettext_lazy("Other")


class AuditEvent(TenantOwned):
    """Written in the same transaction as the change it records (tenancy/events.py), never edited."""

    occurred_at = models.DateTimeField(default=timezone.now)
    action = models.CharField(max_length=10, choices=Action.choices)
    event = models.CharField(
        max_length=80, help_text=gettext_lazy("What happened, e.g. code.redeemed or accounts.client.changed.")
    )
    actor_label = models.CharField(max_length=254)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    api_key_id = models.BigIntegerField(null=True, blank=True)
    object_type = models.CharField(max_length=100, blank=True)
    object_id = models.CharField(max_length=40, blank=True)
    object_repr = models.CharField(max_length=200, blank=True)
    summary = models.CharField(max_length=500)
    # {field: [before, after]} of a change; the values of a created or deleted object.
    changes = models.JSONField(default=dict, blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["tenant", "id"], name="audit_tenant_id_idx"),
            models.Index(fields=["tenant", "action", "id"], name="audit_tenant_action_idx"),
            models.Index(fields=["tenant", "object_type", "object_id"], name="audit_object_idx"),
            models.Index(fields=["tenant", "occurred_at"], name="audit_tenant_time_idx"),
        ]
        ordering = ["-id"]

    def __str__(self):
        return self.summary

    @property
    def change_rows(self) -> list[tuple[str, object, object]]:
        """(field, before, after) of a change, in field order."""
        rows = []
        for name, values in self.changes.items():
            before, after = (values + [None, None])[:2] if isinstance(values, list) else (None, values)
            rows.append((name.replace("_", " "), before, after))
        return rows

    @property
    def data_json(self) -> str:
        return json.dumps(self.data, indent=2, ensure_ascii=False, sort_keys=True)
