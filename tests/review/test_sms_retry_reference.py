"""An SMS whose provider accepted it but whose answer was lost is tried again with the same
Idempotency-Key, so a provider that de-duplicates sends it once; a resend is a new message, with
a key of its own."""

import pytest

from messaging import services
from messaging.models import EmailStatus

from ..messaging.test_sms import provider_at, queue_sms, send  # noqa: F401  (provider_at: a fixture)

pytestmark = pytest.mark.django_db


def test_a_retry_carries_the_same_idempotency_key_and_a_resend_a_new_one(tenant, owner, provider_at):  # noqa: F811
    with provider_at((200, {"id": "late"}, 1), (200, {"id": "ok-2"}, 0)) as provider:
        row = queue_sms(tenant)
        assert send(row).outcome == "retry"  # accepted, but the answer came after the timeout
        assert send(row).outcome == "sent"
        copy = services.outbox_resend(tenant=tenant, email=row, actor=owner)
        assert send(copy).outcome == "sent"

    assert row.status == EmailStatus.SENT and row.provider_id == "ok-2"
    first, retry, resend = (request["headers"].get("Idempotency-Key") for request in provider.requests)
    assert first and first == retry
    assert resend and resend != first
