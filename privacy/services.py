"""Data export: one zip archive of every row a tenant owns, a CSV per tenant-owned model and a JSON
manifest, built by a task and downloadable by owners for a day.

Rows are read with ``.iterator()`` (a server-side cursor on PostgreSQL) and written straight into the
archive on disk, so a tenant of a million codes never holds them in memory. Secrets (fields whose
names hold hash, salt, token, secret or password; an email's ``private_values``) and file contents
are left out; the manifest lists what was left out of each file.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import secrets
import zipfile
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.db import IntegrityError, models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from imports.csv_export import safe_cell
from tenancy.events import publish
from tenancy.models import TenantOwned
from tenancy.scoping import scopes_disabled
from tenancy.tasks import enqueue_on_commit

from .models import BUSY_STATUSES, DataExport, ExportStatus

logger = logging.getLogger(__name__)

EXPORT_LIFETIME = timedelta(hours=24)
# A queued or running export older than this was lost (a dead worker, a broker that was down).
EXPORT_STALE_AFTER = timedelta(hours=2)
EXPORT_DIRECTORY = "privacy-exports"
PROGRESS_EVERY_ROWS = 5000
ITERATOR_CHUNK = 2000

SECRET_PARTS = ("hash", "salt", "token", "secret", "password")
LEFT_OUT_FIELDS = {"private_values"}

EXPORT_BUSY = gettext_noop("An export is already being prepared. Wait for it to finish, then download it.")
EXPORT_GONE = gettext_noop(
    "This export is no longer available: archives are deleted 24 hours after they are made. Ask for a new one."
)
EXPORT_NOT_READY = gettext_noop("This export is not ready yet.")
EXPORT_LOST = gettext_noop("The export did not finish (the worker stopped). Ask for a new one.")
EXPORT_FAILED = gettext_noop("The export could not be written. Ask for a new one; if it fails again, tell support.")


class ExportRefused(Exception):
    pass


def exported_models() -> list[type[models.Model]]:
    """Every tenant-owned model, in a fixed order (by label). Logins are added by ``_logins``."""
    return sorted(
        (model for model in apps.get_models() if issubclass(model, TenantOwned)),
        key=lambda model: model._meta.label_lower,
    )


def export_fields(model) -> tuple[list[models.Field], list[str]]:
    """The fields written to the model's CSV, and the names of those left out (secrets, files)."""
    kept, left_out = [], []
    for field in model._meta.concrete_fields:
        if field.name == "tenant":
            continue
        if (
            field.name in LEFT_OUT_FIELDS
            or any(part in field.name for part in SECRET_PARTS)
            or isinstance(field, models.BinaryField | models.FileField)
        ):
            left_out.append(field.name)
        else:
            kept.append(field)
    return kept, left_out


def export_cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict | list):
        return safe_cell(json.dumps(value, ensure_ascii=False, sort_keys=True, default=str))
    if isinstance(value, Decimal):
        return str(value)
    return safe_cell(value)


def export_directory() -> Path:
    return Path(settings.MEDIA_ROOT) / EXPORT_DIRECTORY


def archive_path(export: DataExport) -> Path:
    return export_directory() / f"{export.file_token}.zip"


def _partial_path(export: DataExport) -> Path:
    return export_directory() / f"{export.file_token}.zip.part"


def _delete_files(paths: list[Path]) -> None:
    for path in paths:
        try:
            path.unlink(missing_ok=True)
        except OSError:
            logger.exception("Could not delete export file %s", path)


def _retire(queryset, *, status: str, error: str = "") -> list[Path]:
    """Mark exports deleted or failed; the files to remove once that commits."""
    paths = []
    for export in queryset.select_for_update():
        if export.file_token:
            paths += [archive_path(export), _partial_path(export)]
        export.status = status
        export.error = error or export.error
        export.file_token = ""
        export.finished_at = export.finished_at or timezone.now()
        export.save(update_fields=["status", "error", "file_token", "finished_at"])
    return paths


def data_export_request(*, tenant, user) -> DataExport:
    """Ask for a new archive: earlier archives of the tenant are deleted, a lost export is given up,
    and a second export while one is being built is refused."""
    now = timezone.now()
    with transaction.atomic():
        paths = _retire(
            DataExport.objects.filter(tenant=tenant, status__in=BUSY_STATUSES, created_at__lt=now - EXPORT_STALE_AFTER),
            status=ExportStatus.FAILED,
            error=_(EXPORT_LOST),
        )
        if DataExport.objects.filter(tenant=tenant, status__in=BUSY_STATUSES).exists():
            raise ExportRefused(_(EXPORT_BUSY))
        paths += _retire(
            DataExport.objects.filter(tenant=tenant, status=ExportStatus.READY), status=ExportStatus.EXPIRED
        )
        try:
            with transaction.atomic():
                export = DataExport.objects.create(tenant=tenant, requested_by=user)
        except IntegrityError as exc:  # another request won the race (privacy_one_busy_export)
            raise ExportRefused(_(EXPORT_BUSY)) from exc
        publish(
            tenant=tenant,
            name="data_export.requested",
            summary="Export of all the workspace's data asked for",
            obj=export,
            actor=user,
        )
        from .tasks import build_data_export

        enqueue_on_commit(build_data_export, tenant_id=tenant.pk, export_id=export.pk)
        transaction.on_commit(lambda: _delete_files(paths))
    return export


def data_export_build(*, tenant, export_id: int) -> DataExport | None:
    """Build the archive of a queued export. Runs once: a second delivery finds it claimed."""
    token = secrets.token_urlsafe(24)
    claimed = DataExport.objects.filter(tenant=tenant, pk=export_id, status=ExportStatus.QUEUED).update(
        status=ExportStatus.RUNNING, started_at=timezone.now(), file_token=token
    )
    if not claimed:
        return None
    export = DataExport.objects.get(tenant=tenant, pk=export_id)
    partial = _partial_path(export)
    try:
        manifest = _write_archive(tenant=tenant, export=export, path=partial)
        final = archive_path(export)
        partial.replace(final)
    except Exception:
        logger.exception("Data export %s of tenant %s failed", export_id, tenant.pk)
        _delete_files([partial])
        DataExport.objects.filter(tenant=tenant, pk=export_id).update(
            status=ExportStatus.FAILED, error=_(EXPORT_FAILED), file_token="", finished_at=timezone.now()
        )
        return DataExport.objects.get(tenant=tenant, pk=export_id)
    finished = timezone.now()
    updated = DataExport.objects.filter(tenant=tenant, pk=export_id, status=ExportStatus.RUNNING).update(
        status=ExportStatus.READY,
        progress=100,
        size=final.stat().st_size,
        row_count=sum(item["rows"] for item in manifest["models"]),
        manifest=manifest,
        finished_at=finished,
        expires_at=finished + EXPORT_LIFETIME,
    )
    if not updated:  # given up meanwhile (a newer request found it stale): its file must not stay
        _delete_files([final])
    return DataExport.objects.get(tenant=tenant, pk=export_id)


def _logins(tenant) -> models.QuerySet:
    """The logins the tenant's rows point at: its team and its clients' logins (users are shared
    between workspaces, so only these, and never a password)."""
    from accounts.models import Client, User
    from tenancy.models import Membership

    members = Membership.objects.filter(tenant=tenant).values("user_id")
    clients = Client.objects.filter(tenant=tenant, user__isnull=False).values("user_id")
    return User.objects.filter(models.Q(pk__in=members) | models.Q(pk__in=clients))


LOGIN_COLUMNS = ["id", "email", "first_name", "last_name", "is_active", "date_joined"]


def _write_archive(*, tenant, export: DataExport, path: Path) -> dict:
    path.parent.mkdir(parents=True, exist_ok=True)
    sources = []  # (label, name, columns, left out, queryset)
    for model in exported_models():
        fields, left_out = export_fields(model)
        columns = [field.attname for field in fields]
        queryset = model._default_manager.filter(tenant=tenant).order_by("pk")
        sources.append((model._meta.label_lower, str(model._meta.verbose_name_plural), columns, left_out, queryset))
    logins = _logins(tenant).order_by("pk")
    login_left_out = [f.name for f in logins.model._meta.concrete_fields if f.attname not in LOGIN_COLUMNS]
    sources.append(("accounts.user", "logins of the team and of clients", LOGIN_COLUMNS, login_left_out, logins))

    grand_total = max(sum(queryset.count() for *_, queryset in sources), 1)
    done = 0
    entries = []
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for label, name, columns, left_out, queryset in sources:
            file_name = f"{label}.csv"
            rows = 0
            with archive.open(file_name, "w", force_zip64=True) as raw:
                text = io.TextIOWrapper(raw, encoding="utf-8", newline="")
                writer = csv.writer(text)
                writer.writerow(columns)
                for row in queryset.values_list(*columns).iterator(chunk_size=ITERATOR_CHUNK):
                    writer.writerow([export_cell(value) for value in row])
                    rows += 1
                    done += 1
                    if done % PROGRESS_EVERY_ROWS == 0:
                        DataExport.objects.filter(tenant=tenant, pk=export.pk).update(
                            progress=min(99, done * 100 // grand_total)
                        )
                text.flush()
                text.detach()
            entries.append(
                {
                    "model": label,
                    "name": name,
                    "file": file_name,
                    "rows": rows,
                    "columns": columns,
                    "left_out": left_out,
                }
            )
        manifest = {
            "workspace": tenant.slug,
            "generated_at": timezone.now().isoformat(),
            "export_id": export.pk,
            "models": entries,
        }
        archive.writestr("manifest.json", json.dumps(manifest, indent=2, ensure_ascii=False))
    return manifest


def data_export_download(*, tenant, export_id: int, user) -> tuple[DataExport, Path]:
    """The archive to send, recorded in the audit trail. Refused once the day is over."""
    with transaction.atomic():
        export = DataExport.objects.select_for_update().filter(tenant=tenant, pk=export_id).first()
        if export is None:
            raise DataExport.DoesNotExist
        if export.busy:
            raise ExportRefused(_(EXPORT_NOT_READY))
        path = archive_path(export) if export.file_token else None
        if not export.downloadable or path is None or not path.is_file():
            raise ExportRefused(_(EXPORT_GONE))
        export.downloads += 1
        export.save(update_fields=["downloads"])
        publish(
            tenant=tenant,
            name="data_export.downloaded",
            summary=f"Data export #{export.pk} downloaded",
            obj=export,
            actor=user,
        )
    return export, path


def data_exports_sweep(*, tenant=None) -> int:
    """Delete archives older than a day and give up exports a lost task left; one tenant or all."""
    now = timezone.now()
    with scopes_disabled(), transaction.atomic():
        exports = DataExport.objects.all() if tenant is None else DataExport.objects.filter(tenant=tenant)
        paths = _retire(exports.filter(status=ExportStatus.READY, expires_at__lte=now), status=ExportStatus.EXPIRED)
        paths += _retire(
            exports.filter(status__in=BUSY_STATUSES, created_at__lt=now - EXPORT_STALE_AFTER),
            status=ExportStatus.FAILED,
            error=_(EXPORT_LOST),
        )
        transaction.on_commit(lambda: _delete_files(paths))
    return len(paths) // 2
