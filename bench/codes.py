"""Generating codes: 100,000 for one contract in a tenant that already holds 1,000,000, the same
rows by PostgreSQL COPY (the physical floor), and how the time grows from 1,000 to 100,000."""

import io
import time

from django.db import connection

from invitations import codes
from invitations.models import BatchStatus, CodeBatch, InvitationCode
from invitations.services import code_batch_run
from tenancy.scoping import isolated_scope

from .common import bench_contract, peak_rss_mb, timed_copy
from .registry import Scenario, Verdict, register

TENANT = "bench-codes"  # holds EXISTING codes in a contract of their own, kept between runs
EXISTING = 1_000_000
QUANTITY = 100_000


def prepare_existing() -> dict:
    """Fill the tenant up to EXISTING random codes (once; later runs find them there)."""
    tenant, actor, contract, price = bench_contract("existing", slug=TENANT)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM invitations_invitationcode WHERE tenant_id = %s", [tenant.pk])
        have = cursor.fetchone()[0]
        while have < EXISTING:
            # 12 random hex symbols (all in the code alphabet) after a fixed prefix; duplicates skipped.
            cursor.execute(
                """
                INSERT INTO invitations_invitationcode (tenant_id, contract_id, price_id, code, max_uses, uses,
                    status, restricted_domain, created_at)
                SELECT %s, %s, %s, 'EX' || upper(substr(md5(random()::text), 1, 12)), 1, 0, 'active', '', now()
                FROM generate_series(1, %s)
                ON CONFLICT DO NOTHING
                """,
                [tenant.pk, contract.pk, price.pk, EXISTING - have],
            )
            have += cursor.rowcount
        cursor.execute("VACUUM ANALYZE invitations_invitationcode")
    return {"value": 0, "peak_mb": peak_rss_mb(), "ok": have >= EXISTING}


def _clean_up(tenant, contract) -> None:
    """Remove what a run made, so every run starts from the same 1,000,000 codes."""
    with connection.cursor() as cursor:  # plain SQL: the ORM's delete() would load 100,000 objects
        cursor.execute("DELETE FROM invitations_invitationcode WHERE contract_id = %s", [contract.pk])
        cursor.execute("DELETE FROM invitations_codebatch WHERE contract_id = %s", [contract.pk])
        cursor.execute("DELETE FROM contracts_contractevent WHERE contract_id = %s", [contract.pk])
        cursor.execute("DELETE FROM contracts_contractprice WHERE contract_id = %s", [contract.pk])
        cursor.execute("DELETE FROM contracts_contract WHERE id = %s", [contract.pk])
        cursor.execute("VACUUM ANALYZE invitations_invitationcode")


def _generate(quantity: int) -> tuple[float, bool, float]:
    """Seconds the worker takes to generate ``quantity`` codes, and whether exactly those exist."""
    tenant, actor, contract, price = bench_contract(f"codes {quantity}", slug=TENANT)
    with isolated_scope(tenant=tenant):
        # The batch row as the "Generate" form writes it; the timed part is what the worker does.
        batch = CodeBatch.objects.create(
            tenant=tenant, contract=contract, price=price, quantity=quantity, width=10, created_by=actor
        )
        started = time.perf_counter()
        done = code_batch_run(tenant=tenant, batch_id=batch.pk)
        seconds = time.perf_counter() - started
        made = InvitationCode.objects.filter(tenant=tenant, contract=contract)
        ok = (
            done.status == BatchStatus.DONE
            and made.count() == quantity
            and made.values("code").distinct().count() == quantity
            and all(code.startswith(contract.invitation_prefix) for code in made.values_list("code", flat=True)[:100])
        )
    peak_mb = peak_rss_mb()
    _clean_up(tenant, contract)
    return seconds, ok, peak_mb


def codes_100k() -> dict:
    seconds, ok, peak_mb = _generate(QUANTITY)
    return {"value": seconds, "peak_mb": peak_mb, "ok": ok}


def codes_copy_reference() -> dict:
    """PostgreSQL COPY of the same rows into the same table and tenant."""
    tenant, actor, contract, price = bench_contract("copy", slug=TENANT)
    buffer = io.StringIO()
    for body in codes.draw(QUANTITY, 10):
        fields = [tenant.pk, contract.pk, price.pk, contract.invitation_prefix + body, 1, 0, "active", r"\N", r"\N"]
        buffer.write("\t".join(map(str, fields)) + "\t\t2026-01-01 00:00:00+00\n")
    seconds = timed_copy(
        "COPY invitations_invitationcode (tenant_id, contract_id, price_id, code, max_uses, uses, status, "
        "valid_from, valid_until, restricted_domain, created_at) FROM STDIN",
        buffer.getvalue(),
    )
    with isolated_scope(tenant=tenant):
        ok = InvitationCode.objects.filter(tenant=tenant, contract=contract).count() == QUANTITY
    peak_mb = peak_rss_mb()
    _clean_up(tenant, contract)
    return {"value": seconds, "peak_mb": peak_mb, "ok": ok}


def codes_scaling() -> dict:
    """1,000, 10,000 and 100,000 codes in the same tenant; the headline is time(100k) / time(1k)."""
    figures, ok = {}, True
    for quantity in (1_000, 10_000, 100_000):
        seconds, right, _ = _generate(quantity)
        figures[f"s_{quantity}"] = seconds
        ok = ok and right
    return {"value": figures["s_100000"] / figures["s_1000"], "peak_mb": peak_rss_mb(), "ok": ok, **figures}


def _judge_100k(figures, reference) -> Verdict:
    ratio = figures["value"] / reference["value"] if reference else float("inf")
    met = figures["value"] <= 2.0 and ratio <= 3.0 and figures["peak_mb"] <= 250
    return Verdict("≤ 2 s, ≤ 3× COPY, ≤ 250 MB", met)


def _judge_scaling(figures, reference) -> Verdict:
    linear = figures["s_10000"] <= 10 * figures["s_1000"] and figures["s_100000"] <= 10 * figures["s_10000"]
    return Verdict("each 10× more codes takes ≤ 10× the time", linear)


register(
    Scenario(
        name="codes_100k",
        label=f"generate 100,000 codes for one contract, {EXISTING:,} already in the tenant",
        run="bench.codes:codes_100k",
        prepare="bench.codes:prepare_existing",
        reference="codes_copy_reference",
        judge=_judge_100k,
    ),
    Scenario(
        name="codes_copy_reference",
        label="reference: PostgreSQL COPY of the same 100,000 rows",
        run="bench.codes:codes_copy_reference",
        prepare="bench.codes:prepare_existing",
    ),
    Scenario(
        name="codes_scaling",
        label="generate 1,000 / 10,000 / 100,000 codes: time(100k) ÷ time(1k)",
        run="bench.codes:codes_scaling",
        prepare="bench.codes:prepare_existing",
        unit="×",
        judge=_judge_scaling,
        details=lambda f: f"1k {f['s_1000']:.3f} s, 10k {f['s_10000']:.2f} s, 100k {f['s_100000']:.2f} s",
    ),
)
