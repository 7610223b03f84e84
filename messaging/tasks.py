"""Thin Celery tasks of the outbox: they take ids, re-enter the tenant and call one service."""

import logging

from celery import shared_task

from tenancy.tasks import TenantTask

from .services import outbox_send, outbox_sweep

logger = logging.getLogger(__name__)


@shared_task(base=TenantTask, name="messaging.tasks.send_outbound_email")
def send_outbound_email(*, tenant, email_id):
    result = outbox_send(tenant=tenant, email_id=email_id)
    if result.retry_in is not None:
        if send_outbound_email.app.conf.task_always_eager:
            # No broker (the embedded default): retrying now would ignore the backoff and hold the
            # request; the row waits, queued, for `manage.py sweep_outbox`.
            logger.warning("Email %s stays queued; run `manage.py sweep_outbox` to retry it.", email_id)
        else:
            send_outbound_email.apply_async(
                kwargs={"tenant_id": tenant.pk if tenant else None, "email_id": email_id}, countdown=result.retry_in
            )
    return result.outcome


@shared_task(name="messaging.tasks.sweep_outbox")
def sweep_outbox():
    return outbox_sweep()
