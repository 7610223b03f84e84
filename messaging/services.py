"""Writes of the outbox: queue an email or an SMS with the change that causes it, send it, retry it,
resend it, and save a tenant's template overrides.

How "sent or visibly failed, never lost, never twice" is kept is written down in docs/concurrency.md.
"""

import logging
import re
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta
from email.utils import formataddr, parseaddr

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import connection as database
from django.db import transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from tenancy.branding import logo_url
from tenancy.bulk import insert_rows
from tenancy.events import publish
from tenancy.models import Tenant
from tenancy.scoping import scopes_disabled
from tenancy.tasks import enqueue_on_commit
from tenancy.templatetags.contrast import fill_and_ink

from . import private, registry, sms
from .models import Channel, EmailStatus, EmailTemplateOverride, OutboundEmail
from .rendering import (
    EmailTemplateError,
    RenderedEmail,
    TemplateSources,
    compile_template,
    default_source,
    render_email,
    render_sms,
)
from .selectors import default_sources, template_sources

logger = logging.getLogger(__name__)

UNKNOWN_EMAIL_KIND = gettext_noop("Unknown kind of email: {key}.")
PRIVATE_LINK_GONE = gettext_noop(
    "This email carried a private link that is not kept after delivery. Send a new one from where it came "
    "from (a team invitation: Team → Resend)."
)
RESENT_A_MOMENT_AGO = gettext_noop("A copy of this email was queued a moment ago; it was not queued again.")
RESEND_GUARD_SECONDS = 10
DEFAULT_BRAND_COLOR = "#2f5d62"
SENDING_INTERRUPTED = gettext_noop("Sending was interrupted (worker stopped?) and no attempts are left.")


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
    kind = _kind(key)
    shown_context, private_values = private.hide({**base_context(tenant), **context}, kind.private)
    return _render_shown(tenant, kind, shown_context), private_values


def _kind(key: str) -> registry.EmailKind:
    kind = registry.get(key)
    if kind is None:
        raise ValueError(_(UNKNOWN_EMAIL_KIND).format(key=key))
    return kind


def _render_shown(
    tenant: Tenant | None, kind: registry.EmailKind, shown_context: dict, sources: TemplateSources | None = None
) -> RenderedEmail:
    try:
        return render_email(sources or template_sources(tenant=tenant, kind=kind), shown_context)
    except EmailTemplateError:
        logger.exception("Tenant %s: template %s failed to render; using the default.", tenant, kind.key)
        return render_email(default_sources(kind), shown_context)


def html_in_layout(*, tenant: Tenant | None, inner_html: str, subject: str) -> str:
    # The header's fill and text colours keep 4.5:1 contrast, as on the public pages.
    fill, ink = fill_and_ink(tenant.brand_color if tenant else DEFAULT_BRAND_COLOR)
    return render_to_string(
        "emails/layout.html",
        {
            "content": inner_html,
            "subject": subject,
            "tenant_name": tenant.public_name if tenant else "Tessera",
            "brand_color": fill,
            "brand_ink": ink,
            "logo_url": logo_url(tenant),
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
    return _queue_one(
        tenant,
        idempotency_key,
        {
            "to_email": to,
            "subject": rendered.subject,
            "body_text": rendered.text,
            "body_html": html_in_layout(tenant=tenant, inner_html=rendered.html, subject=rendered.subject),
            "template_key": key,
            "private_values": private_values,
            "created_by": created_by,
        },
    )


def _queue_one(tenant: Tenant | None, idempotency_key: str, fields: dict) -> OutboundEmail:
    """One outbox row (email or SMS) in the caller's transaction, sent after commit; the row already
    written under the same idempotency key, unchanged and not sent again."""
    full_key = f"{tenant.pk if tenant else 'platform'}:{idempotency_key}"
    with transaction.atomic():
        row, created = OutboundEmail.objects.get_or_create(tenant=tenant, idempotency_key=full_key, defaults=fields)
        if created:
            _send_after_commit(tenant, [row.pk])
            _published_send(tenant, row, fields.get("created_by"))
    return row


def _published_send(tenant: Tenant | None, row: OutboundEmail, actor) -> None:
    """The audit trail's line for one email or SMS queued (bulk sends publish one line a batch)."""
    if tenant is None:
        return
    by_sms = row.channel == Channel.SMS
    to = row.to_phone if by_sms else row.to_email
    what = f"SMS ({row.template_key})" if by_sms else f"Email “{row.subject}” ({row.template_key})"
    publish(
        tenant=tenant,
        name="sms.queued" if by_sms else "email.queued",
        obj=row,
        actor=actor,
        summary=f"{what} to {to}.",
        payload={"to": to, "template": row.template_key},
    )


def outbox_resend(*, tenant: Tenant, email: OutboundEmail, actor) -> OutboundEmail:
    """A resend is a new row with the same content; the original keeps its history.

    Refused when the private link it carried is gone (delivered), and when a copy was queued in the
    last few seconds (a double click), under a lock on the original so two clicks cannot both pass.
    """
    with transaction.atomic():
        email = OutboundEmail.objects.select_for_update().get(tenant=tenant, pk=email.pk)
        if email.private_link_delivered:
            raise ValidationError(_(PRIVATE_LINK_GONE))
        recent = timezone.now() - timedelta(seconds=RESEND_GUARD_SECONDS)
        if OutboundEmail.objects.filter(tenant=tenant, resent_from=email, created_at__gte=recent).exists():
            raise ValidationError(_(RESENT_A_MOMENT_AGO))
        copy = OutboundEmail.objects.create(
            tenant=tenant,
            channel=email.channel,
            to_email=email.to_email,
            to_phone=email.to_phone,
            subject=email.subject,
            body_text=email.body_text,
            body_html=email.body_html,
            template_key=email.template_key,
            private_values=email.private_values,
            idempotency_key=f"{tenant.pk}:resend:{email.pk}:{uuid.uuid4().hex}",
            resent_from=email,
            created_by=actor,
        )
        _send_after_commit(tenant, [copy.pk])
        _published_send(tenant, copy, actor)
    return copy


@dataclass(frozen=True)
class Recipient:
    """One message of a batch: its address (or phone number), its idempotency key, and its values of
    the kind's private names (``{"link": …}``); everything else is the batch's shared context, plus
    ``context``: values of this message only (its codes, a name), for which it is rendered on its own."""

    to: str
    idempotency_key: str
    private: dict = field(default_factory=dict)
    context: dict = field(default_factory=dict)


def emails_queue(
    *,
    tenant: Tenant | None,
    key: str,
    context: dict,
    recipients: list[Recipient],
    created_by=None,
) -> list[int]:
    """``email_queue`` for many emails of one kind that differ only in address and private values:
    written in the caller's transaction, sent after commit in chunks of ``SEND_CHUNK``.

    The template is rendered once (per set of private names given): the private values are
    placeholders in it, and each email gets the rendered text with placeholders of its own and its
    own values (messaging/private.py). A key asked for before (or twice in the list) gives the
    existing row, which is not sent again; a key being written at this moment by another transaction
    makes this one fail on the unique key, so there is still one row per key. Returns the rows' ids
    in the order of ``recipients``.
    """
    kind = _kind(key)
    if shared := set(context) & set(kind.private):
        raise ValueError(f"Private values go in each recipient's values, not the shared context: {shared}.")
    prefix = tenant.pk if tenant else "platform"
    keys = [f"{prefix}:{recipient.idempotency_key}" for recipient in recipients]
    with transaction.atomic():
        ids = dict(
            OutboundEmail.objects.filter(tenant=tenant, idempotency_key__in=keys).values_list("idempotency_key", "pk")
        )
        rows, rendered, sources, layouts = {}, {}, None, {}
        for full_key, recipient in zip(keys, recipients, strict=True):
            if full_key in ids or full_key in rows:
                continue
            names = tuple(sorted(recipient.private))
            if recipient.context:  # an email of its own: rendered with the templates and layouts read once
                sources = sources or template_sources(tenant=tenant, kind=kind)
                texts, shown = _render_once(
                    tenant, kind, {**context, **recipient.context}, names, sources=sources, layouts=layouts
                )
            else:
                if names not in rendered:
                    rendered[names] = _render_once(tenant, kind, context, names)
                texts, shown = rendered[names]
            (subject, text, html), private_values = private.copy_with_values(texts, shown, recipient.private)
            rows[full_key] = {
                "tenant_id": tenant.pk if tenant else None,
                "to_email": recipient.to,
                "subject": subject,
                "body_text": text,
                "body_html": html,
                "template_key": key,
                "private_values": private_values,
                "idempotency_key": full_key,
                "created_by_id": created_by.pk if created_by else None,
            }
        _insert_batch(tenant, key, rows, ids, created_by, by_sms=False)
    return [ids[full_key] for full_key in keys]


def _insert_batch(tenant: Tenant | None, key: str, rows: dict, ids: dict, created_by, *, by_sms: bool) -> None:
    """Write a batch's new rows (``{full key: row}``), note their ids in ``ids``, send them after
    commit, and give the audit trail one line for the batch."""
    new_ids = _emails_insert(list(rows.values()))
    ids.update(zip(rows, new_ids, strict=True))
    _send_after_commit(tenant, new_ids)
    if tenant is None or not new_ids:
        return
    first = next(iter(rows.values()))["to_phone" if by_sms else "to_email"]
    if len(new_ids) > 1:
        summary = f"{len(new_ids):,} {'SMS' if by_sms else 'emails'} ({key}) queued, to {first} and others."
    else:
        summary = f"{'SMS' if by_sms else 'Email'} ({key}) queued to {first}."
    publish(
        tenant=tenant,
        name="sms.batch_queued" if by_sms else "emails.queued",
        actor=created_by,
        summary=summary,
        payload={"template": key, "count": len(new_ids), "first_id": new_ids[0], "last_id": new_ids[-1]},
    )


def _emails_insert(rows: list[dict]) -> list[int]:
    """Write new queued emails (each a dict of the fields above, the same keys in each); return their
    ids in order (with COPY on PostgreSQL: tenancy/bulk.py); the other columns take their defaults."""
    if not rows:
        return []
    return insert_rows(OutboundEmail, tuple(rows[0]), [tuple(row.values()) for row in rows])


def _render_once(
    tenant, kind, context: dict, names: tuple[str, ...], sources: TemplateSources | None = None, layouts=None
) -> tuple[tuple[str, str, str], dict[str, str]]:
    """Subject, text and HTML in the layout, rendered with placeholders for ``names``; and
    ``{name: placeholder}``. ``sources``: the templates, when the caller read them once for many
    emails; ``layouts``: a dict the caller keeps to render the layout once per subject."""
    full_context = {**base_context(tenant), **context, **dict.fromkeys(names, "")}
    shown_context, _ = private.hide(full_context, names)
    rendered = _render_shown(tenant, kind, shown_context, sources)
    if layouts is None:
        html = html_in_layout(tenant=tenant, inner_html=rendered.html, subject=rendered.subject)
    else:
        if rendered.subject not in layouts:
            layouts[rendered.subject] = html_in_layout(
                tenant=tenant, inner_html=LAYOUT_CONTENT, subject=rendered.subject
            ).partition(LAYOUT_CONTENT)
        before, _, after = layouts[rendered.subject]
        html = before + rendered.html + after
    return (rendered.subject, rendered.text, html), {name: shown_context[name] for name in names}


LAYOUT_CONTENT = "\x00content\x00"  # where an email's own HTML goes in a layout rendered once


# SMS ----------------------------------------------------------------------------------------------

NOT_BY_SMS = gettext_noop("The “{key}” messages cannot go by SMS.")


def _sms_kind(key: str) -> registry.EmailKind:
    kind = _kind(key)
    if not kind.sms:
        raise ValueError(_(NOT_BY_SMS).format(key=key))
    return kind


def _sms_source(kind: registry.EmailKind) -> str:
    return default_source(kind.default_template_name("sms"))


def sms_subject(kind: registry.EmailKind) -> str:
    """What the Outbox lists for an SMS, where an email shows its subject."""
    return _("SMS: {label}").format(label=kind.label)


def sms_render(*, tenant: Tenant | None, key: str, context: dict) -> tuple[str, dict[str, str]]:
    """The SMS text of a kind (its default file), with placeholders for the private values; and those."""
    kind = _sms_kind(key)
    shown_context, private_values = private.hide({**base_context(tenant), **context}, kind.private)
    return render_sms(_sms_source(kind), shown_context), private_values


def sms_queue(
    *,
    tenant: Tenant | None,
    to: str,
    key: str,
    context: dict,
    idempotency_key: str,
    created_by=None,
) -> OutboundEmail:
    """``email_queue`` for an SMS: one outbox row (channel "sms") in the caller's transaction, sent
    after commit by the same tasks, retried the same way. ``to`` is normalised to E.164; a number
    that is not one raises ``ValidationError`` (``sms.PHONE_INVALID``) and nothing is written."""
    phone = sms.phone_normalise(to)
    text, private_values = sms_render(tenant=tenant, key=key, context=context)
    return _queue_one(
        tenant,
        idempotency_key,
        {
            "channel": Channel.SMS,
            "to_email": "",
            "to_phone": phone,
            "subject": sms_subject(_kind(key)),
            "body_text": text,
            "body_html": "",
            "template_key": key,
            "private_values": private_values,
            "created_by": created_by,
        },
    )


def sms_queue_many(
    *,
    tenant: Tenant | None,
    key: str,
    context: dict,
    recipients: list[Recipient],
    created_by=None,
) -> list[int]:
    """``emails_queue`` for SMS: many rows in one insert (COPY), sent after commit in chunks. Each
    text is rendered on its own (an SMS template is a line or two). Every number is normalised
    first; one that is not a number raises ``ValidationError`` and nothing is written. Returns the
    rows' ids in the order of ``recipients``; a key asked for before gives the existing row."""
    kind = _sms_kind(key)
    if shared := set(context) & set(kind.private):
        raise ValueError(f"Private values go in each recipient's values, not the shared context: {shared}.")
    phones = [sms.phone_normalise(recipient.to) for recipient in recipients]
    prefix = tenant.pk if tenant else "platform"
    keys = [f"{prefix}:{recipient.idempotency_key}" for recipient in recipients]
    source, subject, base = _sms_source(kind), sms_subject(kind), {**base_context(tenant), **context}
    with transaction.atomic():
        ids = dict(
            OutboundEmail.objects.filter(tenant=tenant, idempotency_key__in=keys).values_list("idempotency_key", "pk")
        )
        rows = {}
        for full_key, recipient, phone in zip(keys, recipients, phones, strict=True):
            if full_key in ids or full_key in rows:
                continue
            shown, private_values = private.hide({**base, **recipient.context, **recipient.private}, kind.private)
            rows[full_key] = {
                "tenant_id": tenant.pk if tenant else None,
                "channel": Channel.SMS.value,
                "to_email": "",
                "to_phone": phone,
                "subject": subject,
                "body_text": render_sms(source, shown),
                "body_html": "",
                "template_key": key,
                "private_values": private_values,
                "idempotency_key": full_key,
                "created_by_id": created_by.pk if created_by else None,
            }
        _insert_batch(tenant, key, rows, ids, created_by, by_sms=True)
    return [ids[full_key] for full_key in keys]


SEND_CHUNK = 100  # messages a send task takes at once (emails over one SMTP connection)


def _send_after_commit(tenant: Tenant | None, email_ids: list[int]) -> None:
    from .tasks import send_outbound_email, send_outbound_emails

    tenant_id = tenant.pk if tenant else None
    if len(email_ids) == 1:
        enqueue_on_commit(send_outbound_email, tenant_id=tenant_id, email_id=email_ids[0])
        return
    for start in range(0, len(email_ids), SEND_CHUNK):
        enqueue_on_commit(send_outbound_emails, tenant_id=tenant_id, email_ids=email_ids[start : start + SEND_CHUNK])


@dataclass(frozen=True)
class SendResult:
    outcome: str  # "sent", "retry", "failed" or "skipped"
    retry_in: int | None = None


def retry_delay(attempts: int) -> int:
    """Exponential backoff: base, 2×base, 4×base … seconds after the 1st, 2nd, 3rd … failure."""
    return settings.OUTBOX_RETRY_BASE_SECONDS * 2 ** max(attempts - 1, 0)


def outbox_send(*, tenant: Tenant | None, email_id: int) -> SendResult:
    """Send one queued email (``outbox_send_many`` with one id)."""
    return outbox_send_many(tenant=tenant, email_ids=[email_id])[email_id]


CLAIM = f"""
    UPDATE messaging_outboundemail
    SET status = '{EmailStatus.SENDING.value}', attempts = attempts + 1, claimed_at = %(now)s
    WHERE status = '{EmailStatus.QUEUED.value}' AND id IN (
        SELECT id FROM messaging_outboundemail
        WHERE id = ANY(%(ids)s) AND status = '{EmailStatus.QUEUED.value}' AND tenant_id IS NOT DISTINCT FROM %(tenant)s
        ORDER BY id
        FOR UPDATE
    )
    RETURNING id
"""
# The hot path of delivery, one statement per email: the ORM would spend more building it than
# PostgreSQL running it.
MARK_SENT = f"""
    UPDATE messaging_outboundemail SET status = '{EmailStatus.SENT.value}', sent_at = %s, last_error = '',
        private_values = '{{}}'
    WHERE id = %s AND status = '{EmailStatus.SENDING.value}' AND claimed_at = %s
"""


def outbox_send_many(*, tenant: Tenant | None, email_ids: list[int]) -> dict[int, SendResult]:
    """Send the queued emails and SMS among ``email_ids`` (emails over one SMTP connection, SMS through
    the ``SMS_URL`` backend); ``{id: result}``.

    Claiming is one statement, queued → sending, committed before the SMTP conversation: of two
    workers handed the same ids only one gets each row (the other waits on the row lock, then finds
    it no longer queued). Each message is then marked sent as soon as the server accepted it, or has
    its failure recorded for a retry with backoff, on its own: a failure mid-chunk retries only the
    failed ones; an SMS the provider refused for good (a 4xx) is failed at once, with its answer.
    A worker killed mid-chunk leaves its unsent rows in "sending" for the sweeper.
    Every later write is conditional on this claim (its ``claimed_at``), so a row the sweeper has
    handed to someone else is never overwritten.
    """
    results = dict.fromkeys(email_ids, SendResult("skipped"))
    claimed_at = timezone.now()
    claimed = _claim(tenant, email_ids, claimed_at)
    if not claimed:
        return results
    emails = list(OutboundEmail.objects.filter(tenant=tenant, pk__in=claimed).select_related("tenant").order_by("pk"))
    # Stop well before the sweeper would take the rows back (a slow server): the rest go back to queued.
    deadline = time.monotonic() + settings.OUTBOX_SENDING_TIMEOUT_SECONDS / 2
    smtp = broken = sms_backend = None
    if any(email.channel != Channel.SMS for email in emails):  # no SMTP conversation for a chunk of SMS
        smtp = get_connection()
        try:
            smtp.open()
        except Exception as exc:  # a refused connection, a timeout: every email of the chunk failed this attempt
            broken = exc
    if any(email.channel == Channel.SMS for email in emails):
        sms_backend = sms.get_backend()
    as_db = database.ops.adapt_datetimefield_value
    index = -1
    try:
        with database.cursor() as cursor:
            for index, email in enumerate(emails):
                if time.monotonic() > deadline:
                    results.update(_release(emails[index:], claimed_at))
                    break
                mine = OutboundEmail.objects.filter(pk=email.pk, status=EmailStatus.SENDING, claimed_at=claimed_at)
                provider_id = ""
                try:
                    if email.channel == Channel.SMS:
                        provider_id = sms_backend.send(build_sms(email))
                    else:
                        if broken is not None:
                            raise broken
                        build_message(email, connection=smtp).send()
                except sms.SmsRejected as exc:
                    results[email.pk] = _record_rejection(mine, email, exc)
                    continue
                except Exception as exc:  # SMTP errors, refused connections, timeouts, 5xx: all worth a retry
                    results[email.pk] = _record_failure(mine, email, exc)
                    if email.channel != Channel.SMS:
                        broken = broken or _reopen(smtp)
                    continue
                if provider_id:
                    cursor.execute(MARK_SMS_SENT, [as_db(timezone.now()), provider_id, email.pk, as_db(claimed_at)])
                else:
                    cursor.execute(MARK_SENT, [as_db(timezone.now()), email.pk, as_db(claimed_at)])
                results[email.pk] = SendResult("sent")
    except Exception:
        # Something else broke (the database while marking one sent): the rows not tried yet go back to
        # the queue now instead of waiting for the sweeper; the one in hand stays "sending", as it may
        # have gone out, and the sweeper decides about it.
        _release_quietly(emails[index + 1 :], claimed_at)
        raise
    finally:
        if smtp is not None:
            smtp.close()
    return results


MARK_SMS_SENT = f"""
    UPDATE messaging_outboundemail SET status = '{EmailStatus.SENT.value}', sent_at = %s, last_error = '',
        private_values = '{{}}', provider_id = %s
    WHERE id = %s AND status = '{EmailStatus.SENDING.value}' AND claimed_at = %s
"""


def build_sms(row: OutboundEmail) -> sms.SmsMessage:
    return sms.SmsMessage(
        to=row.to_phone,
        text=private.reveal(row.body_text, row.private_values),
        sender=settings.SMS_FROM,
        reference=f"tessera-sms-{row.pk}",  # the row's: every retry of it, never a resend (a new row)
    )


def _record_rejection(rows, email: OutboundEmail, exc: Exception) -> SendResult:
    """Refused for good (the provider said the message itself is wrong): failed now, visibly."""
    error = str(exc)[:2000]
    rows.update(status=EmailStatus.FAILED, last_error=error)
    logger.error("SMS %s refused by the provider: %s", email.pk, error)
    return SendResult("failed")


def _release_quietly(emails: list[OutboundEmail], claimed_at) -> None:
    try:
        _release(emails, claimed_at)
    except Exception:
        logger.exception("%s claimed emails stay 'sending' until the sweeper takes them back.", len(emails))


def _claim(tenant: Tenant | None, email_ids: list[int], claimed_at) -> list[int]:
    """Take the queued rows among ``email_ids`` for this sender; return the ids it got."""
    if database.vendor != "postgresql":
        # The embedded SQLite has one writer at a time: no other claim runs between these two statements.
        with transaction.atomic():
            rows = OutboundEmail.objects.filter(tenant=tenant, pk__in=email_ids)
            rows.filter(status=EmailStatus.QUEUED).update(
                status=EmailStatus.SENDING, attempts=F("attempts") + 1, claimed_at=claimed_at
            )
            return list(rows.filter(status=EmailStatus.SENDING, claimed_at=claimed_at).values_list("pk", flat=True))
    with database.cursor() as cursor:
        cursor.execute(CLAIM, {"now": claimed_at, "ids": list(email_ids), "tenant": tenant.pk if tenant else None})
        return [pk for (pk,) in cursor.fetchall()]


def _reopen(smtp) -> Exception | None:
    """After a failure the session may be unusable: start a new one; the error if that fails."""
    smtp.close()
    try:
        smtp.open()
    except Exception as exc:
        return exc
    return None


def _release(emails: list[OutboundEmail], claimed_at) -> dict[int, SendResult]:
    """Give unsent claimed rows back to the queue, the attempt not counted, to be sent again at once."""
    OutboundEmail.objects.filter(
        pk__in=[email.pk for email in emails], status=EmailStatus.SENDING, claimed_at=claimed_at
    ).update(status=EmailStatus.QUEUED, attempts=F("attempts") - 1, next_attempt_at=timezone.now())
    return {email.pk: SendResult("retry", retry_in=0) for email in emails}


def _record_failure(rows, email: OutboundEmail, exc: Exception) -> SendResult:
    error = f"{type(exc).__name__}: {exc}"[:2000]
    if email.attempts >= settings.OUTBOX_MAX_ATTEMPTS:
        rows.update(status=EmailStatus.FAILED, last_error=error)
        logger.error("Email %s failed for good after %s attempts: %s", email.pk, email.attempts, error)
        return SendResult("failed")
    delay = retry_delay(email.attempts)
    rows.update(status=EmailStatus.QUEUED, last_error=error, next_attempt_at=timezone.now() + timedelta(seconds=delay))
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
    from .tasks import send_outbound_emails

    now = timezone.now()
    grace = timedelta(seconds=settings.OUTBOX_STALE_SECONDS)
    stuck_before = now - timedelta(seconds=settings.OUTBOX_SENDING_TIMEOUT_SECONDS)
    with scopes_disabled():
        stuck = OutboundEmail.objects.filter(status=EmailStatus.SENDING, claimed_at__lt=stuck_before)
        stuck.filter(attempts__gte=settings.OUTBOX_MAX_ATTEMPTS).update(
            status=EmailStatus.FAILED, last_error=_(SENDING_INTERRUPTED)
        )
        stuck.update(status=EmailStatus.QUEUED, next_attempt_at=now - grace)
        due = OutboundEmail.objects.filter(status=EmailStatus.QUEUED, next_attempt_at__lte=now - grace)
        batch = list(due.order_by("next_attempt_at").values_list("pk", "tenant_id")[:1000])
        # Push the due time on, so the next sweep does not enqueue them again while they wait.
        OutboundEmail.objects.filter(pk__in=[pk for pk, _ in batch], status=EmailStatus.QUEUED).update(
            next_attempt_at=now
        )
    by_tenant = defaultdict(list)
    for pk, tenant_id in batch:
        by_tenant[tenant_id].append(pk)
    try:
        for tenant_id, ids in by_tenant.items():
            for start in range(0, len(ids), SEND_CHUNK):
                send_outbound_emails.apply_async(
                    kwargs={"tenant_id": tenant_id, "email_ids": ids[start : start + SEND_CHUNK]}
                )
    except Exception:
        logger.exception("Broker unavailable; %s emails wait for the next sweep.", len(batch))
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
