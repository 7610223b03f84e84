"""Thin tasks of the import pipeline."""

from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from accounts.models import User
from tenancy.events import Actor, acting_as
from tenancy.scoping import scopes_disabled
from tenancy.tasks import TenantTask

from .models import ImportJob, ImportStatus
from .services import import_commit, import_validate


@shared_task(base=TenantTask, name="imports.tasks.validate_import")
def validate_import(*, tenant, job_id):
    return import_validate(tenant=tenant, job_id=job_id).status


@shared_task(base=TenantTask, name="imports.tasks.commit_import")
def commit_import(*, tenant, job_id, actor_id, actor_label="", api_key_id=None):
    """``actor_label``/``api_key_id``: who asked when it was no person (an API key), for the audit trail."""
    actor = User.objects.filter(pk=actor_id).first()
    if actor is None and actor_label:
        with acting_as(Actor(label=actor_label, api_key_id=api_key_id)):
            return import_commit(tenant=tenant, job_id=job_id, actor=actor).status
    return import_commit(tenant=tenant, job_id=job_id, actor=actor).status


@shared_task(name="imports.tasks.resume_imports")
def resume_imports():
    """Re-enqueue checks and commits whose task was lost; crosses tenants on purpose."""
    stale = timezone.now() - timedelta(minutes=10)
    with scopes_disabled():
        jobs = list(
            ImportJob.objects.filter(
                status__in=[ImportStatus.VALIDATING, ImportStatus.COMMITTING], updated_at__lt=stale
            ).values_list("pk", "tenant_id", "status", "created_by_id")[:100]
        )
    for job_id, tenant_id, status, actor_id in jobs:
        if status == ImportStatus.VALIDATING:
            validate_import.apply_async(kwargs={"tenant_id": tenant_id, "job_id": job_id})
        else:
            commit_import.apply_async(kwargs={"tenant_id": tenant_id, "job_id": job_id, "actor_id": actor_id})
    return len(jobs)
