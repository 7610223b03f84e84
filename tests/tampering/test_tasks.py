"""Celery tasks called by hand with one tenant's id and another tenant's row id: the task runs in
the first tenant's scope, finds nothing of its own, and leaves the other tenant's rows as they were.

A message on the broker is not signed: whoever can write to it chooses ``tenant_id`` and the row id
independently, so the services must look rows up through the tenant they were given."""

import pytest
from django.core.exceptions import ObjectDoesNotExist

from imports.models import ImportJob, ImportStatus
from imports.tasks import commit_import, validate_import
from invitations.models import BatchStatus, CodeBatch
from invitations.tasks import run_code_batch
from messaging.models import EmailStatus, OutboundEmail
from messaging.tasks import send_outbound_email, send_outbound_emails
from privacy.models import DataExport, ExportStatus
from privacy.tasks import build_data_export
from webhooks.models import WebhookDelivery
from webhooks.tasks import deliver_webhook

from ..factories import TenantFactory
from ..test_isolation import snapshot
from ..world import build_world

pytestmark = pytest.mark.django_db(transaction=False)


@pytest.fixture
def victim(db):
    return build_world(TenantFactory(name="Victim Ltd", slug="victim"))


@pytest.fixture
def attacker(db):
    return TenantFactory(name="Attacker Ltd", slug="attacker")


def run_quietly(task, **kwargs):
    """Run the task body as a worker would; a row not found in its own tenant may end it early."""
    try:
        return task(**kwargs)
    except ObjectDoesNotExist:
        return "not found"


def test_a_code_batch_of_another_tenant_is_not_run(victim, attacker):
    batch_id = victim.objects["batch_id"]
    assert CodeBatch.objects.get(pk=batch_id).status == BatchStatus.QUEUED
    before = snapshot(victim.tenant)

    run_quietly(run_code_batch, tenant_id=attacker.pk, batch_id=batch_id)

    assert snapshot(victim.tenant) == before
    assert CodeBatch.objects.get(pk=batch_id).status == BatchStatus.QUEUED
    # The same call inside its own tenant does make the codes: the refusal above is the tenant's.
    run_code_batch(tenant_id=victim.tenant.pk, batch_id=batch_id)
    batch = CodeBatch.objects.get(pk=batch_id)
    assert batch.status == BatchStatus.DONE and batch.created_count == batch.quantity


def test_an_import_of_another_tenant_is_neither_checked_nor_applied(victim, attacker):
    job_id = victim.objects["job_id"]
    before = snapshot(victim.tenant)

    run_quietly(validate_import, tenant_id=attacker.pk, job_id=job_id)
    assert snapshot(victim.tenant) == before
    assert ImportJob.objects.get(pk=job_id).status == ImportStatus.VALIDATING

    ImportJob.objects.filter(pk=job_id).update(status=ImportStatus.COMMITTING)
    before = snapshot(victim.tenant)
    run_quietly(commit_import, tenant_id=attacker.pk, job_id=job_id, actor_id=None)
    assert snapshot(victim.tenant) == before
    assert ImportJob.objects.get(pk=job_id).status == ImportStatus.COMMITTING


def test_queued_emails_of_another_tenant_are_not_sent(victim, attacker, mailoutbox):
    email_id = victim.objects["email_id"]
    assert OutboundEmail.objects.get(pk=email_id).status == EmailStatus.QUEUED
    before = snapshot(victim.tenant)

    run_quietly(send_outbound_email, tenant_id=attacker.pk, email_id=email_id)
    run_quietly(send_outbound_emails, tenant_id=attacker.pk, email_ids=[email_id])
    # The platform scope (tenant None) holds platform emails only, not a tenant's.
    run_quietly(send_outbound_emails, tenant_id=None, email_ids=[email_id])

    assert snapshot(victim.tenant) == before
    assert mailoutbox == []
    send_outbound_email(tenant_id=victim.tenant.pk, email_id=email_id)
    assert OutboundEmail.objects.get(pk=email_id).status == EmailStatus.SENT
    assert [m.to for m in mailoutbox] == [[OutboundEmail.objects.get(pk=email_id).to_email]]


def test_a_webhook_delivery_of_another_tenant_is_not_attempted(victim, attacker):
    delivery_id = victim.objects["delivery_id"]
    before = snapshot(victim.tenant)

    run_quietly(deliver_webhook, tenant_id=attacker.pk, delivery_id=delivery_id)

    assert snapshot(victim.tenant) == before
    delivery = WebhookDelivery.objects.get(pk=delivery_id)
    assert delivery.attempts == 0 and delivery.claimed_at is None


def test_a_data_export_of_another_tenant_is_not_built(victim, attacker):
    export_id = victim.objects["export_id"]
    before = snapshot(victim.tenant)

    run_quietly(build_data_export, tenant_id=attacker.pk, export_id=export_id)

    assert snapshot(victim.tenant) == before
    assert DataExport.objects.get(pk=export_id).status == ExportStatus.QUEUED
    assert not DataExport.objects.filter(tenant=attacker).exists()
