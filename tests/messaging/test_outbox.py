"""The outbox against a real SMTP server on 127.0.0.1: sent once, retried, failed, never on rollback."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from messaging import services
from messaging.models import EmailStatus, OutboundEmail
from messaging.tasks import send_outbound_email, sweep_outbox

from ..factories import OutboundEmailFactory
from ..smtp import SmtpServer

pytestmark = pytest.mark.django_db


@pytest.fixture
def smtp(settings):
    with SmtpServer() as server:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST = "127.0.0.1"
        settings.EMAIL_PORT = server.port
        settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
        settings.EMAIL_TIMEOUT = 5
        yield server


def queue(tenant, key="staff-invite-1", to="pat@example.com"):
    return services.email_queue(
        tenant=tenant,
        to=to,
        key="tenancy.staff_invitation",
        context={"invited_by": "Olga", "role": "Staff", "accept_url": "http://x/join/t/", "expires_at": "soon"},
        idempotency_key=key,
    )


def test_an_email_is_sent_once_after_commit(tenant, smtp, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with transaction.atomic():
            email = queue(tenant)
            assert smtp.messages == []  # nothing leaves before the commit
    assert len(callbacks) == 1
    email.refresh_from_db()
    assert email.status == EmailStatus.SENT and email.attempts == 1 and email.sent_at
    [message] = smtp.messages
    assert message["To"] == "pat@example.com"
    assert message["Subject"] == "You are invited to join Acme Training on Tessera"
    assert message["Message-ID"] == f"<outbox-{email.pk}@tessera.localhost>"
    assert "Acme Training" in message["From"]
    assert "http://x/join/t/" in message.get_body(("plain",)).get_content()
    assert "Accept the invitation" in message.get_body(("html",)).get_content()

    # The same task delivered twice (a broker redelivery) sends nothing more.
    assert send_outbound_email.delay(tenant_id=tenant.pk, email_id=email.pk).get() == "skipped"
    assert len(smtp.messages) == 1


def test_asking_twice_with_the_same_key_gives_one_email(tenant, smtp, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        first = queue(tenant, key="same")
        second = queue(tenant, key="same")
    assert first.pk == second.pk
    assert OutboundEmail.objects.filter(tenant=tenant).count() == 1
    assert len(smtp.messages) == 1


def test_nothing_is_written_or_sent_when_the_transaction_rolls_back(tenant, smtp, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError):
            with transaction.atomic():
                queue(tenant)
                raise RuntimeError("the change that caused the email failed")
    assert callbacks == []
    assert OutboundEmail.objects.count() == 0
    assert smtp.messages == []


def test_a_refused_attempt_is_retried_with_backoff_then_sent(tenant, smtp, settings):
    settings.OUTBOX_RETRY_BASE_SECONDS = 30
    email = OutboundEmailFactory(tenant=tenant)
    smtp.refuse(1)
    before = timezone.now()
    result = services.outbox_send(tenant=tenant, email_id=email.pk)
    assert result.outcome == "retry" and result.retry_in == 30
    email.refresh_from_db()
    assert email.status == EmailStatus.QUEUED and email.attempts == 1
    assert "451" in email.last_error
    assert before + timedelta(seconds=29) < email.next_attempt_at < timezone.now() + timedelta(seconds=31)
    assert smtp.messages == []

    assert services.outbox_send(tenant=tenant, email_id=email.pk).outcome == "sent"
    email.refresh_from_db()
    assert email.status == EmailStatus.SENT and email.attempts == 2 and email.last_error == ""
    assert len(smtp.messages) == 1


def test_backoff_doubles(settings):
    settings.OUTBOX_RETRY_BASE_SECONDS = 10
    assert [services.retry_delay(n) for n in (1, 2, 3, 4)] == [10, 20, 40, 80]


def make_due(email, settings):
    OutboundEmail.objects.filter(pk=email.pk).update(
        next_attempt_at=timezone.now() - timedelta(seconds=settings.OUTBOX_STALE_SECONDS + 1)
    )


def test_without_a_broker_a_failed_email_waits_for_the_sweeper(
    tenant, smtp, settings, django_capture_on_commit_callbacks
):
    """Tasks run in-process: a retry must not run at once (ignoring the backoff and holding the
    request); the email stays queued until `manage.py sweep_outbox` (beat, in a deployment)."""
    smtp.refuse(2)
    with django_capture_on_commit_callbacks(execute=True):
        email = queue(tenant)
    email.refresh_from_db()
    assert email.status == EmailStatus.QUEUED and email.attempts == 1
    assert email.next_attempt_at > timezone.now()
    for _ in range(2):
        make_due(email, settings)
        call_command("sweep_outbox", stdout=StringIO())
    email.refresh_from_db()
    assert email.status == EmailStatus.SENT and email.attempts == 3
    assert len(smtp.messages) == 1


def test_an_email_ends_failed_after_the_last_attempt(tenant, smtp, settings, django_capture_on_commit_callbacks):
    settings.OUTBOX_MAX_ATTEMPTS = 3
    smtp.refuse(100)
    with django_capture_on_commit_callbacks(execute=True):
        email = queue(tenant)
    for _ in range(5):
        make_due(email, settings)
        call_command("sweep_outbox", stdout=StringIO())
    email.refresh_from_db()
    assert email.status == EmailStatus.FAILED and email.attempts == 3
    assert "451" in email.last_error
    assert smtp.messages == []


def test_a_server_that_does_not_answer_counts_as_a_failed_attempt(tenant, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 1, 2
    email = OutboundEmailFactory(tenant=tenant)
    assert services.outbox_send(tenant=tenant, email_id=email.pk).outcome == "retry"
    email.refresh_from_db()
    assert email.status == EmailStatus.QUEUED and "Connection refused" in email.last_error


def test_the_sweeper_recovers_lost_and_interrupted_emails(tenant, other_tenant, smtp, settings):
    now = timezone.now()
    lost = OutboundEmailFactory(tenant=tenant, next_attempt_at=now - timedelta(minutes=10))
    interrupted = OutboundEmailFactory(
        tenant=other_tenant, status=EmailStatus.SENDING, attempts=1, claimed_at=now - timedelta(hours=1)
    )
    exhausted = OutboundEmailFactory(
        tenant=tenant,
        status=EmailStatus.SENDING,
        attempts=settings.OUTBOX_MAX_ATTEMPTS,
        claimed_at=now - timedelta(hours=1),
    )
    fresh = OutboundEmailFactory(tenant=tenant)  # its task is on the way: leave it alone
    waiting = OutboundEmailFactory(tenant=tenant, attempts=1, next_attempt_at=now + timedelta(minutes=5))

    assert sweep_outbox() == 2
    for email in (lost, interrupted, exhausted, fresh, waiting):
        email.refresh_from_db()
    assert lost.status == interrupted.status == EmailStatus.SENT
    assert interrupted.attempts == 2
    assert exhausted.status == EmailStatus.FAILED and exhausted.last_error == services.SENDING_INTERRUPTED
    assert fresh.status == waiting.status == EmailStatus.QUEUED
    assert sorted(m["To"] for m in smtp.messages) == sorted([lost.to_email, interrupted.to_email])


def test_a_resend_is_a_new_row_and_a_new_email(tenant, owner, smtp, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        original = queue(tenant)
        copy = services.outbox_resend(tenant=tenant, email=original, actor=owner)
    assert copy.pk != original.pk and copy.resent_from == original
    copy.refresh_from_db()
    assert copy.status == EmailStatus.SENT
    assert [m["Subject"] for m in smtp.messages] == [original.subject, original.subject]


def test_a_broken_tenant_template_falls_back_to_the_default(tenant, django_capture_on_commit_callbacks):
    from messaging.models import EmailTemplateOverride

    EmailTemplateOverride.objects.create(
        tenant=tenant,
        key="tenancy.staff_invitation",
        subject="{% for a, b in role %}{% endfor %}",  # fails at render time: a string is not pairs
        body_text="t",
        body_html="h",
    )
    email = queue(tenant)
    assert email.subject == "You are invited to join Acme Training on Tessera"


def test_a_private_link_is_only_in_the_recipients_copy(tenant, smtp, owner_http, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        email = services.email_queue(
            tenant=tenant,
            to="pat@example.com",
            key="tenancy.staff_invitation",
            context={
                "invited_by": "Olga",
                "role": "Staff",
                "accept_url": "http://x/join/SECRET-TOKEN/",
                "expires_at": "soon",
            },
            idempotency_key="private-1",
        )
    [message] = smtp.messages
    assert "http://x/join/SECRET-TOKEN/" in message.get_body(("plain",)).get_content()
    assert 'href="http://x/join/SECRET-TOKEN/"' in message.get_body(("html",)).get_content()
    email.refresh_from_db()
    assert "SECRET-TOKEN" not in email.body_text + email.body_html
    assert email.private_values == {}  # gone once delivered
    page = owner_http.get(f"/t/{tenant.slug}/outbox/{email.pk}/").content.decode()
    assert "SECRET-TOKEN" not in page and "only in the recipient" in page


def test_a_delivered_private_link_cannot_be_resent_but_a_failed_one_can(
    tenant, owner, smtp, settings, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        delivered = queue(tenant, key="p-delivered")
    with pytest.raises(ValidationError, match="private link"):
        services.outbox_resend(tenant=tenant, email=delivered, actor=owner)

    settings.OUTBOX_MAX_ATTEMPTS = 1
    smtp.refuse(1)
    with django_capture_on_commit_callbacks(execute=True):
        failed = queue(tenant, key="p-failed")
    failed.refresh_from_db()
    assert failed.status == EmailStatus.FAILED and failed.private_values
    with django_capture_on_commit_callbacks(execute=True):
        services.outbox_resend(tenant=tenant, email=failed, actor=owner)
    assert "http://x/join/t/" in smtp.messages[-1].get_body(("plain",)).get_content()


def test_a_double_clicked_resend_queues_one_copy(tenant, owner, smtp, django_capture_on_commit_callbacks):
    original = OutboundEmailFactory(tenant=tenant)
    with django_capture_on_commit_callbacks(execute=True):
        services.outbox_resend(tenant=tenant, email=original, actor=owner)
        with pytest.raises(ValidationError, match="a moment ago"):
            services.outbox_resend(tenant=tenant, email=original, actor=owner)
    assert OutboundEmail.objects.filter(resent_from=original).count() == 1
    assert len(smtp.messages) == 1
