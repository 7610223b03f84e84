"""Redeem-and-book over HTTP: gunicorn on loopback as deployed, 50 concurrent visitors booking with
codes of several uses each (more visitors than uses per code, so some are refused as used up),
against a constant Django page on the same server; then a check that no code was redeemed more
times than allowed and every booking has its redemption and its seat.

The server is started the way production runs it (``gunicorn config.wsgi``, docs/operations.md)
with what a deployment with several web processes sets: Redis as the cache (the rate limit of code
attempts is shared by the workers), persistent database connections (``CONN_MAX_AGE``), the client
address taken from ``X-Forwarded-For`` (each simulated visitor has their own), and a Redis broker the
confirmation emails are queued to (no Celery worker runs: the web request only queues them).

Four loads, one server, each by bench/loadgen.py in its own process: the constant page (the
reference throughput), the booking flow in a closed loop (the saturation throughput, and its
latency, which in a closed loop is the queue: ≈ clients ÷ throughput), the booking flow in an open
loop offering 25 % of the constant page's requests a second (the target: that rate served with p95
≤ 60 ms; the headline figure is this p95), and in an open loop at half the closed loop's throughput
(the latency at a load the server carries). Server CPU per request (gunicorn workers and their
database sessions) is reported too: unlike the wall clock, other work on the machine hardly moves it.
``BENCH_HTTP_SECONDS=5`` makes a quick run.
"""

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import redis
from django.db import connection
from django.db.models import Count, F, Q
from django.utils import timezone

from bookings.models import Booking, BookingStatus, Service, Slot
from contracts.models import Contract, ContractPrice, Organisation
from invitations import codes
from invitations.models import CodeStatus, InvitationCode, Redemption
from invitations.services import CODE_USED_UP
from tenancy.models import Tenant
from tenancy.scoping import isolated_scope

from .common import (
    ROOT,
    STATIC_ROOT,
    as_app_role,
    collect_static,
    open_every_day,
    peak_rss_mb,
    random_prefix,
    stop_group,
)
from .registry import Scenario, Verdict, register

TENANT = "bench-http"
CLIENTS = int(os.environ.get("BENCH_HTTP_CLIENTS", "50"))
SECONDS = float(os.environ.get("BENCH_HTTP_SECONDS", "30"))  # the closed loop, as the issue states it
OPEN_SECONDS = min(SECONDS, 12.0)  # each open loop
CONSTANT_SECONDS = min(SECONDS, 10.0)  # the constant page, the reference scenario
CALIBRATION_SECONDS = min(SECONDS, 6.0)  # the constant page again before the flow: the open loop's rate
WARMUP = 2.0
OPEN_SHARE = 0.25  # the open loop offers this share of the constant page's requests a second
# gunicorn as docs/operations.md runs it: sync workers (a proxy in front opens a connection per
# request, as nginx does by default). How many: (2 × cores) + 1 = 5, gunicorn's own rule; a sync
# worker holds its request through every database round trip, so one worker more than the cores
# keeps both busy while others wait on PostgreSQL. 3 (the docs' example) measured the same within
# the noise here: the flow is CPU-bound.
WORKERS = int(os.environ.get("BENCH_HTTP_WORKERS", "5"))
WORKER_CLASS = os.environ.get("BENCH_HTTP_WORKER_CLASS", "sync")
THREADS = int(os.environ.get("BENCH_HTTP_THREADS", "1"))
REDIS = os.environ.get("BENCH_HTTP_REDIS", "redis://127.0.0.1:6379")
CACHE_DB, BROKER_DB = 10, 11  # flushed by every run
APPLICATION_NAME = "tessera-bench-http"
MAX_USES = 3
ATTEMPTS_PER_CODE = MAX_USES + 1  # each code handed to one visitor more than it has uses
CODES_PER_LOAD = 3_000  # × 4 visitors: more than a load can start (checked), so none goes round twice
SLOT_CAPACITY = 100  # seats are not what is measured: 8 times a day for 14 days do not fill up


def prepare() -> dict:
    """The tenant, and the collected static files the production storage needs to render a page."""
    Tenant.objects.get_or_create(slug=TENANT, defaults={"name": "Bench HTTP"})
    collect_static()
    return {"value": 0, "peak_mb": peak_rss_mb(), "ok": True}


# The data of one run --------------------------------------------------------------------------------


def _insert_codes(*, tenant, contract, price, count: int) -> list[str]:
    texts = [contract.invitation_prefix + body for body in codes.draw(count, 10)]
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO invitations_invitationcode (tenant_id, contract_id, price_id, code, max_uses, uses, status,
                restricted_domain, created_at)
            SELECT %s, %s, %s, t.code, %s, 0, %s, '', now() FROM unnest(%s::text[]) AS t(code)
            ON CONFLICT DO NOTHING
            """,
            [tenant.pk, contract.pk, price.pk, MAX_USES, CodeStatus.ACTIVE, texts],
        )
        cursor.execute("ANALYZE invitations_invitationcode")
    return texts


def make_run_data(workdir: Path) -> dict:
    """A fresh service (open 09:00–17:00 every day, as tests/factories.py opens one), contract, price
    and codes for this run, and the code lists the three flow loads hand out."""
    tenant = Tenant.objects.get(slug=TENANT)
    tag = uuid.uuid4().hex[:8]
    with isolated_scope(tenant=tenant):
        service = Service.objects.create(tenant=tenant, name=f"Bench session {tag}", duration_minutes=60)
        open_every_day(service, slot_capacity=SLOT_CAPACITY)
        organisation = Organisation.objects.get_or_create(tenant=tenant, name="Bench HTTP org")[0]
        contract = Contract.objects.create(
            tenant=tenant,
            organisation=organisation,
            name=f"HTTP {tag}",
            invitation_prefix=random_prefix(),
            starts_on=timezone.localdate(timezone=tenant.zone) - timedelta(days=1),
        )
        price = ContractPrice.objects.create(
            tenant=tenant, contract=contract, service=service, amount=Decimal("25"), price_code="STD"
        )
        texts = _insert_codes(tenant=tenant, contract=contract, price=price, count=3 * CODES_PER_LOAD)
    files = {}
    for number, name in enumerate(("closed", "open", "half")):
        part = texts[number * CODES_PER_LOAD : (number + 1) * CODES_PER_LOAD]
        files[name] = workdir / f"codes-{name}.json"
        files[name].write_text(json.dumps({"codes": part, "attempts_per_code": ATTEMPTS_PER_CODE}))
    return {"tenant": tenant, "service": service, "contract": contract, "files": files}


def check_run_data(data: dict, booked_by_visitors: int) -> dict:
    """Counted in the database after the loads: uses, redemptions, bookings and seats agree."""
    tenant, contract, service = data["tenant"], data["contract"], data["service"]
    with isolated_scope(tenant=tenant):
        live = Count("redemptions", filter=Q(redemptions__released_at__isnull=True))
        per_code = InvitationCode.objects.filter(tenant=tenant, contract=contract).annotate(live=live)
        over = sum(
            row["live"] - row["max_uses"] for row in per_code.filter(live__gt=F("max_uses")).values("live", "max_uses")
        )
        uses_wrong = per_code.exclude(uses=F("live")).count()
        redemptions = Redemption.objects.filter(tenant=tenant, code__contract=contract).count()
        bookings = Booking.objects.filter(tenant=tenant, service=service, status=BookingStatus.CONFIRMED).count()
        seats = Count("bookings", filter=Q(bookings__status=BookingStatus.CONFIRMED))
        slots_wrong = (
            Slot.objects.filter(tenant=tenant, service=service)
            .annotate(seated=seats)
            .filter(Q(booked__gt=F("capacity")) | ~Q(booked=F("seated")))
            .count()
        )
        used_up_codes = per_code.filter(status=CodeStatus.USED_UP).count()
    return {
        "over_redemptions": over,
        "codes_uses_not_redemptions": uses_wrong,
        "redemptions": redemptions,
        "bookings": bookings,
        "bookings_seen_by_visitors": booked_by_visitors,
        "slots_wrong": slots_wrong,
        "codes_used_up": used_up_codes,
    }


# The server and the load generator ----------------------------------------------------------------


def server_environment() -> dict:
    database = as_app_role(os.environ["DATABASE_URL"])  # as deployed: row-level security binds it
    return {
        **os.environ,  # the bench's: DJANGO_SETTINGS_MODULE=bench.settings, SECRET_KEY …
        # named, so the CPU time of the server's database sessions can be told from anyone else's
        "DATABASE_URL": f"{database}{'&' if '?' in database else '?'}application_name={APPLICATION_NAME}",
        "CACHE_URL": f"{REDIS}/{CACHE_DB}",
        "CELERY_BROKER_URL": f"{REDIS}/{BROKER_DB}",
        "CONN_MAX_AGE": "60",
        "CLIENT_IP_HEADER": "HTTP_X_FORWARDED_FOR",
        "STATIC_ROOT": str(STATIC_ROOT),
        "DEBUG": "0",
        "LOG_LEVEL": "WARNING",
    }


def flush_redis() -> None:
    for db in (CACHE_DB, BROKER_DB):
        client = redis.Redis.from_url(f"{REDIS}/{db}")
        client.flushdb()
        client.close()


@dataclass(frozen=True)
class Server:
    base: str
    pid: int

    def cpu_seconds(self) -> float:
        """CPU time used so far by the gunicorn workers and the PostgreSQL backends serving them: per
        request, a cost the other processes on the machine hardly change (unlike the wall clock)."""
        children = Path(f"/proc/{self.pid}/task/{self.pid}/children").read_text().split()
        with connection.cursor() as cursor:
            cursor.execute("SELECT pid FROM pg_stat_activity WHERE application_name = %s", [APPLICATION_NAME])
            backends = [str(pid) for (pid,) in cursor.fetchall()]
        return sum(_cpu_seconds(pid) for pid in children + backends)


def _cpu_seconds(pid: str) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:  # gone meanwhile
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


@contextmanager
def gunicorn(workdir: Path):
    """gunicorn on a free loopback port (bound here and handed over, so no other process can take
    it meanwhile); yields it, and stops the server and its workers however the block ends."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    base = f"http://127.0.0.1:{listener.getsockname()[1]}"
    log = workdir / "gunicorn.log"
    command = [
        sys.executable, "-m", "gunicorn", "config.wsgi",
        "--bind", f"fd://{listener.fileno()}",
        "--workers", str(WORKERS), "--worker-class", WORKER_CLASS, "--threads", str(THREADS),
        "--backlog", "2048", "--timeout", "30", "--graceful-timeout", "5",
        "--log-level", "warning", "--error-logfile", str(log),
    ]  # fmt: skip
    with open(log, "ab") as output:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=server_environment(),
            pass_fds=[listener.fileno()],
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    listener.close()
    try:
        _wait_until_up(base, process, log)
        yield Server(base, process.pid)
    finally:
        stop_group(process, grace=10)


def _wait_until_up(base: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(base + "/bench/constant/", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not answer within 30 s:\n{log.read_text()[-3000:]}")


def load(server: Server, scenario: str, seconds: float, *, warmup: float = WARMUP, **options) -> dict:
    """Run bench/loadgen.py in its own process (killed if it overruns); return its figures, with the
    server's CPU milliseconds per request."""
    base = server.base
    command = [sys.executable, "-m", "bench.loadgen", scenario, "--base", base, "--clients", str(CLIENTS)]
    command += ["--seconds", str(seconds), "--warmup", str(warmup)]
    for name, value in options.items():
        if value is not None:
            command += [f"--{name.replace('_', '-')}", str(value)]
    cpu_before = server.cpu_seconds()
    process = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        out, err = process.communicate(timeout=seconds + warmup + 60)
    finally:
        stop_group(process, grace=10)
    if process.returncode:
        raise RuntimeError(f"the load generator failed ({process.returncode}):\n{err[-3000:]}")
    figures = json.loads(out.strip().splitlines()[-1])
    cpu = server.cpu_seconds() - cpu_before
    figures["server_cpu_ms_per_request"] = 1000 * cpu / max(figures["requests_all"], 1)
    return figures


def _server_log_errors(workdir: Path) -> int:
    text = (workdir / "gunicorn.log").read_text(errors="replace")
    return text.count("Traceback") + text.count("WORKER TIMEOUT")


def _summary(prefix: str, figures: dict) -> dict:
    latency = figures["latency_ms"]
    summary = {
        f"{prefix}_rps": figures["rps"],
        f"{prefix}_p50_ms": latency.get("p50", 0.0),
        f"{prefix}_p95_ms": latency.get("p95", 0.0),
        f"{prefix}_p99_ms": latency.get("p99", 0.0),
        f"{prefix}_requests": figures["requests"],
        f"{prefix}_errors": figures["errors"],
        f"{prefix}_unsent": figures["unsent"],
        f"{prefix}_server_cpu_ms": figures["server_cpu_ms_per_request"],
    }
    if figures["flow_ms"].get("n"):
        summary |= {
            f"{prefix}_flows_per_s": figures["flows_per_s"],
            f"{prefix}_flow_p50_ms": figures["flow_ms"]["p50"],
            f"{prefix}_flow_p95_ms": figures["flow_ms"]["p95"],
        }
    return summary


# The scenarios ------------------------------------------------------------------------------------


def http_constant_page() -> dict:
    """The reference: the constant page, same server and generator, 50 clients in a closed loop."""
    flush_redis()
    with tempfile.TemporaryDirectory(prefix="bench-http-") as folder:
        workdir = Path(folder)
        with gunicorn(workdir) as server:
            figures = load(server, "constant", CONSTANT_SECONDS)
        log_errors = _server_log_errors(workdir)
    ok = figures["errors"] == 0 and log_errors == 0 and figures["requests"] > 0
    return {
        "value": figures["rps"],
        "peak_mb": peak_rss_mb(),
        "ok": ok,
        **_summary("constant", figures),
        "server_log_errors": log_errors,
    }


def http_redeem_book() -> dict:
    """The constant page (this run's reference), then the booking flow: closed loop, open loop at
    25 % of the constant page's rate (the target), open loop at half the closed loop's rate (the
    latency at a load the server can carry); then the database is checked."""
    flush_redis()
    with tempfile.TemporaryDirectory(prefix="bench-http-") as folder:
        workdir = Path(folder)
        data = make_run_data(workdir)
        flows = {"tenant": TENANT, "used_up_text": CODE_USED_UP}
        try:
            with gunicorn(workdir) as server:
                constant = load(server, "constant", CALIBRATION_SECONDS)
                closed = load(server, "flow", SECONDS, codes=data["files"]["closed"], **flows)
                rate = round(OPEN_SHARE * constant["rps"], 1)
                opened = load(server, "flow", OPEN_SECONDS, warmup=0, rate=rate, codes=data["files"]["open"], **flows)
                half_rate = round(closed["rps"] / 2, 1)
                half = load(
                    server, "flow", OPEN_SECONDS, warmup=0, rate=half_rate, codes=data["files"]["half"], **flows
                )
        finally:
            flush_redis()
        log_errors = _server_log_errors(workdir)
    runs = (closed, opened, half)
    booked = sum(run["outcomes"].get("booked", 0) for run in runs)
    refused = sum(run["outcomes"].get(key, 0) for run in runs for key in ("used_up", "used_up_at_booking"))
    checked = check_run_data(data, booked)
    errors = constant["errors"] + sum(run["errors"] for run in runs) + log_errors
    # A code handed out again after it was used up would make refusals too easy: there are enough.
    ran_out = any(run["codes_handed"] > CODES_PER_LOAD * ATTEMPTS_PER_CODE for run in runs)
    ok = (
        errors == 0
        and checked["over_redemptions"] == 0
        and checked["codes_uses_not_redemptions"] == 0
        and checked["slots_wrong"] == 0
        and checked["redemptions"] == checked["bookings"] == booked
        and refused > 0
        and not ran_out
    )
    return {
        "value": opened["latency_ms"].get("p95", float("inf")),
        "peak_mb": peak_rss_mb(),
        "ok": ok,
        **_summary("constant", constant),
        **_summary("closed", closed),
        **_summary("open", opened),
        **_summary("half", half),
        "open_offered_rps": rate,
        "half_offered_rps": half_rate,
        "closed_share_of_constant": closed["rps"] / constant["rps"] if constant["rps"] else 0.0,
        "refused_used_up": refused,
        "server_log_errors": log_errors,
        "errors": errors,
        **checked,
        "outcomes": {name: run["outcomes"] for name, run in zip(("closed", "open", "half"), runs, strict=True)},
        "p95_by_step_closed": {kind: value.get("p95") for kind, value in closed["by_kind"].items()},
        "p95_by_step_half": {kind: value.get("p95") for kind, value in half["by_kind"].items()},
        "error_kinds": {key: n for run in (constant, *runs) for key, n in run["error_kinds"].items()},
    }


# Verdicts -----------------------------------------------------------------------------------------


def _judge(figures, reference) -> Verdict:
    met = (
        figures["value"] <= 60
        and figures["closed_share_of_constant"] >= OPEN_SHARE
        and figures["open_rps"] >= 0.95 * figures["open_offered_rps"]
        and figures["over_redemptions"] == 0
    )
    return Verdict(
        "judged: the open loop offering 25 % of the constant page's req/s (measured in the same run) is "
        "served (≥ 95 %) with p95 ≤ 60 ms; the closed loop reaches ≥ 25 % of the constant page's req/s; "
        "0 over-redemptions",
        met,
    )


def _latencies(f, run: str) -> str:
    return f"p50 {f[f'{run}_p50_ms']:.1f} / p95 {f[f'{run}_p95_ms']:.1f} / p99 {f[f'{run}_p99_ms']:.1f} ms"


def _details(f) -> str:
    return (
        f"open loop at 25 %: {f['open_rps']:.0f} of {f['open_offered_rps']:.0f} req/s offered served, "
        f"{_latencies(f, 'open')}; closed loop {f['closed_rps']:.0f} req/s = {f['closed_share_of_constant']:.0%} "
        f"of the constant page's {f['constant_rps']:.0f} req/s, {_latencies(f, 'closed')}, a whole booking p95 "
        f"{f.get('closed_flow_p95_ms', 0):.0f} ms; open loop at half the closed loop's rate ({f['half_rps']:.0f} "
        f"req/s): {_latencies(f, 'half')}; server CPU a request: flow {f['closed_server_cpu_ms']:.2f} ms, constant "
        f"page {f['constant_server_cpu_ms']:.2f} ms; {f['redemptions']:.0f} bookings, {f['refused_used_up']:.0f} "
        f"refused as used up, over-redemptions {f['over_redemptions']:.0f}"
    )


def _constant_details(f) -> str:
    return f"p50 {f['constant_p50_ms']:.1f} / p95 {f['constant_p95_ms']:.1f} / p99 {f['constant_p99_ms']:.1f} ms"


register(
    Scenario(
        name="http_redeem_book",
        label=f"redeem-and-book over HTTP: gunicorn ({WORKERS} {WORKER_CLASS} workers) on loopback, {CLIENTS} "
        f"clients, closed loop {SECONDS:.0f} s, open loops {OPEN_SECONDS:.0f} s; headline: p95 of the open loop "
        "offering 25 % of the constant page's req/s",
        run="bench.http:http_redeem_book",
        prepare="bench.http:prepare",
        unit="ms",
        judge=_judge,
        details=_details,
        tags=("http",),
    ),
    Scenario(
        name="http_constant_page",
        label=f"reference: a constant Django page, same server, {CLIENTS} clients, closed loop "
        f"{CONSTANT_SECONDS:.0f} s",
        run="bench.http:http_constant_page",
        prepare="bench.http:prepare",
        unit="req/s",
        details=_constant_details,
        tags=("http",),
    ),
)
