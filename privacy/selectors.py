"""Reads of a tenant's data exports and erasures."""

from django.db.models import QuerySet
from django.http import Http404

from .models import DataExport, Erasure

EXPORTS_SHOWN = 10
ERASURES_SHOWN = 50


def data_exports_of(*, tenant) -> QuerySet[DataExport]:
    return DataExport.objects.filter(tenant=tenant).select_related("requested_by").order_by("-id")[:EXPORTS_SHOWN]


def data_export_get(*, tenant, export_id: int) -> DataExport:
    export = DataExport.objects.filter(tenant=tenant, pk=export_id).first()
    if export is None:
        raise Http404("No such export.")
    return export


def erasures_of(*, tenant) -> QuerySet[Erasure]:
    return Erasure.objects.filter(tenant=tenant).select_related("erased_by").order_by("-id")[:ERASURES_SHOWN]
