"""Writes of the outbox: queue an email with the change that causes it, send it, retry it, resend it,
and save a tenant's template overrides.

How "sent or visibly failed, never lost, never twice" is kept is written down in docs/concurrency.md.
"""

import logging
import re
import uuid
from dataclasses import dataclass
from datetime import timedelta
from email.utils import formataddr, parseaddr

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.utils import timezone

from tenancy.models import Tenant
from tenancy.scoping import scopes_disabled
from tenancy.tasks import enqueue_on_commit

from . import private, registry
from .models import EmailStatus, EmailTemplateOverride, OutboundEmail
from .rendering import EmailTemplateError, RenderedEmail, TemplateSources, compile_template, render_email
from .selectors import default_sources, template_sources

logger = logging.getLogger(__name__)

UNKNOWN_EMAIL_KIND = "Unknown kind of email: {key}."
PRIVATE_LINK_GONE = (
    "This email carried a private link that is not kept after delivery. Send a new one from where it came "
    "from (a team invitation: Team → Resend)."
)
RESENT_A_MOMENT_AGO = "A copy of this email was queued a moment ago; it was not queued again."
RESEND_GUARD_SECONDS = 10
DEFAULT_BRAND_COLOR = "#2f5d62"
SENDING_INTERRUPTED = "Sending was interrupted (worker stopped?) and no attempts are left."


def base_context(tenant: Tenant | None) -> dict:
    return {
        "tenant_name": tenant.public_name if tenant else "Tessera",
        "brand_color": tenant.brand_color if tenant else DEFAULT_BRAND_COLOR,
        "site_url": settings.SITE_URL,
    }


def email_render(*, tenant: Tenant | None, key: str, context: dict) -> tuple[RenderedEmail, dict[str, str]]:
    """Render with the tenant's override; if that fails at render time, fall back to the default
    file so that an email that was asked for still goes out (and say so in the log).

    Returns the rendered email, with placeholders for the kind's private values, and those values.
    """
    kind = registry.get(key)
    if kind is None:
        raise ValueError(UNKNOWN_EMAIL_KIND.format(key=key))
    shown_context, private_values = private.hide({**base_context(tenant), **context}, kind.private)
    try:
        rendered = render_email(template_sources(tenant=tenant, kind=kind), shown_context)
    except EmailTemplateError:
        logger.exception("Tenant %s: template %s failed to render; using the default.", tenant, key)
        rendered = render_email(default_sources(kind), shown_context)
    return rendered, private_values


def html_in_layout(*, tenant: Tenant | None, inner_html: str, subject: str) -> str:
    return render_to_string(
        "emails/layout.html",
        {
            "content": inner_html,
            "subject": subject,
            "tenant_name": tenant.public_name if tenant else "Tessera",
            "brand_color": tenant.brand_color if tenant else DEFAULT_BRAND_COLOR,
        },
    )


def email_queue(
    *,
    tenant: Tenant | None,
    to: str,
    key: str,
    context: dict,
    idempotency_key: str,
    created_by=None,
) -> OutboundEmail:
    """Write one email in the caller's transaction and send it after commit.

    Asking again with the same idempotency key returns the existing row and sends nothing more.
    """
    rendered, private_values = email_render(tenant=tenant, key=key, context=context)
    full_key = f"{tenant.pk if tenant else 'platform'}:{idempotency_key}"
    with transaction.atomic():
        email, created = OutboundEmail.objects.get_or_create(
            tenant=tenant,
            idempotency_key=full_key,
            defaults={
                "to_email": to,
                "subject": rendered.subject,
                "body_text": rendered.text,
                "body_html": html_in_layout(tenant=tenant, inner_html=rendered.html, subject=rendered.subject),
                "template_key": key,
                "private_values": private_values,
                "created_by": created_by,
            },
        )
        if created:
            _send_after_commit(email)
    return email


def outbox_resend(*, tenant: Tenant, email: OutboundEmail, actor) -> OutboundEmail:
    """A resend is a new row with the same content; the original keeps its history.

    Refused when the private link it carried is gone (delivered), and when a copy was queued in the
    last few seconds (a double click), under a lock on the original so two clicks cannot both pass.
    """
    with transaction.atomic():
        email = OutboundEmail.objects.select_for_update().get(tenant=tenant, pk=email.pk)
        if email.private_link_delivered:
            raise ValidationError(PRIVATE_LINK_GONE)
        recent = timezone.now() - timedelta(seconds=RESEND_GUARD_SECONDS)
        if OutboundEmail.objects.filter(tenant=tenant, resent_from=email, created_at__gte=recent).exists():
            raise ValidationError(RESENT_A_MOMENT_AGO)
        copy = OutboundEmail.objects.create(
            tenant=tenant,
            to_email=email.to_email,
            subject=email.subject,
            body_text=email.body_text,
            body_html=email.body_html,
            template_key=email.template_key,
            private_values=email.private_values,
            idempotency_key=f"{tenant.pk}:resend:{email.pk}:{uuid.uuid4().hex}",
            resent_from=email,
            created_by=actor,
        )
        _send_after_commit(copy)
    return copy


def _send_after_commit(email: OutboundEmail) -> None:
    from .tasks import send_outbound_email

    enqueue_on_commit(send_outbound_email, tenant_id=email.tenant_id, email_id=email.pk)


@dataclass(frozen=True)
class SendResult:
    outcome: str  # "sent", "retry", "failed" or "skipped"
    retry_in: int | None = None


def retry_delay(attempts: int) -> int:
    """Exponential backoff: base, 2×base, 4×base … seconds after the 1st, 2nd, 3rd … failure."""
    return settings.OUTBOX_RETRY_BASE_SECONDS * 2 ** max(attempts - 1, 0)


def outbox_send(*, tenant: Tenant | None, email_id: int, connection=None) -> SendResult:
    """Send one queued email. Claiming it is a conditional UPDATE queued → sending, committed before
    the SMTP conversation, so two workers handed the same id send it once."""
    rows = OutboundEmail.objects.filter(tenant=tenant, pk=email_id)
    now = timezone.now()
    claimed = rows.filter(status=EmailStatus.QUEUED).update(
        status=EmailStatus.SENDING, attempts=F("attempts") + 1, claimed_at=now
    )
    if not claimed:
        return SendResult("skipped")
    email = rows.get()
    try:
        build_message(email, connection=connection).send()
    except Exception as exc:  # SMTP errors, refused connections, timeouts: all worth a retry
        return _record_failure(rows, email, exc)
    rows.filter(status=EmailStatus.SENDING).update(
        status=EmailStatus.SENT, sent_at=timezone.now(), last_error="", private_values={}
    )
    return SendResult("sent")


def _record_failure(rows, email: OutboundEmail, exc: Exception) -> SendResult:
    error = f"{type(exc).__name__}: {exc}"[:2000]
    if email.attempts >= settings.OUTBOX_MAX_ATTEMPTS:
        rows.filter(status=EmailStatus.SENDING).update(status=EmailStatus.FAILED, last_error=error)
        logger.error("Email %s failed for good after %s attempts: %s", email.pk, email.attempts, error)
        return SendResult("failed")
    delay = retry_delay(email.attempts)
    rows.filter(status=EmailStatus.SENDING).update(
        status=EmailStatus.QUEUED, last_error=error, next_attempt_at=timezone.now() + timedelta(seconds=delay)
    )
    logger.warning("Email %s attempt %s failed (%s); retry in %ss.", email.pk, email.attempts, error, delay)
    return SendResult("retry", retry_in=delay)


def build_message(email: OutboundEmail, *, connection=None) -> EmailMultiAlternatives:
    name, address = parseaddr(settings.DEFAULT_FROM_EMAIL)
    display = re.sub(r"[\x00-\x1f\x7f]+", " ", email.tenant.public_name if email.tenant else name)
    sender = formataddr((display, address))
    domain = address.rpartition("@")[2] or "tessera.localhost"
    message = EmailMultiAlternatives(
        subject=email.subject,
        body=private.reveal(email.body_text, email.private_values),
        from_email=sender,
        to=[email.to_email],
        connection=connection,
        # A stable Message-ID lets receiving servers drop a copy sent again after a crash.
        headers={"Message-ID": f"<outbox-{email.pk}@{domain}>"},
    )
    if email.body_html:
        message.attach_alternative(private.reveal(email.body_html, email.private_values, is_html=True), "text/html")
    return message


def outbox_sweep() -> int:
    """Re-enqueue emails whose task was lost (broker down, worker killed). Crosses tenants on purpose.

    Rows stuck in "sending" longer than the SMTP timeout allows go back to "queued" (or to "failed"
    with no attempts left); queued rows overdue by more than the grace period are enqueued again.
    Enqueuing twice is harmless: only one task can claim a row.
    """
    from .tasks import send_outbound_email

    now = timezone.now()
    grace = timedelta(seconds=settings.OUTBOX_STALE_SECONDS)
    stuck_before = now - timedelta(seconds=settings.OUTBOX_SENDING_TIMEOUT_SECONDS)
    with scopes_disabled():
        stuck = OutboundEmail.objects.filter(status=EmailStatus.SENDING, claimed_at__lt=stuck_before)
        stuck.filter(attempts__gte=settings.OUTBOX_MAX_ATTEMPTS).update(
            status=EmailStatus.FAILED, last_error=SENDING_INTERRUPTED
        )
        stuck.update(status=EmailStatus.QUEUED, next_attempt_at=now - grace)
        due = OutboundEmail.objects.filter(status=EmailStatus.QUEUED, next_attempt_at__lte=now - grace)
        batch = list(due.order_by("next_attempt_at").values_list("pk", "tenant_id")[:1000])
        # Push the due time on, so the next sweep does not enqueue them again while they wait.
        OutboundEmail.objects.filter(pk__in=[pk for pk, _ in batch], status=EmailStatus.QUEUED).update(
            next_attempt_at=now
        )
    for pk, tenant_id in batch:
        try:
            send_outbound_email.apply_async(kwargs={"tenant_id": tenant_id, "email_id": pk})
        except Exception:
            logger.exception("Broker unavailable; %s emails wait for the next sweep.", len(batch))
            break
    return len(batch)


TEMPLATE_PARTS = ("subject", "text", "html")


def template_validate(sources: TemplateSources) -> dict[str, str]:
    """Compile each part in the sandbox; return ``{part: error message}`` for those that fail."""
    errors = {}
    for part in TEMPLATE_PARTS:
        try:
            compile_template(getattr(sources, part), autoescape=(part == "html"))
        except EmailTemplateError as exc:
            errors[part] = str(exc)
    return errors


def template_override_save(*, tenant: Tenant, key: str, sources: TemplateSources, actor) -> EmailTemplateOverride:
    errors = template_validate(sources)
    if errors:
        raise EmailTemplateError(errors)
    override, _ = EmailTemplateOverride.objects.update_or_create(
        tenant=tenant,
        key=key,
        defaults={
            "subject": sources.subject,
            "body_text": sources.text,
            "body_html": sources.html,
            "updated_by": actor,
        },
    )
    return override


def template_override_reset(*, tenant: Tenant, key: str) -> None:
    EmailTemplateOverride.objects.filter(tenant=tenant, key=key).delete()
