"""SMS through the outbox: phone numbers, the backends (a real HTTP provider on 127.0.0.1), retries,
refusals, the Outbox page and resend."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command

from messaging import services
from messaging.models import Channel, EmailStatus, OutboundEmail
from messaging.services import Recipient
from messaging.sms import PHONE_INVALID, phone_normalise
from messaging.sms.backends import ConsoleBackend, SmsMessage
from tenancy import events

from ..factories import OutboundEmailFactory

pytestmark = pytest.mark.django_db

KIND = "invitations.code_sent"
CONTEXT = {
    "contract": "Acme staff",
    "book_url": "http://testserver/t/acme/book/",
    "name": "Ana",
    "codes": [],
    "codes_text": "ACME-7KD9Q",
    "count": 1,
}


class Provider:
    """An SMS provider on 127.0.0.1: answers each POST with the next scripted ``(status, body, delay)``
    (the last one again when the script runs out) and records what it was sent."""

    def __init__(self, *answers):
        self.answers = list(answers) or [(200, {"id": "msg-1"}, 0)]
        self.requests = []
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                provider.requests.append({"headers": dict(self.headers), "json": json.loads(body), "path": self.path})
                status, answer, delay = provider.answers.pop(0) if len(provider.answers) > 1 else provider.answers[0]
                if delay:
                    time.sleep(delay)
                data = answer if isinstance(answer, bytes) else json.dumps(answer).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:  # the client gave up (the timeout test)
                    pass

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1/messages"

    def __enter__(self):
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def provider_at(settings):
    def start(*answers):
        provider = Provider(*answers)
        settings.SMS_URL = provider.url
        settings.SMS_API_KEY = "test-key"
        settings.SMS_FROM = "Acme"
        settings.SMS_TIMEOUT_SECONDS = 0.5
        return provider

    return start


def queue_sms(tenant, to="+44 7700 900123", key="sms-1"):
    return services.sms_queue(tenant=tenant, to=to, key=KIND, context=CONTEXT, idempotency_key=key)


def send(row):
    result = services.outbox_send(tenant=row.tenant, email_id=row.pk)
    row.refresh_from_db()
    return result


# Phone numbers


@pytest.mark.parametrize(
    ("typed", "e164"),
    [
        ("+44 7700 900123", "+447700900123"),
        ("+44 (0)20 7946-0958", "+442079460958"),
        ("0044 20 7946 0958", "+442079460958"),
        ("+1 (415) 555-2671", "+14155552671"),
        (" +358.40.123.4567 ", "+358401234567"),
    ],
)
def test_phone_numbers_are_written_in_e164(typed, e164):
    assert phone_normalise(typed) == e164


@pytest.mark.parametrize("typed", ["07700 900123", "+44 12", "+0044123456789", "call me", "", "+1234567890123456"])
def test_numbers_without_a_country_code_or_of_the_wrong_length_are_refused(typed):
    with pytest.raises(ValidationError) as refused:
        phone_normalise(typed)
    assert refused.value.messages == [PHONE_INVALID.format(text=typed.strip() or "(empty)")]


# Queueing


def test_an_sms_is_one_outbox_row_with_the_number_and_the_text(tenant):
    row = queue_sms(tenant)

    assert row.channel == Channel.SMS and row.to_phone == "+447700900123" and row.to_email == ""
    assert row.status == EmailStatus.QUEUED
    assert "Acme Training: Ana, your invitation code: ACME-7KD9Q. Book at http://testserver/t/acme/book/" in (
        row.body_text
    )
    assert row.body_html == ""


def test_asking_twice_with_the_same_key_gives_the_same_sms(tenant):
    assert queue_sms(tenant).pk == queue_sms(tenant).pk
    assert OutboundEmail.objects.filter(tenant=tenant).count() == 1


def test_a_bad_number_writes_nothing(tenant):
    with pytest.raises(ValidationError):
        queue_sms(tenant, to="07700 900123")
    with pytest.raises(ValidationError):
        services.sms_queue_many(
            tenant=tenant,
            key=KIND,
            context=CONTEXT,
            recipients=[Recipient("+447700900123", "a"), Recipient("not a number", "b")],
        )
    assert not OutboundEmail.objects.filter(tenant=tenant).exists()


def test_many_sms_go_in_at_once_each_with_its_own_values(tenant):
    ids = services.sms_queue_many(
        tenant=tenant,
        key=KIND,
        context={key: value for key, value in CONTEXT.items() if key not in ("name", "codes_text")},
        recipients=[
            Recipient("+447700900123", "bulk-1", context={"name": "Ana", "codes_text": "ACME-AAAAA"}),
            Recipient("+14155552671", "bulk-2", context={"name": "Sam", "codes_text": "ACME-BBBBB"}),
        ],
    )
    first, second = (OutboundEmail.objects.get(pk=pk) for pk in ids)
    assert (first.to_phone, second.to_phone) == ("+447700900123", "+14155552671")
    assert "Ana, your invitation code: ACME-AAAAA" in first.body_text
    assert "Sam, your invitation code: ACME-BBBBB" in second.body_text
    # Asked again: the same rows, nothing new.
    again = services.sms_queue_many(
        tenant=tenant,
        key=KIND,
        context=CONTEXT,
        recipients=[Recipient("+447700900123", "bulk-1"), Recipient("+14155552671", "bulk-2")],
    )
    assert again == ids and OutboundEmail.objects.filter(tenant=tenant).count() == 2


def test_queueing_publishes_a_domain_event(tenant, monkeypatch):
    heard = []
    monkeypatch.setattr(events, "_subscribers", [heard.append])

    queue_sms(tenant)
    services.sms_queue_many(
        tenant=tenant,
        key=KIND,
        context=CONTEXT,
        recipients=[Recipient("+447700900123", "m-1"), Recipient("+14155552671", "m-2")],
    )

    assert [event.name for event in heard] == ["sms.queued", "sms.batch_queued"]
    assert heard[0].payload == {"to": "+447700900123", "template": KIND}
    assert heard[1].payload["count"] == 2


# Backends


def test_the_http_provider_gets_json_with_the_key_and_its_message_id_is_kept(tenant, provider_at):
    with provider_at((201, {"id": "prov-42", "status": "accepted"}, 0)) as provider:
        row = queue_sms(tenant)
        assert send(row).outcome == "sent"

    assert row.status == EmailStatus.SENT and row.provider_id == "prov-42" and row.sent_at
    [request] = provider.requests
    assert request["headers"]["Authorization"] == "Bearer test-key"
    assert request["json"] == {"to": "+447700900123", "from": "Acme", "text": row.body_text.strip()}


def test_a_server_error_is_retried_and_the_next_attempt_delivers(tenant, provider_at):
    with provider_at((500, {"error": "upstream down"}, 0), (200, {"id": "ok-2"}, 0)) as provider:
        row = queue_sms(tenant)
        assert send(row).outcome == "retry"
        assert row.status == EmailStatus.QUEUED and row.attempts == 1
        assert "500" in row.last_error and "upstream down" in row.last_error
        assert send(row).outcome == "sent"

    assert row.status == EmailStatus.SENT and row.provider_id == "ok-2" and row.attempts == 2
    assert len(provider.requests) == 2


def test_too_many_requests_is_retried(tenant, provider_at):
    with provider_at((429, {"message": "slow down"}, 0)):
        row = queue_sms(tenant)
        assert send(row).outcome == "retry"
    assert row.status == EmailStatus.QUEUED and "slow down" in row.last_error


def test_a_refused_message_fails_at_once_with_the_providers_words(tenant, provider_at, owner_http):
    with provider_at((400, {"error": "Invalid destination number"}, 0)) as provider:
        row = queue_sms(tenant)
        assert send(row).outcome == "failed"
        assert send(row).outcome == "skipped"  # not tried again

    assert row.status == EmailStatus.FAILED and row.attempts == 1
    assert row.last_error == "The SMS provider refused the message (400): Invalid destination number"
    assert len(provider.requests) == 1
    page = owner_http.get(f"/t/acme/outbox/{row.pk}/").content.decode()
    assert "Invalid destination number" in page and "+447700900123" in page


def test_a_provider_that_does_not_answer_in_time_is_tried_again_later(tenant, provider_at):
    with provider_at((200, {"id": "late"}, 2)):
        row = queue_sms(tenant)
        assert send(row).outcome == "retry"
    assert row.status == EmailStatus.QUEUED and "could not be reached" in row.last_error


def test_a_provider_that_is_not_there_is_tried_again_later(tenant, settings):
    provider = Provider()  # never started: nothing listens on its port once closed
    provider.server.server_close()
    settings.SMS_URL = provider.url
    row = queue_sms(tenant)
    assert send(row).outcome == "retry"
    assert "could not be reached" in row.last_error


def test_the_last_attempt_of_a_temporary_failure_fails_visibly(tenant, provider_at, settings):
    settings.OUTBOX_MAX_ATTEMPTS = 2
    with provider_at((503, b"maintenance", 0)):
        row = queue_sms(tenant)
        send(row)
        assert send(row).outcome == "failed"
    assert row.status == EmailStatus.FAILED and "503" in row.last_error and "maintenance" in row.last_error


def test_the_outbox_backend_keeps_the_message_only(tenant, settings):
    settings.SMS_URL = "outbox://"
    row = queue_sms(tenant)
    assert send(row).outcome == "sent"
    assert row.provider_id == "outbox"


def test_the_console_backend_prints_the_message():
    stream = StringIO()
    ConsoleBackend(stream).send(SmsMessage(to="+447700900123", text="Your code: X", sender="Acme"))
    assert "SMS from Acme to +447700900123:\nYour code: X" in stream.getvalue()


def test_a_chunk_of_emails_and_sms_sends_both(tenant, settings, mailoutbox):
    settings.SMS_URL = "outbox://"
    email = OutboundEmailFactory(tenant=tenant, to_email="pat@example.com")
    text = queue_sms(tenant)

    results = services.outbox_send_many(tenant=tenant, email_ids=[email.pk, text.pk])

    assert {pk: result.outcome for pk, result in results.items()} == {email.pk: "sent", text.pk: "sent"}
    assert [message.to for message in mailoutbox] == [["pat@example.com"]]


def test_the_sweeper_picks_up_an_sms_whose_task_was_lost(tenant, settings):
    settings.SMS_URL = "outbox://"
    row = queue_sms(tenant)
    OutboundEmail.objects.filter(pk=row.pk).update(next_attempt_at=row.created_at.replace(year=2000))

    call_command("sweep_outbox", stdout=StringIO())

    row.refresh_from_db()
    assert row.status == EmailStatus.SENT


# Pages


def test_the_outbox_shows_the_channel_and_the_number_and_filters_by_channel(tenant, staff_http):
    text = queue_sms(tenant)
    email = OutboundEmailFactory(tenant=tenant, to_email="pat@example.com")

    page = staff_http.get("/t/acme/outbox/").content.decode()
    assert "+447700900123" in page and "pat@example.com" in page and ">SMS<" in page

    only_sms = staff_http.get("/t/acme/outbox/", {"channel": "sms"}).content.decode()
    assert "+447700900123" in only_sms and "pat@example.com" not in only_sms
    only_email = staff_http.get("/t/acme/outbox/", {"channel": "email"}).content.decode()
    assert "pat@example.com" in only_email and "+447700900123" not in only_email
    assert staff_http.get("/t/acme/outbox/", {"q": "7700"}).context["page"].object_list[0].pk == text.pk
    assert email.pk  # both listed without a filter


def test_a_junk_channel_filter_is_ignored_with_a_message(tenant, staff_http):
    queue_sms(tenant)
    response = staff_http.get("/t/acme/outbox/", {"channel": "pigeon"})
    assert response.status_code == 200
    assert "This filter was ignored" in response.content.decode()
    assert len(response.context["page"].object_list) == 1


def test_resending_an_sms_queues_a_new_sms_to_the_same_number(tenant, admin_http, settings):
    settings.SMS_URL = "outbox://"
    row = queue_sms(tenant)
    send(row)

    response = admin_http.post(f"/t/acme/outbox/{row.pk}/resend/")

    copy = OutboundEmail.objects.exclude(pk=row.pk).get(tenant=tenant)
    assert response.url == f"/t/acme/outbox/{copy.pk}/"
    assert copy.channel == Channel.SMS and copy.to_phone == row.to_phone and copy.body_text == row.body_text
    assert copy.resent_from_id == row.pk


def test_another_tenants_sms_is_not_found(tenant, other_tenant, staff_http):
    theirs = queue_sms(other_tenant)
    assert staff_http.get(f"/t/acme/outbox/{theirs.pk}/").status_code == 404
    assert "+447700900123" not in staff_http.get("/t/acme/outbox/", {"channel": "sms"}).content.decode()
