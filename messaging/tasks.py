"""Thin Celery tasks of the outbox: they take ids, re-enter the tenant and call one service."""

import logging
from collections import defaultdict

from celery import shared_task

from tenancy.tasks import TenantTask

from .services import outbox_send, outbox_send_many, outbox_sweep

logger = logging.getLogger(__name__)


@shared_task(base=TenantTask, name="messaging.tasks.send_outbound_email")
def send_outbound_email(*, tenant, email_id):
    result = outbox_send(tenant=tenant, email_id=email_id)
    _retry_later(tenant, {email_id: result})
    return result.outcome


@shared_task(base=TenantTask, name="messaging.tasks.send_outbound_emails")
def send_outbound_emails(*, tenant, email_ids):
    results = outbox_send_many(tenant=tenant, email_ids=email_ids)
    _retry_later(tenant, results)
    outcomes = defaultdict(int)
    for result in results.values():
        outcomes[result.outcome] += 1
    return dict(outcomes)


def _retry_later(tenant, results) -> None:
    """One task per retry delay, for the emails whose attempt failed (or that were given back)."""
    by_delay = defaultdict(list)
    for email_id, result in results.items():
        if result.retry_in is not None:
            by_delay[result.retry_in].append(email_id)
    if not by_delay:
        return
    if send_outbound_emails.app.conf.task_always_eager:
        # No broker (the embedded default): retrying now would ignore the backoff and hold the
        # request; the rows wait, queued, for `manage.py sweep_outbox`.
        waiting = sorted(email_id for email_ids in by_delay.values() for email_id in email_ids)
        logger.warning("Emails %s stay queued; run `manage.py sweep_outbox` to retry them.", waiting)
        return
    for delay, email_ids in by_delay.items():
        send_outbound_emails.apply_async(
            kwargs={"tenant_id": tenant.pk if tenant else None, "email_ids": email_ids}, countdown=delay
        )


@shared_task(name="messaging.tasks.sweep_outbox")
def sweep_outbox():
    return outbox_sweep()
