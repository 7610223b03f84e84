"""The staged import pipeline: store the file, check every row in a task, show the problems, and
commit a clean file atomically, exactly once (docs/concurrency.md)."""

import logging

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from tenancy.events import current_actor, publish
from tenancy.models import Tenant
from tenancy.tasks import enqueue_on_commit

from . import progress, registry
from .models import ImportJob, ImportStatus
from .parsing import parse_csv

logger = logging.getLogger(__name__)

MAX_PROBLEMS_KEPT = 1000
FILE_TOO_LARGE = gettext_noop("The file is larger than {limit}. Split it into smaller files.")
CHECK_FAILED = gettext_noop(
    "The file could not be checked ({error}). Nothing was changed; tell us if this keeps happening."
)
COMMIT_FAILED = gettext_noop("The import stopped and changed nothing ({error}). You can upload the file again.")
COMMIT_REFUSED = gettext_noop("The import stopped and changed nothing: {reason}")
FILE_EMPTY = gettext_noop("The file is empty.")
NOT_READY = gettext_noop("This file is not ready to import: {status}.")
ALREADY_COMMITTING = gettext_noop("This file is already being imported; it is imported once.")


def import_start(*, tenant: Tenant, kind: str, params: dict, upload, actor) -> ImportJob:
    """Keep the uploaded file and check it in a task after commit."""
    from .tasks import validate_import

    if upload.size > settings.IMPORT_MAX_BYTES:
        raise ValidationError({"file": _(FILE_TOO_LARGE).format(limit=filesizeformat(settings.IMPORT_MAX_BYTES))})
    content = upload.read(settings.IMPORT_MAX_BYTES + 1)
    if not content:
        raise ValidationError({"file": _(FILE_EMPTY)})
    with transaction.atomic():
        job = ImportJob.objects.create(
            tenant=tenant,
            kind=kind,
            params=params,
            original_name=(upload.name or "upload.csv")[:255],
            content=content,
            size=len(content),
            created_by=actor,
        )
        publish(
            tenant=tenant,
            name="import.started",
            obj=job,
            actor=actor,
            summary=f"File {job.original_name} uploaded ({registry.get(kind).label}), {job.size:,} bytes.",
            payload={"kind": kind, "params": params},
        )
        enqueue_on_commit(validate_import, tenant_id=tenant.pk, job_id=job.pk)
    return job


def _parse(job: ImportJob, kind: registry.ImportKind):
    return parse_csv(
        bytes(job.content), columns=kind.columns, required=kind.required, max_rows=settings.IMPORT_MAX_ROWS
    )


def _check(
    job: ImportJob, kind: registry.ImportKind, tenant: Tenant, start=0, end=100
) -> tuple[list, registry.Check | None, list]:
    """Every problem of the file (those of reading it, and those of its readable rows), the kind's
    check of the rows (None without rows), and the rows."""
    report = progress.reporter(job.pk, start, end)
    parsed = _parse(job, kind)
    report(0.2)
    problems, checked = list(parsed.problems), None
    if parsed.rows:
        checked = kind.check(
            tenant=tenant, params=job.params, rows=parsed.rows, progress=lambda f: report(0.2 + 0.8 * f)
        )
        problems += checked.problems
    problems.sort(key=lambda p: (p.row or 0, p.column or ""))
    return problems, checked, parsed.rows


def import_validate(*, tenant: Tenant, job_id: int) -> ImportJob:
    """Check every row without writing anything; store the problems, or the plan of a clean file."""
    jobs = ImportJob.objects.filter(tenant=tenant, pk=job_id)
    job = jobs.filter(status=ImportStatus.VALIDATING).first()
    if job is None:
        return jobs.get()
    kind = registry.get(job.kind)
    try:
        problems, checked, rows = _check(job, kind, tenant)
    except Exception as exc:  # a file that trips the checker must end visibly, not stay "Checking"
        logger.exception("Import %s could not be checked.", job_id)
        jobs.filter(status=ImportStatus.VALIDATING).update(
            status=ImportStatus.FAILED,
            failure=_(CHECK_FAILED).format(error=type(exc).__name__),
            updated_at=timezone.now(),
        )
        return jobs.get()
    ends = {"content": b""} if problems and kind.customer_owned else {}
    jobs.filter(status=ImportStatus.VALIDATING).update(
        **ends,
        status=ImportStatus.INVALID if problems else ImportStatus.VALID,
        progress=100,
        total_rows=len(rows),
        problems=[p.as_dict() for p in problems[:MAX_PROBLEMS_KEPT]],
        problem_count=len(problems),
        plan=checked.plan if checked else {},
        validated_at=timezone.now(),
        updated_at=timezone.now(),
    )
    return jobs.get()


def import_request_commit(*, tenant: Tenant, job: ImportJob, actor) -> ImportJob:
    """ "Complete Import": only a clean file, and only once — the second click finds it taken."""
    from .tasks import commit_import

    with transaction.atomic():
        if not ImportJob.objects.filter(tenant=tenant, pk=job.pk, status=ImportStatus.VALID).update(
            status=ImportStatus.COMMITTING, progress=0, updated_at=timezone.now()
        ):
            job.refresh_from_db()
            if job.status in (ImportStatus.COMMITTING, ImportStatus.COMMITTED):
                raise ValidationError(_(ALREADY_COMMITTING))
            raise ValidationError(_(NOT_READY).format(status=job.get_status_display().lower()))
        requester = current_actor(actor)  # a person, or the API key of the request
        enqueue_on_commit(
            commit_import,
            tenant_id=tenant.pk,
            job_id=job.pk,
            actor_id=requester.user_id,
            actor_label=requester.label if requester.api_key_id else "",
            api_key_id=requester.api_key_id,
        )
    job.refresh_from_db()
    return job


def import_commit(*, tenant: Tenant, job_id: int, actor) -> ImportJob:
    """Apply a clean file in one transaction with the job's own status change, so a crash leaves
    nothing half-done and a second delivery of the task finds the job committed and does nothing.
    The rows are checked again first: what they refer to may have changed since validation."""
    try:
        with transaction.atomic():
            job = ImportJob.objects.select_for_update().get(tenant=tenant, pk=job_id)
            if job.status != ImportStatus.COMMITTING:
                return job
            kind = registry.get(job.kind)
            problems, checked, rows = _check(job, kind, tenant, start=0, end=30)
            if problems:
                job.status, job.problem_count = ImportStatus.INVALID, len(problems)
                job.problems = [p.as_dict() for p in problems[:MAX_PROBLEMS_KEPT]]
                if kind.customer_owned:
                    job.content = b""
                job.save(update_fields=["status", "problems", "problem_count", "updated_at", "content"])
                return job
            job.summary = kind.commit(
                tenant=tenant,
                params=job.params,
                rows=rows,
                actor=actor,
                checked=checked,
                progress=progress.reporter(job.pk, 30, 100),
            )
            job.status, job.progress, job.committed_at = ImportStatus.COMMITTED, 100, timezone.now()
            fields = ["summary", "status", "progress", "committed_at", "updated_at"]
            if kind.customer_owned:
                job.content = b""
                fields.append("content")
            job.save(update_fields=fields)
            publish(
                tenant=tenant,
                name="import.committed",
                obj=job,
                actor=actor,
                summary=f"File {job.original_name} imported ({kind.label}).",
                payload={"kind": job.kind, "summary": job.summary},
            )
            return job
    except Exception as exc:
        logger.exception("Import %s failed while committing.", job_id)
        failed = ImportJob.objects.filter(tenant=tenant, pk=job_id, status=ImportStatus.COMMITTING)
        if failed.filter(kind__in=registry.customer_owned_kinds()).exists():
            failed.update(content=b"")
        if isinstance(exc, ValidationError) and exc.messages:
            # A rule of the kind refused it (e.g. the codes were taken by a send committed meanwhile):
            # its own words, not the name of the exception.
            failure = _(COMMIT_REFUSED).format(reason=" ".join(exc.messages))[:2000]
        else:
            failure = _(COMMIT_FAILED).format(error=type(exc).__name__)
        with transaction.atomic():
            if failed.update(status=ImportStatus.FAILED, failure=failure, updated_at=timezone.now()):
                job = ImportJob.objects.get(tenant=tenant, pk=job_id)
                publish(
                    tenant=tenant,
                    name="import.failed",
                    obj=job,
                    actor=actor,
                    summary=f"File {job.original_name} could not be imported ({type(exc).__name__}); nothing changed.",
                    payload={"kind": job.kind},
                )
        return ImportJob.objects.get(tenant=tenant, pk=job_id)
