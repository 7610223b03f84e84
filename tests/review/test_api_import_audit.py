"""An import completed through the API is in the audit trail under the API key that asked for it,
also when the commit itself runs later in a task (where no request and no key are around)."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from audit.models import AuditEvent
from imports.models import ImportJob

pytestmark = pytest.mark.django_db

CSV = b"first_name,last_name,email,price_code\nAda,Lovelace,ada@example.com,STD\n"


def test_an_import_committed_through_the_api_names_the_key(
    api, tenant, contract, price, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        started = api.post(
            f"/api/v1/contracts/{contract.pk}/imports/", {"file": SimpleUploadedFile("people.csv", CSV)}, multipart=True
        )
    with django_capture_on_commit_callbacks(execute=True):  # the commit task runs after the request
        assert api.post(f"{started['Location']}commit/").status_code == 202

    [committed] = AuditEvent.objects.filter(tenant=tenant, event="import.committed")
    assert committed.actor_label == "API key “CRM sync”" and committed.api_key_id is not None


def test_an_import_committed_on_the_page_still_names_the_person(
    owner_http, owner, tenant, contract, price, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        owner_http.post(
            f"/t/acme/contracts/{contract.pk}/participants/upload/", {"file": SimpleUploadedFile("people.csv", CSV)}
        )
    job = ImportJob.objects.get(tenant=tenant)
    with django_capture_on_commit_callbacks(execute=True):
        owner_http.post(f"/t/acme/imports/{job.pk}/commit/")
    [committed] = AuditEvent.objects.filter(tenant=tenant, event="import.committed")
    assert committed.actor_label == owner.email and committed.actor_user_id == owner.pk
