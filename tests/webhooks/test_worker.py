"""A real Celery worker (a separate process) on the local Redis delivers a webhook after commit."""

import json
import os
import subprocess
import sys

import pytest

from webhooks.models import DeliveryStatus, WebhookDelivery

from ..messaging.test_worker import BROKER_URL, ROOT, broker, database_url, wait_for  # noqa: F401  (broker: a fixture)
from .conftest import redeem
from .factories import EndpointFactory

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def webhook_worker(broker):  # noqa: F811
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": database_url(),
        "CELERY_BROKER_URL": BROKER_URL,
        "WEBHOOK_ALLOW_PRIVATE_ADDRESSES": "1",  # the receiver is on 127.0.0.1
        "SECRET_KEY": "worker-test",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=solo", "--loglevel=INFO"]
        + ["--without-gossip", "--without-mingle", "--hostname=webhook-worker@%h"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    yield process
    process.terminate()
    try:
        output, _ = process.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
    print(output[-4000:])  # shown when a test fails


def test_a_worker_delivers_a_redemption_to_the_receiver(tenant, code, receiver, webhook_worker):
    endpoint = EndpointFactory(tenant=tenant, url=receiver.url, events=["code.redeemed"])

    redeem(tenant, code)  # commits: the delivery's task goes to Redis

    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    assert wait_for(lambda: WebhookDelivery.objects.get(pk=delivery.pk).status == DeliveryStatus.SUCCEEDED)
    [request] = receiver.requests
    assert json.loads(request.body)["id"] == str(delivery.event_id)
    assert request.signature_valid(endpoint.secret)
