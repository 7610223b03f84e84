"""Thin Celery tasks of outgoing webhooks: they take ids, re-enter the tenant and call one service."""

import logging

from celery import shared_task

from tenancy.tasks import TenantTask

from .services import deliveries_sweep, delivery_attempt

logger = logging.getLogger(__name__)

RETRY_BY_TASK_MAX_SECONDS = 300


@shared_task(base=TenantTask, name="webhooks.tasks.deliver_webhook")
def deliver_webhook(*, tenant, delivery_id):
    result = delivery_attempt(tenant=tenant, delivery_id=delivery_id)
    if result.retry_in is None:
        return result.outcome
    if deliver_webhook.app.conf.task_always_eager:
        # No broker (the embedded default): retrying now would ignore the backoff and hold the
        # request; the delivery waits, pending, for `manage.py sweep_webhooks`.
        logger.warning("Webhook delivery %s waits for `manage.py sweep_webhooks` to retry.", delivery_id)
    elif result.retry_in <= RETRY_BY_TASK_MAX_SECONDS:
        try:
            deliver_webhook.apply_async(
                kwargs={"tenant_id": tenant.pk, "delivery_id": delivery_id}, countdown=result.retry_in
            )
        except Exception:
            logger.exception("Could not schedule the retry of webhook delivery %s; the sweeper will.", delivery_id)
    # Longer pauses are left to the sweeper: a task held for hours by the broker (Redis redelivers
    # those past its visibility timeout) is worse than a retry a minute late.
    return result.outcome


@shared_task(name="webhooks.tasks.sweep_deliveries")
def sweep_deliveries():
    return deliveries_sweep()
