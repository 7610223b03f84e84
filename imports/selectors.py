from django.db.models import QuerySet
from django.http import Http404

from tenancy.models import Tenant

from . import registry
from .models import ImportJob


def import_get(*, tenant: Tenant, job_id: int) -> ImportJob:
    job = ImportJob.objects.filter(tenant=tenant, pk=job_id).select_related("created_by").first()
    if job is None:
        raise Http404("No such import.")
    return job


def imports_of(*, tenant: Tenant, kind: str, params: dict) -> QuerySet[ImportJob]:
    return (
        ImportJob.objects.filter(tenant=tenant, kind=kind, params=params)
        .defer("content", "problems")
        .select_related("created_by")
        .order_by("-created_at", "-id")
    )


def imports_all(*, tenant: Tenant) -> QuerySet[ImportJob]:
    return (
        ImportJob.objects.filter(tenant=tenant)
        .exclude(kind__in=registry.customer_owned_kinds())
        .defer("content", "problems")
        .select_related("created_by")
    )
