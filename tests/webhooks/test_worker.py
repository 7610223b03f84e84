"""A real Celery worker (a separate process) on the local Redis delivers a webhook after commit."""

import json

import pytest

from webhooks.models import DeliveryStatus, WebhookDelivery

from ..messaging.test_worker import broker, running_worker, wait_for  # noqa: F401  (broker: a fixture)
from .conftest import redeem
from .factories import EndpointFactory

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def webhook_worker(broker):  # noqa: F811
    # The receiver is on 127.0.0.1.
    with running_worker("webhook-worker", WEBHOOK_ALLOW_PRIVATE_ADDRESSES="1") as process:
        yield process


def test_a_worker_delivers_a_redemption_to_the_receiver(tenant, code, receiver, webhook_worker):
    endpoint = EndpointFactory(tenant=tenant, url=receiver.url, events=["code.redeemed"])

    redeem(tenant, code)  # commits: the delivery's task goes to Redis

    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    assert wait_for(lambda: WebhookDelivery.objects.get(pk=delivery.pk).status == DeliveryStatus.SUCCEEDED)
    [request] = receiver.requests
    assert json.loads(request.body)["id"] == str(delivery.event_id)
    assert request.signature_valid(endpoint.secret)
