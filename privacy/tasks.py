"""Thin tasks: build one export inside its tenant; sweep old archives across tenants."""

from celery import shared_task

from tenancy.tasks import TenantTask

from .services import data_export_build, data_exports_sweep


@shared_task(base=TenantTask, name="privacy.tasks.build_data_export")
def build_data_export(*, tenant, export_id):
    export = data_export_build(tenant=tenant, export_id=export_id)
    return export.status if export is not None else "skipped"


@shared_task(name="privacy.tasks.sweep_data_exports")
def sweep_data_exports():
    return data_exports_sweep()
