"""Thin tasks of invitations: they take ids, re-enter the tenant and call one service."""

from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from tenancy.scoping import scopes_disabled
from tenancy.tasks import TenantTask

from .models import BatchStatus, CodeBatch
from .services import code_batch_run


@shared_task(base=TenantTask, name="invitations.tasks.run_code_batch")
def run_code_batch(*, tenant, batch_id):
    return code_batch_run(tenant=tenant, batch_id=batch_id).status


@shared_task(name="invitations.tasks.resume_code_batches")
def resume_code_batches():
    """Re-enqueue batches whose task was lost (broker down, worker killed); crosses tenants."""
    stale = timezone.now() - timedelta(minutes=5)
    with scopes_disabled():
        pending = list(
            CodeBatch.objects.filter(
                status__in=[BatchStatus.QUEUED, BatchStatus.RUNNING], created_at__lt=stale
            ).values_list("pk", "tenant_id")[:100]
        )
    for batch_id, tenant_id in pending:
        run_code_batch.apply_async(kwargs={"tenant_id": tenant_id, "batch_id": batch_id})
    return len(pending)
