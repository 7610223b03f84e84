"""Emails queued and sent in batches, against a real SMTP server on 127.0.0.1: one render for many
emails with a private link each, chunks sent over one connection, each email once even when two
senders claim the same chunk at the same moment, and a failure mid-chunk retrying only the failed.
"""

from datetime import timedelta
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from messaging import services, tasks
from messaging.models import EmailStatus, EmailTemplateOverride, OutboundEmail
from messaging.private import MASK

from ..factories import OutboundEmailFactory
from ..races import race
from ..smtp import free_port

pytestmark = pytest.mark.django_db

KIND = "tenancy.staff_invitation"  # its private value: accept_url
CONTEXT = {"invited_by": "Olga", "role": "Staff", "expires_at": "soon"}


class Handler:
    """Records what it accepts; answers ``refuse`` (a code and text) for the addresses in it."""

    def __init__(self):
        self.messages, self.refuse = [], {}

    async def handle_DATA(self, server, session, envelope):
        [to] = envelope.rcpt_tos
        if to in self.refuse:
            return self.refuse[to]
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 2.0.0 OK"


@pytest.fixture
def smtp(settings):
    handler, port = Handler(), free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", port, 5
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    yield handler
    controller.stop()


def recipients(count, prefix="person"):
    return [
        services.Recipient(
            to=f"{prefix}{n}@example.com",
            idempotency_key=f"batch:{prefix}:{n}",
            private={"accept_url": f"http://x/join/{prefix}-{n}-secret/"},
        )
        for n in range(count)
    ]


def queue(tenant, people):
    return services.emails_queue(tenant=tenant, key=KIND, context=CONTEXT, recipients=people)


def link_in(message) -> str:
    return next(word for word in message.get_body(("plain",)).get_content().split() if "/join/" in word)


def delivered_once(smtp, emails) -> bool:
    ids = sorted(m["Message-ID"] for m in smtp.messages)
    return ids == sorted(f"<outbox-{pk}@tessera.localhost>" for pk in emails)


# Queuing many ------------------------------------------------------------------------------------------


def test_a_batch_is_written_with_one_render_and_sent_once_each_after_commit(
    tenant, smtp, django_capture_on_commit_callbacks
):
    people = recipients(250)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with transaction.atomic():
            ids = queue(tenant, people)
            assert smtp.messages == []  # nothing leaves before the commit
    assert len(callbacks) == 3  # chunks of 100, 100 and 50
    assert len(ids) == len(set(ids)) == 250
    emails = {e.pk: e for e in OutboundEmail.objects.filter(pk__in=ids)}
    assert all(e.status == EmailStatus.SENT and e.attempts == 1 and e.private_values == {} for e in emails.values())
    assert delivered_once(smtp, ids)
    # Each recipient got their own link, and only their own.
    links = {m["To"]: link_in(m) for m in smtp.messages}
    assert links == {p.to: p.private["accept_url"] for p in people}
    # The outbox keeps a placeholder, a different one in each email, never the link.
    first, second = emails[ids[0]], emails[ids[1]]
    assert "secret" not in first.body_text + first.body_html and MASK in first.shown_text
    assert first.body_text != second.body_text
    assert first.subject == "You are invited to join Acme Training on Tessera"


def test_the_queries_of_a_batch_do_not_grow_with_its_size(tenant):
    # Sending is left out (the tasks run after a commit that never comes in this test).
    with CaptureQueriesContext(connection) as big:
        queue(tenant, recipients(300, "big"))
    with CaptureQueriesContext(connection) as small:
        queue(tenant, recipients(3, "small"))
    # 10: two of them move the rows through a temporary table (row-level security refuses COPY FROM).
    assert len(big) == len(small) <= 10


def test_a_key_asked_for_before_gives_the_same_row_and_sends_nothing_more(
    tenant, smtp, django_capture_on_commit_callbacks
):
    people = recipients(3)
    with django_capture_on_commit_callbacks(execute=True):
        first = queue(tenant, people[:2])
        again = queue(tenant, people + [people[2]])  # two known, one new asked twice
    assert again[:2] == first and again[2] == again[3]
    assert OutboundEmail.objects.filter(tenant=tenant).count() == 3
    assert sorted(m["To"] for m in smtp.messages) == sorted(p.to for p in people)


def test_the_tenants_template_is_used_for_the_whole_batch(tenant, other_tenant, django_capture_on_commit_callbacks):
    EmailTemplateOverride.objects.create(
        tenant=tenant, key=KIND, subject="Join {{ tenant_name }}", body_text="Go: {{ accept_url }}", body_html="h"
    )
    [here] = queue(tenant, recipients(1))
    [there] = queue(other_tenant, recipients(1))
    here, there = OutboundEmail.objects.get(pk=here), OutboundEmail.objects.get(pk=there)
    assert here.subject == "Join Acme Training" and here.body_text.startswith("Go: private-")
    assert there.subject == "You are invited to join Globex Studio on Tessera"


def test_a_private_value_in_the_shared_context_is_refused(tenant):
    with pytest.raises(ValueError, match="accept_url"):
        services.emails_queue(
            tenant=tenant, key=KIND, context={**CONTEXT, "accept_url": "http://x/"}, recipients=recipients(2)
        )
    assert not OutboundEmail.objects.exists()


# Sending a chunk ---------------------------------------------------------------------------------------


def queued(tenant, count):
    return [OutboundEmailFactory(tenant=tenant, to_email=f"r{n}@example.com").pk for n in range(count)]


def test_a_failure_mid_chunk_retries_only_the_failed_ones(tenant, smtp, settings):
    settings.OUTBOX_RETRY_BASE_SECONDS = 30
    ids = queued(tenant, 6)
    smtp.refuse = {"r2@example.com": "451 4.3.0 Mailbox busy", "r4@example.com": "450 4.2.1 Try later"}
    before = timezone.now()

    results = services.outbox_send_many(tenant=tenant, email_ids=ids)

    assert [results[pk].outcome for pk in ids] == ["sent", "sent", "retry", "sent", "retry", "sent"]
    assert {results[pk].retry_in for pk in (ids[2], ids[4])} == {30}
    failed = OutboundEmail.objects.filter(pk__in=[ids[2], ids[4]])
    assert all(e.status == EmailStatus.QUEUED and e.attempts == 1 for e in failed)
    assert all(
        before + timedelta(seconds=29) < e.next_attempt_at < timezone.now() + timedelta(seconds=31) for e in failed
    )
    assert "451" in failed.get(pk=ids[2]).last_error
    assert sorted(m["To"] for m in smtp.messages) == [
        "r0@example.com",
        "r1@example.com",
        "r3@example.com",
        "r5@example.com",
    ]

    # The retry, handed the whole chunk again (a redelivery), sends the two and nothing else.
    smtp.refuse = {}
    again = services.outbox_send_many(tenant=tenant, email_ids=ids)
    assert [again[pk].outcome for pk in ids] == ["skipped", "skipped", "sent", "skipped", "sent", "skipped"]
    assert delivered_once(smtp, ids)
    assert OutboundEmail.objects.get(pk=ids[2]).attempts == 2


def test_the_task_schedules_one_retry_for_the_failed_ones_only(tenant, smtp, settings, monkeypatch):
    settings.OUTBOX_RETRY_BASE_SECONDS = 30
    ids = queued(tenant, 4)
    smtp.refuse = {"r1@example.com": "451 4.3.0 Busy", "r3@example.com": "451 4.3.0 Busy"}
    scheduled = []
    monkeypatch.setitem(tasks.send_outbound_emails.app.conf, "task_always_eager", False)
    monkeypatch.setattr(tasks.send_outbound_emails, "apply_async", lambda **kw: scheduled.append(kw))

    assert tasks.send_outbound_emails.run(tenant=tenant, email_ids=ids) == {"sent": 2, "retry": 2}

    assert scheduled == [{"kwargs": {"tenant_id": tenant.pk, "email_ids": [ids[1], ids[3]]}, "countdown": 30}]


def test_a_server_that_drops_the_connection_mid_chunk_does_not_fail_the_rest(tenant, smtp):
    ids = queued(tenant, 4)
    smtp.refuse = {"r1@example.com": "421 4.3.2 Closing connection"}  # the client must reconnect

    results = services.outbox_send_many(tenant=tenant, email_ids=ids)

    assert [results[pk].outcome for pk in ids] == ["sent", "retry", "sent", "sent"]
    assert sorted(m["To"] for m in smtp.messages) == ["r0@example.com", "r2@example.com", "r3@example.com"]


def test_a_server_that_does_not_answer_fails_the_attempt_of_the_whole_chunk(tenant, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", free_port(), 2
    ids = queued(tenant, 3)

    results = services.outbox_send_many(tenant=tenant, email_ids=ids)

    assert {r.outcome for r in results.values()} == {"retry"}
    emails = OutboundEmail.objects.filter(pk__in=ids)
    assert all(e.status == EmailStatus.QUEUED and e.attempts == 1 and "refused" in e.last_error for e in emails)


def test_a_chunk_that_runs_out_of_time_gives_the_rest_back_without_counting_an_attempt(tenant, smtp, settings):
    """Rows left in "sending" too long would be handed out again by the sweeper while still being sent."""
    settings.OUTBOX_SENDING_TIMEOUT_SECONDS = 0
    ids = queued(tenant, 3)

    results = services.outbox_send_many(tenant=tenant, email_ids=ids)

    assert {(r.outcome, r.retry_in) for r in results.values()} == {("retry", 0)}
    assert smtp.messages == []
    emails = OutboundEmail.objects.filter(pk__in=ids)
    assert all(e.status == EmailStatus.QUEUED and e.attempts == 0 for e in emails)


def test_another_tenants_email_is_not_sent_from_this_tenants_chunk(tenant, other_tenant, smtp):
    mine, theirs = queued(tenant, 1), queued(other_tenant, 1)
    results = services.outbox_send_many(tenant=tenant, email_ids=mine + theirs)
    assert results[mine[0]].outcome == "sent" and results[theirs[0]].outcome == "skipped"
    assert OutboundEmail.objects.get(pk=theirs[0]).status == EmailStatus.QUEUED


def test_a_row_the_sweeper_handed_to_someone_else_is_not_overwritten(tenant, smtp, monkeypatch):
    """The sender that claimed a row first must not mark it: it is someone else's now."""
    [pk] = queued(tenant, 1)
    later = timezone.now() + timedelta(minutes=1)
    real_build = services.build_message

    def reclaimed_meanwhile(email, **kwargs):
        OutboundEmail.objects.filter(pk=email.pk).update(claimed_at=later)  # the sweeper, then a new claim
        return real_build(email, **kwargs)

    monkeypatch.setattr(services, "build_message", reclaimed_meanwhile)
    services.outbox_send_many(tenant=tenant, email_ids=[pk])
    email = OutboundEmail.objects.get(pk=pk)
    assert email.status == EmailStatus.SENDING and email.claimed_at == later


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("round_", range(3))
def test_two_senders_claiming_the_same_chunk_at_once_send_each_email_once(tenant, smtp, round_):
    ids = queued(tenant, 60)
    first, second = ids[:40], ids[20:]  # overlapping: the middle 20 are in both

    outcomes = race(
        tenant,
        [
            lambda: services.outbox_send_many(tenant=tenant, email_ids=first),
            lambda: services.outbox_send_many(tenant=tenant, email_ids=second),
        ],
    )

    assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
    for pk in ids:
        sent_by = [o[pk].outcome for o in outcomes if pk in o and o[pk].outcome == "sent"]
        assert sent_by == ["sent"], pk
    assert delivered_once(smtp, ids)
    assert set(OutboundEmail.objects.filter(pk__in=ids).values_list("status", "attempts")) == {(EmailStatus.SENT, 1)}


def test_the_sweeper_sends_what_it_finds_in_chunks_per_tenant(tenant, other_tenant, smtp, settings):
    overdue = timezone.now() - timedelta(seconds=settings.OUTBOX_STALE_SECONDS + 60)
    ids = [
        OutboundEmailFactory(tenant=t, to_email=f"s{n}@example.com", next_attempt_at=overdue).pk
        for n, t in enumerate([tenant] * 120 + [other_tenant] * 3)
    ]
    assert services.outbox_sweep() == 123
    assert delivered_once(smtp, ids)


@pytest.mark.django_db(transaction=True)
def test_an_unexpected_error_mid_chunk_gives_the_untried_rows_back_at_once(tenant, smtp, monkeypatch):
    """The database refusing to mark one email sent: that one stays "sending" (it went out; the
    sweeper decides), the ones after it are queued again at once, not held until the sweeper."""
    ids = queued(tenant, 4)
    marks = {"n": 0}
    real_cursor = connection.cursor

    def cursor(*args, **kwargs):
        wrapped = real_cursor(*args, **kwargs)
        real_execute = wrapped.execute

        def execute(sql, params=None):
            if sql is services.MARK_SENT:
                marks["n"] += 1
                if marks["n"] == 2:  # the second email's mark fails
                    sql, params = "SELECT 1 / 0", None
            return real_execute(sql, params)

        wrapped.execute = execute
        return wrapped

    monkeypatch.setattr(connection, "cursor", cursor)
    with pytest.raises(Exception, match="division by zero"):
        services.outbox_send_many(tenant=tenant, email_ids=ids)
    monkeypatch.undo()

    status = dict(OutboundEmail.objects.filter(pk__in=ids).values_list("pk", "status"))
    assert [status[pk] for pk in ids] == [EmailStatus.SENT, EmailStatus.SENDING, EmailStatus.QUEUED, EmailStatus.QUEUED]
    assert sorted(m["To"] for m in smtp.messages) == ["r0@example.com", "r1@example.com"]
    assert all(e.attempts == 0 for e in OutboundEmail.objects.filter(pk__in=ids[2:]))
