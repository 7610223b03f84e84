"""Deliveries made by real events and sent to a real HTTP receiver: signing, retries, replay, scope."""

import json
import threading
import uuid

import pytest
from django.db import transaction

from tenancy.events import publish
from tenancy.scoping import isolated_scope
from webhooks import services
from webhooks.models import DeliveryStatus, WebhookDelivery
from webhooks.services import deliveries_sweep, delivery_attempt, delivery_replay

from .conftest import clock, later, redeem
from .factories import EndpointFactory
from .receiver import Answer

pytestmark = pytest.mark.django_db


def redeemed(django_capture_on_commit_callbacks, tenant, code, **kwargs):
    """Redeem the code and commit: the deliveries' tasks run (eagerly) as they would after a real commit."""
    with django_capture_on_commit_callbacks(execute=True):
        return redeem(tenant, code, **kwargs)


def only_delivery(endpoint) -> WebhookDelivery:
    [delivery] = WebhookDelivery.objects.filter(endpoint=endpoint)
    return delivery


def test_a_redemption_makes_one_signed_delivery(tenant, code, receiver, django_capture_on_commit_callbacks):
    endpoint = EndpointFactory(tenant=tenant, url=receiver.url, events=["code.redeemed"])

    booking = redeemed(django_capture_on_commit_callbacks, tenant, code, email="pat@example.com")

    [request] = receiver.requests
    delivery = only_delivery(endpoint)
    assert request.path == "/hooks/tessera"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["Tessera-Event"] == "code.redeemed"
    assert request.headers["Tessera-Delivery"] == str(delivery.pk)
    body = json.loads(request.body)
    assert body["id"] == str(delivery.event_id) and body["type"] == "code.redeemed"
    assert body["data"]["code"]["code"] == code.shown
    assert body["data"]["redemption"]["email"] == "pat@example.com"
    assert body["data"]["booking"]["reference"] == booking.reference
    assert request.signature_valid(endpoint.secret)
    assert not request.signature_valid(services.new_secret())  # another secret does not verify
    assert delivery.status == DeliveryStatus.SUCCEEDED
    assert delivery.attempts == 1 and delivery.last_status_code == 200 and delivery.last_response == "ok"
    assert delivery.delivered_at is not None and delivery.claimed_at is None


def test_a_tampered_body_fails_verification(tenant, code, receiver, django_capture_on_commit_callbacks):
    endpoint = EndpointFactory(tenant=tenant, url=receiver.url, events=["code.redeemed"])
    redeemed(django_capture_on_commit_callbacks, tenant, code)

    [request] = receiver.requests
    request.body = request.body.replace(b'"uses":1', b'"uses":9')
    assert b'"uses":9' in request.body
    assert not request.signature_valid(endpoint.secret)


def test_a_500_is_retried_later_and_then_succeeds(tenant, code, receiver, django_capture_on_commit_callbacks):
    endpoint = EndpointFactory(tenant=tenant, url=receiver.url, events=["code.redeemed"])
    receiver.answer(Answer(500, b"database down"))

    redeemed(django_capture_on_commit_callbacks, tenant, code)
    delivery = only_delivery(endpoint)
    assert delivery.status == DeliveryStatus.PENDING and delivery.attempts == 1
    assert delivery.last_status_code == 500 and delivery.last_response == "database down"
    assert delivery.last_error == "The endpoint answered 500 Internal Server Error."
    first_retry = delivery.next_attempt_at

    assert deliveries_sweep() == 0  # not due yet: nothing is sent again
    assert delivery_attempt(tenant=tenant, delivery_id=delivery.pk).outcome == "skipped"
    assert len(receiver.requests) == 1

    with clock(first_retry + services.SWEEP_GRACE):
        assert deliveries_sweep() == 1

    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SUCCEEDED and delivery.attempts == 2
    assert delivery.last_status_code == 200 and delivery.last_error == ""
    first, second = receiver.requests
    assert json.loads(first.body) == json.loads(second.body)  # the same event, the same id
    assert first.headers["Tessera-Delivery"] == second.headers["Tessera-Delivery"] == str(delivery.pk)
    assert second.signature_valid(endpoint.secret)


def test_backoff_grows_after_each_failure():
    delays = [services.retry_delay(n) for n in range(1, 10)]
    assert delays[:5] == [60, 300, 1800, 7200, 21600]
    assert delays == sorted(delays) and delays[-1] == delays[-2]


def test_a_receiver_that_does_not_answer_in_time_is_retried(
    settings, tenant, code, receiver, django_capture_on_commit_callbacks
):
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.3
    endpoint = EndpointFactory(tenant=tenant, url=receiver.url, events=["code.redeemed"])
    receiver.answer(Answer(200, delay=10))

    redeemed(django_capture_on_commit_callbacks, tenant, code)
    delivery = only_delivery(endpoint)
    assert delivery.status == DeliveryStatus.PENDING and delivery.attempts == 1
    assert delivery.last_status_code is None
    assert delivery.last_error == "No answer within 0.3 seconds."

    with clock(later(minutes=5)):
        assert delivery_attempt(tenant=tenant, delivery_id=delivery.pk).outcome == "succeeded"
    delivery.refresh_from_db()
    assert delivery.attempts == 2 and delivery.status == DeliveryStatus.SUCCEEDED


def test_a_receiver_that_drips_its_answer_is_cut_off_and_retried(settings, tenant, receiver):
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.3  # each byte comes sooner than that, the whole never
    endpoint = EndpointFactory(tenant=tenant, url=receiver.url)
    delivery = WebhookDelivery.objects.create(tenant=tenant, endpoint=endpoint, event="code.redeemed", payload={})
    receiver.answer(Answer(200, drip="status"))

    assert delivery_attempt(tenant=tenant, delivery_id=delivery.pk).outcome == "retry"

    delivery.refresh_from_db()
    assert delivery.last_error == "No complete answer within 0.9 seconds." and delivery.status == DeliveryStatus.PENDING


def test_a_2xx_counts_even_when_the_rest_of_the_answer_never_comes(settings, tenant, receiver):
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.3
    endpoint = EndpointFactory(tenant=tenant, url=receiver.url)
    delivery = WebhookDelivery.objects.create(tenant=tenant, endpoint=endpoint, event="code.redeemed", payload={})
    receiver.answer(Answer(202, drip="body"))

    assert delivery_attempt(tenant=tenant, delivery_id=delivery.pk).outcome == "succeeded"

    delivery.refresh_from_db()
    assert delivery.last_status_code == 202 and delivery.last_response.startswith("X-Slow: x")


def test_a_refused_connection_is_retried(tenant, code, receiver, django_capture_on_commit_callbacks):
    endpoint = EndpointFactory(tenant=tenant, url="http://127.0.0.1:9/nothing-listens", events=["code.redeemed"])

    redeemed(django_capture_on_commit_callbacks, tenant, code)

    delivery = only_delivery(endpoint)
    assert delivery.status == DeliveryStatus.PENDING and delivery.attempts == 1
    assert delivery.last_error == "The connection was refused."


def test_after_the_last_attempt_the_delivery_is_failed_and_shown_so(
    settings, tenant, code, receiver, owner_http, django_capture_on_commit_callbacks
):
    settings.WEBHOOK_MAX_ATTEMPTS = 3
    endpoint = EndpointFactory(tenant=tenant, url=receiver.url, events=["code.redeemed"])
    receiver.answer(*[Answer(503, b"maintenance")] * 5)

    redeemed(django_capture_on_commit_callbacks, tenant, code)
    with clock(later(minutes=10)):
        deliveries_sweep()
    with clock(later(hours=3)):
        deliveries_sweep()
    with clock(later(days=3)):
        assert deliveries_sweep() == 0  # nothing left to send

    delivery = only_delivery(endpoint)
    assert delivery.status == DeliveryStatus.FAILED and delivery.attempts == 3
    assert len(receiver.requests) == 3
    log = owner_http.get("/t/acme/webhooks/deliveries/?status=failed").content.decode()
    assert f"/t/acme/webhooks/deliveries/{delivery.pk}/" in log and "Failed" in log
    page = owner_http.get(f"/t/acme/webhooks/deliveries/{delivery.pk}/").content.decode()
    assert "The endpoint answered 503 Service Unavailable." in page and "maintenance" in page


def test_a_replay_is_a_new_delivery_with_the_same_event_id(tenant, code, receiver, django_capture_on_commit_callbacks):
    endpoint = EndpointFactory(tenant=tenant, url=receiver.url, events=["code.redeemed"])
    redeemed(django_capture_on_commit_callbacks, tenant, code)
    original = only_delivery(endpoint)

    with django_capture_on_commit_callbacks(execute=True):
        copy = delivery_replay(tenant=tenant, delivery=original)

    copy.refresh_from_db()
    assert copy.pk != original.pk and copy.replay_of == original
    assert copy.event_id == original.event_id and copy.payload == original.payload
    assert copy.status == DeliveryStatus.SUCCEEDED
    first, second = receiver.requests
    assert json.loads(first.body) == json.loads(second.body)
    assert second.headers["Tessera-Delivery"] == str(copy.pk) != first.headers["Tessera-Delivery"]


def test_endpoints_that_did_not_choose_the_event_or_are_paused_get_nothing(
    tenant, code, receiver, django_capture_on_commit_callbacks
):
    EndpointFactory(tenant=tenant, url=receiver.url, events=["learner.registered", "access.removed"])
    EndpointFactory(tenant=tenant, url=receiver.url, events=["code.redeemed"], active=False)

    redeemed(django_capture_on_commit_callbacks, tenant, code)

    assert not WebhookDelivery.objects.exists()
    assert receiver.requests == []


def test_an_endpoint_choosing_two_events_of_a_redemption_gets_both_once(
    tenant, code, receiver, django_capture_on_commit_callbacks
):
    endpoint = EndpointFactory(tenant=tenant, url=receiver.url, events=["code.redeemed", "booking.created"])

    redeemed(django_capture_on_commit_callbacks, tenant, code)

    assert sorted(WebhookDelivery.objects.filter(endpoint=endpoint).values_list("event", flat=True)) == [
        "booking.created",
        "code.redeemed",
    ]
    assert sorted(request.headers["Tessera-Event"] for request in receiver.requests) == [
        "booking.created",
        "code.redeemed",
    ]


def test_every_endpoint_hears_an_event_under_one_event_id(tenant, code, receiver, django_capture_on_commit_callbacks):
    first = EndpointFactory(tenant=tenant, url=receiver.url, events=["code.redeemed"])
    second = EndpointFactory(tenant=tenant, url=receiver.url + "?crm=2", events=["code.redeemed"])

    redeemed(django_capture_on_commit_callbacks, tenant, code)

    assert only_delivery(first).event_id == only_delivery(second).event_id
    assert sorted(request.path for request in receiver.requests) == ["/hooks/tessera", "/hooks/tessera?crm=2"]
    assert receiver.requests[0].signature_valid(first.secret) != receiver.requests[0].signature_valid(second.secret)


class Boom(Exception):
    pass


def test_a_rolled_back_transaction_makes_no_delivery(tenant, code, receiver, django_capture_on_commit_callbacks):
    EndpointFactory(tenant=tenant, url=receiver.url, events=["code.redeemed", "booking.created"])

    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(Boom), transaction.atomic():
            redeem(tenant, code)
            assert WebhookDelivery.objects.count() == 2  # written in the publishing transaction…
            raise Boom

    assert not WebhookDelivery.objects.exists()  # … and gone with it
    assert receiver.requests == []


def test_another_tenants_endpoint_never_hears_this_tenants_events(
    tenant, other_tenant, code, receiver, django_capture_on_commit_callbacks
):
    ours = EndpointFactory(tenant=tenant, url=receiver.url + "?ours", events=["code.redeemed"])
    EndpointFactory(tenant=other_tenant, url=receiver.url + "?theirs")  # every event

    redeemed(django_capture_on_commit_callbacks, tenant, code)

    assert [request.path for request in receiver.requests] == ["/hooks/tessera?ours"]
    assert not WebhookDelivery.objects.filter(tenant=other_tenant).exists()
    assert only_delivery(ours).tenant == tenant


def test_events_of_the_audit_trail_are_never_delivered(tenant, receiver, django_capture_on_commit_callbacks):
    endpoint = EndpointFactory(tenant=tenant, url=receiver.url)  # every webhook event
    with django_capture_on_commit_callbacks(execute=True):
        services.endpoint_update(
            tenant=tenant, endpoint=endpoint, url=receiver.url, description="Renamed", events=["code.redeemed"]
        )
        publish(tenant=tenant, name="emails.queued", summary="3 emails queued.")
        services.endpoint_delete(tenant=tenant, endpoint=EndpointFactory(tenant=tenant, url=receiver.url))

    assert not WebhookDelivery.objects.exists()
    assert receiver.requests == []


def test_a_claimed_attempt_is_never_made_twice(tenant, receiver):
    endpoint = EndpointFactory(tenant=tenant, url=receiver.url)
    delivery = WebhookDelivery.objects.create(tenant=tenant, endpoint=endpoint, event="code.redeemed", payload={})

    now = later(seconds=0)
    assert services._claim(tenant, delivery.pk, now) is True
    assert services._claim(tenant, delivery.pk, now) is False  # a second worker handed the same id
    assert delivery_attempt(tenant=tenant, delivery_id=delivery.pk).outcome == "skipped"
    assert receiver.requests == []


def test_a_claim_left_by_a_dead_worker_is_taken_back_by_the_sweeper(tenant, receiver):
    endpoint = EndpointFactory(tenant=tenant, url=receiver.url)
    delivery = WebhookDelivery.objects.create(tenant=tenant, endpoint=endpoint, event="code.redeemed", payload={})
    assert services._claim(tenant, delivery.pk, later(seconds=0))  # the worker then dies

    assert deliveries_sweep() == 0  # a fresh claim: its worker may still be sending
    with clock(later(minutes=10)):
        assert deliveries_sweep() == 1

    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SUCCEEDED and delivery.attempts == 2
    assert len(receiver.requests) == 1


def test_a_dead_workers_last_attempt_is_marked_failed(settings, tenant, receiver):
    settings.WEBHOOK_MAX_ATTEMPTS = 1
    endpoint = EndpointFactory(tenant=tenant, url=receiver.url)
    delivery = WebhookDelivery.objects.create(tenant=tenant, endpoint=endpoint, event="code.redeemed", payload={})
    assert services._claim(tenant, delivery.pk, later(seconds=0))

    with clock(later(minutes=10)):
        deliveries_sweep()

    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED and delivery.last_error == services.SENDING_INTERRUPTED
    assert receiver.requests == []


def test_a_private_address_is_refused_at_send_time(settings, tenant, receiver):
    endpoint = EndpointFactory(tenant=tenant, url=receiver.url)  # saved while private addresses were allowed
    delivery = WebhookDelivery.objects.create(tenant=tenant, endpoint=endpoint, event="code.redeemed", payload={})
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False

    assert delivery_attempt(tenant=tenant, delivery_id=delivery.pk).outcome == "retry"

    delivery.refresh_from_db()
    assert (
        delivery.last_error
        == "127.0.0.1 is a private or local address (127.0.0.1); webhooks go only to public addresses."
    )
    assert receiver.requests == []


@pytest.mark.django_db(transaction=True)
def test_two_workers_sending_the_same_delivery_at_once_send_it_once(tenant, receiver):
    endpoint = EndpointFactory(tenant=tenant, url=receiver.url)
    delivery = WebhookDelivery.objects.create(
        tenant=tenant, endpoint=endpoint, event="code.redeemed", payload={}, event_id=uuid.uuid4()
    )
    receiver.answer(Answer(200, delay=0.5))
    barrier, outcomes = threading.Barrier(4), []

    def worker():
        from django.db import connection

        try:
            barrier.wait()
            with isolated_scope(tenant=tenant):  # as TenantTask runs it
                outcomes.append(delivery_attempt(tenant=tenant, delivery_id=delivery.pk).outcome)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert sorted(outcomes) == ["skipped", "skipped", "skipped", "succeeded"]
    assert len(receiver.requests) == 1
    delivery.refresh_from_db()
    assert delivery.attempts == 1 and delivery.status == DeliveryStatus.SUCCEEDED
