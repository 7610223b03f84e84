"""The participants CSV: 50,000 rows validated, then committed (each row also gets a code), against
django-import-export's default row-by-row path (dry run, then import) on 5,000 of the same rows."""

import time

from django.db import connection, transaction
from import_export import fields, resources, widgets
from tablib import Dataset

from contracts.models import Participant
from imports.models import ImportJob, ImportStatus
from imports.services import import_commit, import_validate
from invitations.models import InvitationCode
from tenancy.scoping import isolated_scope

from .common import bench_contract, peak_rss_mb
from .registry import Scenario, Verdict, register

ROWS = 50_000
DEFAULT_PATH_ROWS = 5_000
HEADER = "participant_id,first_name,last_name,email,phone,date_of_birth,price_code,invitation_code"


def _row(n: int) -> str:
    return f",First{n},Last{n},person{n}@bench.example,+31 6 {10000000 + n},1990-01-{n % 28 + 1:02d},STD,"


def participants_csv(rows: int) -> bytes:
    """The file a client fills in: new participants, each with the price code STD."""
    return ("\r\n".join([HEADER, *map(_row, range(rows))]) + "\r\n").encode("utf-8-sig")


def _analyze() -> None:
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE contracts_participant; ANALYZE invitations_invitationcode")


def participants_50k() -> dict:
    tenant, actor, contract, price = bench_contract("import")
    content = participants_csv(ROWS)
    _analyze()
    with isolated_scope(tenant=tenant):
        # The job row as the upload page writes it; the timed parts are what the worker does.
        job = ImportJob.objects.create(
            tenant=tenant,
            kind="contracts.participants",
            params={"contract": contract.pk},
            original_name="bench.csv",
            content=content,
            size=len(content),
            created_by=actor,
        )
        started = time.perf_counter()
        job = import_validate(tenant=tenant, job_id=job.pk)
        validate_seconds = time.perf_counter() - started
        valid = job.status == ImportStatus.VALID
        ImportJob.objects.filter(pk=job.pk, status=ImportStatus.VALID).update(status=ImportStatus.COMMITTING)
        started = time.perf_counter()
        job = import_commit(tenant=tenant, job_id=job.pk, actor=actor)
        commit_seconds = time.perf_counter() - started
        made = Participant.objects.filter(tenant=tenant, contract=contract)
        ok = (
            valid
            and job.status == ImportStatus.COMMITTED
            and made.count() == ROWS
            and made.filter(email="person49999@bench.example", first_name="First49999").exists()
            and InvitationCode.objects.filter(tenant=tenant, contract=contract, participant__isnull=False).count()
            == ROWS
        )
    total = validate_seconds + commit_seconds
    return {
        "value": ROWS / total,
        "seconds": total,
        "validate_seconds": validate_seconds,
        "commit_seconds": commit_seconds,
        "peak_mb": peak_rss_mb(),
        "ok": ok,
    }


class DefaultParticipantResource(resources.ModelResource):
    """A plain ModelResource, as django-import-export's documentation starts one: each row looked up
    by its id, validated as a model instance and saved one by one."""

    participant_id = fields.Field(attribute="id", column_name="participant_id", widget=widgets.IntegerWidget())

    class Meta:
        model = Participant
        fields = ("participant_id", "first_name", "last_name", "email", "phone", "date_of_birth")
        import_id_fields = ("participant_id",)

    def __init__(self, *, tenant, contract):
        super().__init__()
        self.tenant, self.contract = tenant, contract

    def before_save_instance(self, instance, row, **kwargs):
        instance.tenant, instance.contract = self.tenant, self.contract


def default_path_reference() -> dict:
    """django-import-export's default path: ``import_data(dry_run=True)`` then the real import."""
    tenant, actor, contract, price = bench_contract("default path")
    text = "\n".join([HEADER, *map(_row, range(DEFAULT_PATH_ROWS))])
    dataset = Dataset().load(text, format="csv")
    _analyze()
    with isolated_scope(tenant=tenant):
        resource = DefaultParticipantResource(tenant=tenant, contract=contract)
        started = time.perf_counter()
        with transaction.atomic():
            dry = resource.import_data(dataset, dry_run=True, raise_errors=True)
        dry_seconds = time.perf_counter() - started
        started = time.perf_counter()
        with transaction.atomic():
            real = resource.import_data(dataset, dry_run=False, raise_errors=True)
        import_seconds = time.perf_counter() - started
        ok = (
            not dry.has_errors()
            and not real.has_errors()
            and Participant.objects.filter(tenant=tenant, contract=contract).count() == DEFAULT_PATH_ROWS
        )
    total = dry_seconds + import_seconds
    return {
        "value": DEFAULT_PATH_ROWS / total,
        "seconds": total,
        "validate_seconds": dry_seconds,
        "commit_seconds": import_seconds,
        "peak_mb": peak_rss_mb(),
        "ok": ok,
    }


def _judge(figures, reference) -> Verdict:
    ratio = figures["value"] / reference["value"] if reference else 0
    met = (
        figures["validate_seconds"] <= 5
        and figures["commit_seconds"] <= 5
        and ratio >= 30
        and figures["peak_mb"] <= 300
    )
    return Verdict("validate ≤ 5 s, commit ≤ 5 s, ≥ 30× the default path's rows/s, ≤ 300 MB", met)


def _split(figures) -> str:
    return f"validate {figures['validate_seconds']:.2f} s, commit {figures['commit_seconds']:.2f} s"


register(
    Scenario(
        name="participants_50k",
        label="participants CSV, 50,000 rows: validate, then commit (a code for each row)",
        run="bench.participants:participants_50k",
        unit="rows/s",
        reference="participants_default_path",
        judge=_judge,
        details=_split,
    ),
    Scenario(
        name="participants_default_path",
        label="reference: django-import-export default path (dry run, then import), 5,000 of the same rows",
        run="bench.participants:default_path_reference",
        unit="rows/s",
        details=_split,
    ),
)
