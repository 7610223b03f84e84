"""Celery plumbing shared by every app: tasks that re-enter a tenant, enqueued only after commit."""

import logging
from functools import partial

from celery import Task
from django.db import transaction

from .localization import tenant_locale
from .models import Tenant
from .scoping import isolated_scope

logger = logging.getLogger(__name__)


class TenantTask(Task):
    """Base class for tasks that act inside one tenant.

    Call with ``tenant_id=<id or None>``; the body runs in a fresh scope of that tenant, in its language
    and time zone (what it renders, emails included, reads as the tenant's pages do), and receives
    ``tenant=`` (``None`` is the platform scope). A tenant deleted meanwhile makes the task a no-op.
    """

    abstract = True
    typing = False  # callers pass tenant_id; the body receives tenant

    def __call__(self, *args, **kwargs):
        tenant_id = kwargs.pop("tenant_id")
        tenant = None
        if tenant_id is not None:
            tenant = Tenant.objects.filter(pk=tenant_id).first()
            if tenant is None:
                logger.warning("Task %s skipped: tenant %s no longer exists.", self.name, tenant_id)
                return None
        with isolated_scope(tenant=tenant), tenant_locale(tenant):
            return super().__call__(*args, tenant=tenant, **kwargs)


def enqueue_on_commit(task: Task, **kwargs) -> None:
    """Enqueue ``task`` once the current transaction commits; nothing if it rolls back.

    A broker that is down must not turn a committed change into an error page: the failure is
    logged and the row that needed the task stays for the periodic sweeper to pick up.
    """
    transaction.on_commit(partial(_enqueue_now, task, kwargs))


def _enqueue_now(task: Task, kwargs: dict) -> None:
    try:
        task.apply_async(kwargs=kwargs)
    except Exception:
        logger.exception("Could not enqueue %s(%s); the sweeper will pick it up.", task.name, kwargs)
