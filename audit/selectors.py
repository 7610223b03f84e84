"""Reading the audit trail: a search over the tenant's events, newest first."""

from datetime import date, datetime, time, timedelta

from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404

from .models import AuditEvent


def audit_search(
    *,
    tenant,
    zone,
    text: str = "",
    action: str = "",
    start: date | None = None,
    end: date | None = None,
    object_type: str = "",
    object_id: str = "",
) -> QuerySet:
    """Events matching every filter given: ``text`` in the summary, the object's name, the actor or
    the event name; ``start``/``end`` are days in ``zone`` (both included)."""
    rows = AuditEvent.objects.filter(tenant=tenant)
    if action:
        rows = rows.filter(action=action)
    if start:
        rows = rows.filter(occurred_at__gte=datetime.combine(start, time.min, tzinfo=zone))
    if end:
        rows = rows.filter(occurred_at__lt=datetime.combine(end + timedelta(days=1), time.min, tzinfo=zone))
    if object_type:
        rows = rows.filter(object_type=object_type)
        if object_id:
            rows = rows.filter(object_id=object_id)
    for word in text.split()[:5]:
        rows = rows.filter(
            Q(summary__icontains=word)
            | Q(object_repr__icontains=word)
            | Q(actor_label__icontains=word)
            | Q(event__icontains=word)
        )
    return rows


def audit_get(*, tenant, event_id: int) -> AuditEvent:
    return get_object_or_404(AuditEvent.objects.filter(tenant=tenant), pk=event_id)
