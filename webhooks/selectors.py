"""Reads of webhook endpoints and deliveries. Every function takes the tenant explicitly."""

from django.db.models import OuterRef, QuerySet, Subquery
from django.http import Http404

from tenancy.models import Tenant

from .models import WebhookDelivery, WebhookEndpoint


def endpoint_list(*, tenant: Tenant) -> QuerySet[WebhookEndpoint]:
    """With each endpoint's latest delivery (status and time), read through its log index."""
    latest = WebhookDelivery.objects.filter(tenant=tenant, endpoint=OuterRef("pk")).order_by("-created_at", "-id")
    return (
        WebhookEndpoint.objects.filter(tenant=tenant)
        .annotate(
            last_status=Subquery(latest.values("status")[:1]),
            last_at=Subquery(latest.values("created_at")[:1]),
        )
        .order_by("created_at", "id")
    )


def endpoint_get(*, tenant: Tenant, endpoint_id: int) -> WebhookEndpoint:
    endpoint = WebhookEndpoint.objects.filter(tenant=tenant, pk=endpoint_id).first()
    if endpoint is None:
        raise Http404("No such webhook endpoint.")
    return endpoint


def delivery_list(
    *, tenant: Tenant, endpoint: WebhookEndpoint | None = None, status: str = "", event: str = ""
) -> QuerySet[WebhookDelivery]:
    """Newest first; the sort ends with the id, so the keyset pages of the log are exact."""
    deliveries = WebhookDelivery.objects.filter(tenant=tenant).select_related("endpoint")
    if endpoint is not None:
        deliveries = deliveries.filter(endpoint=endpoint)
    if status:
        deliveries = deliveries.filter(status=status)
    if event:
        deliveries = deliveries.filter(event=event)
    return deliveries.defer("payload", "last_response", "last_request_headers")


def delivery_get(*, tenant: Tenant, delivery_id: int) -> WebhookDelivery:
    delivery = (
        WebhookDelivery.objects.filter(tenant=tenant, pk=delivery_id).select_related("endpoint", "replay_of").first()
    )
    if delivery is None:
        raise Http404("No such webhook delivery.")
    return delivery
