"""The data export: one archive of the tenant's rows, nothing of another tenant's, no secrets."""

import csv
import io
import json
import zipfile
from datetime import timedelta

import pytest
from django.utils import timezone

from audit.models import AuditEvent
from privacy.models import DataExport, ExportStatus
from privacy.services import (
    EXPORT_BUSY,
    EXPORT_GONE,
    ExportRefused,
    archive_path,
    data_export_build,
    data_export_request,
    data_exports_sweep,
    exported_models,
)
from tenancy.models import Role
from tenancy.urlresolvers import tenant_reverse
from tests.conftest import member
from tests.factories import BookingFactory, ClientFactory, CodeFactory, invitation_with_token


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def _archive(response) -> zipfile.ZipFile:
    return zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))


def _rows(archive, label):
    return list(csv.DictReader(io.TextIOWrapper(archive.open(f"{label}.csv"), encoding="utf-8")))


@pytest.fixture
def data(tenant, other_tenant):
    ClientFactory(tenant=tenant, email="alice@acme.example", first_name="=HYPERLINK(1)")
    BookingFactory(tenant=tenant, email="alice@acme.example")
    CodeFactory(tenant=tenant, code="ACMECODE01")
    invitation_with_token(tenant=tenant, email="new.staff@acme.example")
    ClientFactory(tenant=other_tenant, email="secret-customer@globex.example")
    CodeFactory(tenant=other_tenant, code="GLOBEXCODE1")
    member(other_tenant, Role.OWNER, email="boss@globex.example")


def _export(owner_http, tenant, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_http.post(tenant_reverse(tenant, "privacy:export"), follow=True)
    assert response.status_code == 200
    export = DataExport.objects.get(tenant=tenant, status=ExportStatus.READY)
    return export, owner_http.get(tenant_reverse(tenant, "privacy:export_download", export_id=export.pk))


def test_the_archive_holds_every_model_of_this_tenant_and_nothing_of_another(
    owner_http, tenant, data, django_capture_on_commit_callbacks
):
    export, response = _export(owner_http, tenant, django_capture_on_commit_callbacks)
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    assert response["Cache-Control"] == "no-store"
    archive = _archive(response)
    manifest = json.loads(archive.read("manifest.json"))
    labels = {model._meta.label_lower for model in exported_models()} | {"accounts.user"}
    assert {entry["model"] for entry in manifest["models"]} == labels
    assert manifest["workspace"] == "acme" and manifest["generated_at"]
    assert set(archive.namelist()) == {f"{label}.csv" for label in labels} | {"manifest.json"}
    clients = _rows(archive, "accounts.client")
    assert [row["email"] for row in clients] == ["alice@acme.example"]
    assert clients[0]["first_name"] == "'=HYPERLINK(1)"  # formula-safe
    assert [row["code"] for row in _rows(archive, "invitations.invitationcode")] == ["ACMECODE01"]
    entry = next(e for e in manifest["models"] if e["model"] == "accounts.client")
    assert entry["rows"] == 1 and "email" in entry["columns"]
    logins = _rows(archive, "accounts.user")
    assert [row["email"] for row in logins] == ["owner@acme.example"]
    assert "password" not in logins[0]
    everything = b"".join(archive.read(name) for name in archive.namelist())
    assert b"globex" not in everything.lower()


def test_secrets_are_left_out(owner_http, tenant, data, django_capture_on_commit_callbacks):
    _, response = _export(owner_http, tenant, django_capture_on_commit_callbacks)
    archive = _archive(response)
    manifest = json.loads(archive.read("manifest.json"))
    for entry in manifest["models"]:
        for column in entry["columns"]:
            assert not any(part in column for part in ("hash", "salt", "token", "secret", "password")), column
        assert "private_values" not in entry["columns"]
    invitations = next(e for e in manifest["models"] if e["model"] == "tenancy.staffinvitation")
    assert "token_hash" in invitations["left_out"]
    assert "content" in next(e for e in manifest["models"] if e["model"] == "imports.importjob")["left_out"]


def test_asking_and_downloading_are_audited(owner_http, tenant, data, django_capture_on_commit_callbacks):
    export, response = _export(owner_http, tenant, django_capture_on_commit_callbacks)
    b"".join(response.streaming_content)
    events = set(AuditEvent.objects.filter(tenant=tenant).values_list("event", flat=True))
    assert {"data_export.requested", "data_export.downloaded"} <= events
    export.refresh_from_db()
    assert export.downloads == 1


def test_one_export_at_a_time_and_a_new_one_deletes_the_old_archive(
    tenant, owner, data, django_capture_on_commit_callbacks
):
    first = data_export_request(tenant=tenant, user=owner)
    with pytest.raises(ExportRefused) as refused:
        data_export_request(tenant=tenant, user=owner)
    assert str(refused.value) == EXPORT_BUSY
    data_export_build(tenant=tenant, export_id=first.pk)
    first.refresh_from_db()
    path = archive_path(first)
    assert path.is_file()
    assert data_export_build(tenant=tenant, export_id=first.pk) is None  # delivered twice: one effect
    with django_capture_on_commit_callbacks(execute=True):
        data_export_request(tenant=tenant, user=owner)
    first.refresh_from_db()
    assert first.status == ExportStatus.EXPIRED and not path.exists()


def test_archives_are_gone_after_a_day(owner_http, tenant, owner, data, django_capture_on_commit_callbacks):
    export = data_export_request(tenant=tenant, user=owner)
    export = data_export_build(tenant=tenant, export_id=export.pk)
    path = archive_path(export)
    DataExport.objects.filter(pk=export.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    response = owner_http.get(tenant_reverse(tenant, "privacy:export_download", export_id=export.pk))
    assert response.status_code == 302
    with django_capture_on_commit_callbacks(execute=True):
        assert data_exports_sweep() == 1
    assert not path.exists()
    export.refresh_from_db()
    assert export.status == ExportStatus.EXPIRED
    page = owner_http.get(tenant_reverse(tenant, "privacy:export_download", export_id=export.pk), follow=True)
    assert EXPORT_GONE.encode() in page.content


def test_only_owners_export(admin_http, staff_http, tenant):
    url = tenant_reverse(tenant, "privacy:export")
    assert admin_http.get(url).status_code == 403
    assert staff_http.post(url).status_code == 403
    assert not DataExport.objects.exists()


def test_another_tenants_export_is_a_404(owner_http, tenant, other_tenant, data):
    theirs = data_export_request(tenant=other_tenant, user=member(other_tenant, Role.OWNER))
    data_export_build(tenant=other_tenant, export_id=theirs.pk)
    url = tenant_reverse(tenant, "privacy:export_download", export_id=theirs.pk)
    assert owner_http.get(url).status_code == 404


def test_the_page_shows_an_empty_state_and_progress(owner_http, tenant, owner):
    url = tenant_reverse(tenant, "privacy:export")
    assert b"No exports yet" in owner_http.get(url).content
    data_export_request(tenant=tenant, user=owner)
    page = owner_http.get(url).content
    assert b"<progress" in page and b'http-equiv="refresh"' in page


def test_the_task_run_with_another_tenants_export_id_does_nothing(tenant, other_tenant, owner, data):
    from privacy.tasks import build_data_export

    theirs = data_export_request(tenant=other_tenant, user=None)
    assert build_data_export(tenant_id=tenant.pk, export_id=theirs.pk) == "skipped"
    theirs.refresh_from_db()
    assert theirs.status == ExportStatus.QUEUED and not theirs.file_token


def test_asking_twice_on_the_page_says_one_is_being_prepared(owner_http, tenant):
    url = tenant_reverse(tenant, "privacy:export")
    owner_http.post(url)
    page = owner_http.post(url, follow=True)
    assert EXPORT_BUSY.encode() in page.content
    assert DataExport.objects.filter(tenant=tenant).count() == 1
