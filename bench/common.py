"""Helpers shared by the scenarios: memory, timing a COPY, a tenant with one contract and price."""

import contextlib
import os
import resource
import signal
import subprocess
import sys
import time
import urllib.parse
import uuid
from decimal import Decimal
from pathlib import Path

from django.db import connection

from accounts.models import User
from bookings.models import Service
from contracts.models import Contract, ContractPrice, Organisation
from invitations import codes
from tenancy.models import Tenant
from tenancy.scoping import isolated_scope

ROOT = Path(__file__).resolve().parent.parent
STATIC_ROOT = ROOT / "var" / "bench-static"  # the production storage renders pages from collected files


def collect_static() -> None:
    """Collect the static files into STATIC_ROOT, as a deployment does before serving pages."""
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=ROOT,
        env={**os.environ, "STATIC_ROOT": str(STATIC_ROOT)},
        check=True,
    )


def stop_group(process: subprocess.Popen, *, grace: float = 20) -> None:
    """Stop a process started in its own session and everything it started: SIGTERM to the group (a
    warm shutdown), then SIGKILL if it is still there after ``grace`` seconds."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


APP_ROLE = "tessera_app"


def as_app_role(database_url: str) -> str:
    """``database_url`` for the role the app connects as in a deployment (docs/operations.md): made
    and granted here, by the bench's own connection (the owner), so row-level security binds the server."""
    from tenancy import rls

    rls.grant_app_role(APP_ROLE)
    parts = urllib.parse.urlsplit(database_url)
    host = parts.hostname or "127.0.0.1"
    netloc = f"{APP_ROLE}@{host}" + (f":{parts.port}" if parts.port else "")
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


def open_every_day(service, *, slot_capacity: int) -> None:
    """Open ``service`` 09:00–17:00 every day of the week (as tests/factories.py opens one)."""
    from datetime import time as clock

    from bookings.models import WeeklyAvailability

    WeeklyAvailability.objects.bulk_create(
        WeeklyAvailability(
            tenant=service.tenant,
            service=service,
            weekday=day,
            start_time=clock(9),
            end_time=clock(17),
            slot_capacity=slot_capacity,
        )
        for day in range(7)
    )


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed_copy(statement: str, data: str) -> float:
    """Seconds PostgreSQL takes to COPY ``data`` (prepared beforehand, so only the COPY is timed)."""
    started = time.perf_counter()
    with connection.cursor() as cursor:
        with cursor.copy(statement) as copy:
            copy.write(data)
    return time.perf_counter() - started


def random_prefix() -> str:
    return "".join(codes.ALPHABET[b & 31] for b in uuid.uuid4().bytes[:6]).replace("0", "A")


def bench_contract(label: str, *, slug: str = "bench"):
    """The tenant ``slug`` (made once), a fresh contract with a unique prefix, and its one price."""
    tag = uuid.uuid4().hex[:8]
    tenant = Tenant.objects.get_or_create(slug=slug, defaults={"name": slug.title()})[0]
    actor = User.objects.get_or_create(email="bench@example.com")[0]
    with isolated_scope(tenant=tenant):
        service = Service.objects.get_or_create(tenant=tenant, name="Bench service")[0]
        org = Organisation.objects.get_or_create(tenant=tenant, name="Bench org")[0]
        contract = Contract.objects.create(
            tenant=tenant,
            organisation=org,
            name=f"{label} {tag}",
            invitation_prefix=random_prefix(),
            starts_on="2026-01-01",
        )
        price = ContractPrice.objects.create(
            tenant=tenant, contract=contract, service=service, amount=Decimal("10"), price_code="STD"
        )
    return tenant, actor, contract, price
