"""Webhook endpoints and deliveries for tests; related rows stay in one tenant."""

import factory

from tenancy.events import WEBHOOK_EVENTS
from webhooks.models import WebhookDelivery, WebhookEndpoint
from webhooks.services import new_secret

from ..factories import InTenant, in_parent_tenant


class EndpointFactory(InTenant):
    class Meta:
        model = WebhookEndpoint

    url = factory.Sequence(lambda n: f"https://crm{n}.example.invalid/hooks/tessera")  # .invalid never resolves
    description = "CRM"
    events = factory.LazyFunction(lambda: list(WEBHOOK_EVENTS))
    secret = factory.LazyFunction(new_secret)


class DeliveryFactory(InTenant):
    parent_field = "endpoint"

    class Meta:
        model = WebhookDelivery

    endpoint = factory.SubFactory(EndpointFactory, tenant=in_parent_tenant())
    event = "code.redeemed"
    payload = factory.LazyFunction(lambda: {"code": {"code": "ABC123"}})
