"""One measured scenario per function. Each runs in a fresh process (so peak memory is its own),
builds what it needs in the benchmark database, times only the work a user waits for, checks the
result is right, and returns its figures."""

import io
import resource
import time
import uuid
from decimal import Decimal

from django.db import connection

from accounts.models import User
from bookings.models import Service
from contracts.models import Contract, ContractPrice, Organisation, Participant
from imports.models import ImportJob, ImportStatus
from imports.services import import_commit, import_validate
from invitations import codes
from invitations.models import CodeBatch, InvitationCode
from invitations.services import code_batch_run
from tenancy.models import Tenant
from tenancy.scoping import isolated_scope


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _setup(label: str):
    tag = uuid.uuid4().hex[:8]
    tenant = Tenant.objects.get_or_create(slug="bench", defaults={"name": "Bench"})[0]
    actor = User.objects.get_or_create(email="bench@example.com")[0]
    with isolated_scope(tenant=tenant):
        service = Service.objects.get_or_create(tenant=tenant, name="Bench service")[0]
        org = Organisation.objects.get_or_create(tenant=tenant, name="Bench org")[0]
        prefix = "".join(codes.ALPHABET[b & 31] for b in uuid.uuid4().bytes[:6]).replace("0", "A")
        contract = Contract.objects.create(
            tenant=tenant, organisation=org, name=f"{label} {tag}", invitation_prefix=prefix, starts_on="2026-01-01"
        )
        price = ContractPrice.objects.create(
            tenant=tenant, contract=contract, service=service, amount=Decimal("10"), price_code="STD"
        )
    return tenant, actor, contract, price


def codes_100k(quantity: int = 100_000) -> dict:
    tenant, actor, contract, price = _setup("codes")
    with isolated_scope(tenant=tenant):
        # The batch row as the "Generate" form writes it; the timed part is what the worker does.
        batch = CodeBatch.objects.create(
            tenant=tenant, contract=contract, price=price, quantity=quantity, width=10, created_by=actor
        )
        started = time.perf_counter()
        done = code_batch_run(tenant=tenant, batch_id=batch.pk)
        seconds = time.perf_counter() - started
        made = InvitationCode.objects.filter(tenant=tenant, contract=contract)
        ok = done.status == "done" and made.count() == quantity and made.values("code").distinct().count() == quantity
    return {"seconds": seconds, "peak_mb": peak_rss_mb(), "ok": ok, "rows": quantity}


def _timed_copy(statement: str, data: str) -> float:
    """Seconds PostgreSQL takes to COPY ``data`` (prepared beforehand, so only the COPY is timed)."""
    started = time.perf_counter()
    with connection.cursor() as cursor:
        with cursor.copy(statement) as copy:
            copy.write(data)
    return time.perf_counter() - started


def codes_copy_reference(quantity: int = 100_000) -> dict:
    """PostgreSQL COPY of the same number of code rows: the physical floor for comparison."""
    tenant, actor, contract, price = _setup("copy")
    bodies = codes.draw(quantity, 10)
    buffer = io.StringIO()
    for body in bodies:
        fields = [tenant.pk, contract.pk, price.pk, contract.invitation_prefix + body, 1, 0, "active", r"\N", r"\N"]
        buffer.write("\t".join(map(str, fields)) + "\t\t2026-01-01 00:00:00+00\n")
    seconds = _timed_copy(
        "COPY invitations_invitationcode (tenant_id, contract_id, price_id, code, max_uses, uses, status, "
        "valid_from, valid_until, restricted_domain, created_at) FROM STDIN",
        buffer.getvalue(),
    )
    with isolated_scope(tenant=tenant):
        ok = InvitationCode.objects.filter(tenant=tenant, contract=contract).count() == quantity
    return {"seconds": seconds, "peak_mb": peak_rss_mb(), "ok": ok, "rows": quantity}


def _participants_csv(rows: int) -> bytes:
    lines = ["participant_id,first_name,last_name,email,phone,date_of_birth,price_code,invitation_code"]
    for n in range(rows):
        lines.append(f",First{n},Last{n},person{n}@bench.example,+31 6 {10000000 + n},1990-01-{n % 28 + 1:02d},STD,")
    return ("\r\n".join(lines) + "\r\n").encode("utf-8-sig")


def participants_20k(rows: int = 20_000) -> dict:
    tenant, actor, contract, price = _setup("import")
    content = _participants_csv(rows)
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
        ok = (
            valid
            and job.status == ImportStatus.COMMITTED
            and Participant.objects.filter(tenant=tenant, contract=contract).count() == rows
            and InvitationCode.objects.filter(tenant=tenant, contract=contract, participant__isnull=False).count()
            == rows
        )
    return {
        "seconds": validate_seconds + commit_seconds,
        "validate_seconds": validate_seconds,
        "commit_seconds": commit_seconds,
        "peak_mb": peak_rss_mb(),
        "ok": ok,
        "rows": rows,
    }


def participants_copy_reference(rows: int = 20_000) -> dict:
    tenant, actor, contract, price = _setup("pcopy")
    buffer = io.StringIO()
    for n in range(rows):
        buffer.write(
            f"{tenant.pk}\t{contract.pk}\tFirst{n}\tLast{n}\tperson{n}@bench.example\t+31 6 {n}\t1990-01-01\t"
            "2026-01-01 00:00:00+00\t2026-01-01 00:00:00+00\n"
        )
    seconds = _timed_copy(
        "COPY contracts_participant (tenant_id, contract_id, first_name, last_name, email, phone, date_of_birth, "
        "created_at, updated_at) FROM STDIN",
        buffer.getvalue(),
    )
    with isolated_scope(tenant=tenant):
        ok = Participant.objects.filter(tenant=tenant, contract=contract).count() == rows
    return {"seconds": seconds, "peak_mb": peak_rss_mb(), "ok": ok, "rows": rows}


SCENARIOS = {
    "codes_100k": codes_100k,
    "codes_copy_reference": codes_copy_reference,
    "participants_20k": participants_20k,
    "participants_copy_reference": participants_copy_reference,
}
