"""A bounded soak on loopback: ``python -m bench.soak`` (``SOAK_SECONDS``, default 480, at most 600).

The app runs as deployed (docs/operations.md): gunicorn (3 sync workers), 2 Celery workers (prefork)
and Celery beat, on Redis (broker and cache in one private database number, claimed for the run),
PostgreSQL (a dedicated database, ``bench_soak``, migrated by its owner; the app connects as the
non-owner role ``tessera_app`` when row-level security is there, so its policies bind every query),
and a local SMTP server that counts what it receives (bench/outbox.py), so every email is really sent.

bench/loadgen.py's ``mixed`` scenario is the load, a fixed number of people per role, each pausing a
think time before each request: redeem-and-book with codes of 3 uses (4 visitors per code), public
session registration and checkout (or the waitlist of a full session), staff opening dashboard pages,
staff inviting people to sessions and cancelling invitations and registrations, staff importing
small participant CSVs (check, then Complete Import), and a seat order's buyer giving seats to
learners and emailing invitations (freeing a seat when none is left).

Every 10 s the resident memory of each gunicorn worker, Celery process, beat and the SMTP server is
read from /proc. After the load, the outbox and the imports are waited for (bounded), then the
database is checked: no code redeemed more often than its uses, no slot or session over capacity
(counting every holder: registrations, pending invitations, open waitlist offers), no seat order
with more learners than seats, no email queued, sending or failed and every sent one received once,
every import committed once. Printed: a JSON report (``--json`` writes it to a file too) and
markdown tables. Exit status 1 when an invariant or the error count says so.

``--database-url`` runs against an existing, migrated database instead (tests/test_bench_soak.py: a
20-second smoke run on the test database, so the script cannot rot).
"""

import argparse
import contextlib
import importlib.util
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from .registry import Scenario, Verdict, register

ROOT = Path(__file__).resolve().parent.parent
SERVER = os.environ.get("BENCH_SERVER_URL", "postgres://postgres@127.0.0.1:5432")
DATABASE = os.environ.get("SOAK_DATABASE", "bench_soak")
MAX_SECONDS = 600
SECONDS = min(float(os.environ.get("SOAK_SECONDS", "480")), MAX_SECONDS)
WARMUP = 10.0  # seconds of load before measuring (the first requests of each process are slower)
REDIS = os.environ.get("SOAK_REDIS", "redis://127.0.0.1:6379")
# Candidates for the run's private Redis database: not 0–1 (the README's), 10–12 (the other benches),
# 14 (the worker tests). The first empty one whose lock key this run sets is the run's.
REDIS_DBS = (2, 3, 4, 5, 6, 7, 8, 9, 13, 15)
REDIS_LOCK = "tessera-soak:lock"
APP_ROLE = os.environ.get("SOAK_APP_ROLE", "tessera_app")
GUNICORN_WORKERS = int(os.environ.get("SOAK_GUNICORN_WORKERS", "3"))
CELERY_WORKERS = 2
CELERY_CONCURRENCY = int(os.environ.get("SOAK_CELERY_CONCURRENCY", "2"))
SAMPLE_SECONDS = 10.0
START_TIMEOUT = 60.0  # seconds for gunicorn and the workers to answer
DRAIN_TIMEOUT = 180.0  # seconds after the load for the outbox and the imports to finish
POLL_SECONDS = 0.5
# People per role of the mixed load, and their think time before each request (seconds, uniform).
ROLES = {"book": 8, "register": 6, "staff_pages": 3, "staff_invite": 2, "import": 1, "seats": 2}
THINK = {"default": [0.2, 0.8], "staff_invite": [0.5, 2.0], "seats": [0.5, 2.0]}
# The data: sized so that each limit is reached during the run and refusals are exercised too.
CODES = 4_000  # of 3 uses, 4 visitors each: more than a run hands out
SLOT_CAPACITY = 8  # 8 times a day, 14 days shown: times fill up during a full run
SESSIONS, SESSION_CAPACITY = 10, 60  # filled by registrations and invitations within a full run
SEATS = 100  # the buyer runs out and frees seats to go on
IMPORT_ROWS = 20
# Growth over the second half of the load above this, per process, counts as a trend; judged only on
# runs of TREND_MIN_SECONDS or more (before that the processes are still warming up: imports, caches).
TREND_LIMIT_MB_PER_MIN = 1.0
TREND_MIN_SECONDS = 240


# Databases and Redis ------------------------------------------------------------------------------


def _url_with_user(url: str, user: str) -> str:
    parts = urllib.parse.urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urllib.parse.urlunsplit(parts._replace(netloc=f"{user}@{host}"))


def _manage(*command: str, env: dict) -> None:
    subprocess.run([sys.executable, "manage.py", *command], cwd=ROOT, env=env, check=True)


def prepare_database(env: dict) -> tuple[str, str]:
    """Make (once) and migrate ``bench_soak`` as its owner; give the app role its grants when the
    project has row-level security (tenancy/rls.py). Returns (the owner's URL, the app's URL)."""
    import psycopg

    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE]).fetchone():
            conn.execute(f'CREATE DATABASE "{DATABASE}"')
    owner_url = f"{SERVER}/{DATABASE}"
    env = {**env, "DATABASE_URL": owner_url}
    _manage("migrate", "-v0", env=env)
    if not (APP_ROLE and importlib.util.find_spec("tenancy.rls")):
        return owner_url, owner_url
    _manage("grant_app_role", APP_ROLE, env=env)
    return owner_url, _url_with_user(owner_url, APP_ROLE)


def claim_redis_db():
    """The first empty candidate database this run can lock: (its URL, the client holding the lock)."""
    import redis

    token = uuid.uuid4().hex
    for number in REDIS_DBS:
        client = redis.Redis.from_url(f"{REDIS}/{number}", socket_connect_timeout=2, socket_timeout=10)
        if client.dbsize() == 0 and client.set(REDIS_LOCK, token, nx=True, ex=int(MAX_SECONDS * 3)):
            return f"{REDIS}/{number}", client
        client.close()
    raise RuntimeError(f"No empty Redis database among {REDIS_DBS} at {REDIS}.")


# The data of one run ------------------------------------------------------------------------------


def seed(password: str) -> dict:
    """A fresh workspace for this run: a staff owner, a booking service with codes, sessions, a
    contract for imports and a seat order with its buyer. Returns what the load and checks need."""
    from django.utils import timezone

    from accounts.models import User
    from bookings.models import Service
    from contracts.models import Contract, ContractPrice, Organisation
    from invitations.services import CODE_USED_UP
    from regcodes.models import Product, ProductSession
    from regcodes.services import seat_order_create
    from sessions_roster.services.sessions import session_create
    from tenancy.models import Membership, Role, Tenant
    from tenancy.scoping import isolated_scope, scopes_disabled
    from tenancy.urlresolvers import tenant_reverse

    from .common import open_every_day, random_prefix
    from .http import ATTEMPTS_PER_CODE, _insert_codes

    tag = uuid.uuid4().hex[:8]
    with scopes_disabled():  # a new workspace is the platform's act (its audit entry), as seed_demo does
        tenant = Tenant.objects.create(slug=f"soak-{tag}", name=f"Soak {tag}")
        staff = User.objects.create_user(f"staff-{tag}@bench.example", password, first_name="Sam", last_name="Staff")
        buyer = User.objects.create_user(f"buyer-{tag}@bench.example", password, first_name="Bea", last_name="Buyer")
    now = timezone.now()
    with isolated_scope(tenant=tenant):
        Membership.objects.create(tenant=tenant, user=staff, role=Role.OWNER)
        service = Service.objects.create(tenant=tenant, name="Soak session", duration_minutes=60)
        open_every_day(service, slot_capacity=SLOT_CAPACITY)
        organisation = Organisation.objects.create(tenant=tenant, name="Soak organisation")
        contract = Contract.objects.create(
            tenant=tenant,
            organisation=organisation,
            name=f"Soak {tag}",
            invitation_prefix=random_prefix(),
            starts_on=timezone.localdate(timezone=tenant.zone) - timedelta(days=1),
        )
        price = ContractPrice.objects.create(
            tenant=tenant, contract=contract, service=service, amount=Decimal("25"), price_code="STD"
        )
        codes = _insert_codes(tenant=tenant, contract=contract, price=price, count=CODES)
        sessions = [
            session_create(
                tenant=tenant,
                capacity=SESSION_CAPACITY,
                title=f"Soak session {number}",
                starts_at=now + timedelta(days=7 + number),
                ends_at=now + timedelta(days=7 + number, hours=2),
                price=Decimal("20"),
            )
            for number in range(1, SESSIONS + 1)
        ]
        product = Product.objects.create(tenant=tenant, name="Soak course")
        course = ProductSession.objects.create(
            tenant=tenant,
            product=product,
            name="Soak course session",
            starts_on=now.date(),
            ends_on=now.date() + timedelta(days=365),
            generates_codes=True,
        )
        order = seat_order_create(tenant=tenant, product_session=course, buyer=buyer, quantity=SEATS)

    def page(name: str, **kwargs) -> str:
        return tenant_reverse(tenant, name, **kwargs)

    first_session = sessions[0].pk
    spec = {
        "tenant": tenant.slug,
        "roles": ROLES,
        "think": THINK,
        "codes": codes,
        "attempts_per_code": ATTEMPTS_PER_CODE,
        "used_up_text": CODE_USED_UP,
        "staff": {"username": staff.email, "password": password},
        "buyer": {"username": buyer.email, "password": password},
        "session_ids": [session.pk for session in sessions],
        "participants_path": page("contracts:participants", contract_id=contract.pk),
        "import_rows": IMPORT_ROWS,
        "price_code": price.price_code,
        "seat_order_path": page("seats_portal:order", order_id=order.pk),
        "staff_pages": {
            "home": page("tenancy:home"),
            "organisations": page("contracts:organisations"),
            "prices": page("contracts:prices", contract_id=contract.pk),
            "codes": page("invitations:codes", contract_id=contract.pk),
            "participants": page("contracts:participants", contract_id=contract.pk),
            "code bookings": page("invitations:bookings", contract_id=contract.pk),
            "calendar": page("bookings:calendar"),
            "sessions": page("sessions:list"),
            "roster": page("sessions:roster", session_id=first_session),
            "waitlist": page("sessions:waitlist", session_id=first_session),
            "seat orders": page("courses:orders"),
            "clients": page("clients:list"),
            "outbox": page("messaging:outbox"),
            "imports": page("imports:list"),
            "audit": page("audit:list"),
            "analytics": page("analytics:contracts"),
        },
    }
    return {"tenant": tenant, "service": service, "contract": contract, "order": order, "spec": spec}


# The processes ----------------------------------------------------------------------------------


def _start(command: list[str], env: dict, log: Path) -> subprocess.Popen:
    with open(log, "ab") as output:
        return subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )


def _wait_until(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := predicate():
            return result
        time.sleep(POLL_SECONDS)
    raise TimeoutError(f"{what}: not within {timeout:.0f} s")


def stop_all(processes: list[subprocess.Popen], *, grace: float) -> None:
    """Stop processes started in their own sessions, and what they started: SIGTERM to every group
    at once (each shuts down warm meanwhile), SIGKILL to a group still there after ``grace`` s."""
    for process in processes:
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    for process in processes:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def static_collected() -> bool:
    """True when the collected static files are newer than every source file (collecting again
    takes seconds: the manifest storage hashes and compresses every file)."""
    from .common import STATIC_ROOT

    manifest = STATIC_ROOT / "staticfiles.json"
    if not manifest.exists():
        return False
    sources = [*ROOT.glob("static/**/*"), *ROOT.glob("*/static/**/*")]
    return manifest.stat().st_mtime >= max((path.stat().st_mtime for path in sources), default=0.0)


def _children(pid: int) -> list[int]:
    try:
        return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


class Sampler(threading.Thread):
    """Reads the resident memory of every process of the app every SAMPLE_SECONDS, until stopped."""

    def __init__(self, processes: dict[str, subprocess.Popen]):
        super().__init__(daemon=True)
        self.processes = processes
        self.samples: list[tuple[float, dict[str, float]]] = []  # (monotonic time, {process: MB})
        self.halt = threading.Event()

    def sample(self) -> None:
        found = {}
        for name, process in self.processes.items():
            pids = {name if name != "gunicorn" else "gunicorn master": process.pid}
            for number, child in enumerate(sorted(_children(process.pid)), 1):
                label = "gunicorn worker" if name == "gunicorn" else f"{name} pool"
                pids[f"{label} {number} (pid {child})"] = child
            for label, pid in pids.items():
                if (rss := _rss_mb(pid)) is not None:
                    found[label] = rss
        self.samples.append((time.monotonic(), found))

    def run(self) -> None:
        while not self.halt.is_set():
            self.sample()
            self.halt.wait(SAMPLE_SECONDS)


def _slope(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of (minutes, MB): MB a minute."""
    if len(points) < 3:
        return 0.0
    xs, ys = [x for x, _ in points], [y for _, y in points]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    spread = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in points) / spread if spread else 0.0


def memory_figures(samples, load_start: float, load_end: float) -> dict:
    """Per process: before the load, at its start and end, the largest, after the drain, and the
    slope over the second half of the load (MB a minute); the same for all processes together."""
    during = [(t, rss) for t, rss in samples if load_start <= t <= load_end]
    before = [rss for t, rss in samples if t < load_start]
    after = [rss for t, rss in samples if t > load_end]
    half = load_start + (load_end - load_start) / 2
    names = sorted({name for _, rss in samples for name in rss})
    figures = {}
    for name in names + ["all processes"]:

        def value(rss: dict, name=name) -> float | None:
            return sum(rss.values()) if name == "all processes" else rss.get(name)

        series = [(t, v) for t, rss in during if (v := value(rss)) is not None]
        if not series:
            continue
        second_half = [((t - load_start) / 60, v) for t, v in series if t >= half]
        figures[name] = {
            "idle_mb": round(value(before[-1]) or 0.0, 1) if before else None,
            "start_mb": round(series[0][1], 1),
            "end_mb": round(series[-1][1], 1),
            "max_mb": round(max(v for _, v in series), 1),
            "after_drain_mb": round(value(after[-1]) or 0.0, 1) if after else None,
            "slope_mb_per_min": round(_slope(second_half), 3),
            "samples": len(series),
        }
    return figures


# The checks -------------------------------------------------------------------------------------


def check_invariants(data: dict, load: dict, sink_counts: dict) -> dict:
    """Counted in the database after the drain, inside the run's workspace (so row-level security
    lets the app role count too)."""
    from django.db.models import Count, F, Q

    from contracts.models import Participant
    from imports.models import ImportJob, ImportStatus
    from invitations.models import InvitationCode
    from messaging.models import EmailStatus, OutboundEmail
    from regcodes.models import CodeStatus, CourseAccess, LearnerInviteStatus, RegistrationCode
    from sessions_roster.models import (
        HOLDING_REGISTRATION,
        InvitationStatus,
        Registration,
        Session,
        SessionInvitation,
        WaitlistEntry,
        WaitlistStatus,
    )
    from tenancy.scoping import isolated_scope

    from .http import check_run_data

    tenant, contract, order = data["tenant"], data["contract"], data["order"]
    booked = load["outcomes"].get("book: booked", 0)
    codes = check_run_data(data, booked)
    with isolated_scope(tenant=tenant):
        holders = {}
        for model, condition in (
            (Registration, Q(status__in=HOLDING_REGISTRATION)),
            (SessionInvitation, Q(status=InvitationStatus.PENDING)),
            (WaitlistEntry, Q(status=WaitlistStatus.OFFERED)),
        ):
            for row in model.objects.filter(condition, tenant=tenant).values("session").annotate(n=Count("id")):
                holders[row["session"]] = holders.get(row["session"], 0) + row["n"]
        sessions = list(Session.objects.filter(tenant=tenant).values("id", "capacity", "spots_taken"))
        over_capacity = sum(1 for s in sessions if holders.get(s["id"], 0) > s["capacity"])
        spots_wrong = sum(1 for s in sessions if holders.get(s["id"], 0) != s["spots_taken"])
        waiting_beside_free = (
            WaitlistEntry.objects.filter(tenant=tenant, status=WaitlistStatus.WAITING)
            .filter(session__spots_taken__lt=F("session__capacity"))
            .count()
        )

        seat_codes = RegistrationCode.objects.filter(tenant=tenant, order=order)
        active = CourseAccess.objects.filter(tenant=tenant, code__order=order, revoked_at__isnull=True)
        open_invited = seat_codes.filter(invites__status=LearnerInviteStatus.OPEN).values("pk").distinct().count()
        seats = {
            "seats": order.quantity,
            "codes": seat_codes.count(),
            "learners_with_access": active.count(),
            "codes_claimed": seat_codes.filter(status=CodeStatus.CLAIMED).count(),
            "codes_invited": seat_codes.filter(status=CodeStatus.INVITED).count(),
            "codes_with_open_invites": open_invited,
            "codes_with_two_learners": active.values("code").annotate(n=Count("id")).filter(n__gt=1).count(),
        }

        rows = OutboundEmail.objects.filter(tenant=tenant)
        emails = dict.fromkeys(EmailStatus.values, 0)
        emails.update(rows.values_list("status").order_by().annotate(n=Count("id")))

        jobs = ImportJob.objects.filter(tenant=tenant, params__contract=contract.pk)
        statuses = dict(jobs.values_list("status").order_by().annotate(n=Count("id")))
        committed = list(jobs.filter(status=ImportStatus.COMMITTED).values_list("pk", "total_rows"))
        participants = Participant.objects.filter(tenant=tenant, contract=contract)
        codes_each = participants.annotate(n=Count("codes")).values_list("n", flat=True)
        seen = {int(item["job"].rstrip("/").rsplit("/", 1)[1]) for item in load.get("imports_committed", [])}
        imports = {
            "jobs": sum(statuses.values()),
            "jobs_by_status": statuses,
            "committed": len(committed),
            "seen_committed_by_the_load": len(seen),
            "seen_but_not_committed": len(seen - {pk for pk, _ in committed}),
            "participants": participants.count(),
            "rows_of_committed_files": sum(n for _, n in committed),
            "distinct_emails": participants.values("email").distinct().count(),
            "participants_without_one_code": sum(1 for n in codes_each if n != 1),
            "codes_of_participants": InvitationCode.objects.filter(
                tenant=tenant, participant__contract=contract
            ).count(),
        }
    checks = {
        "no over-redemption (live redemptions ≤ max uses, uses = redemptions)": codes["over_redemptions"] == 0
        and codes["codes_uses_not_redemptions"] == 0,
        "every booking seen by a visitor has its redemption": codes["redemptions"] == codes["bookings"] == booked,
        "no slot over capacity (booked = confirmed bookings ≤ capacity)": codes["slots_wrong"] == 0,
        "no session over capacity (registrations + pending invitations + open offers ≤ capacity)": over_capacity == 0,
        "every session's spot counter = its holders": spots_wrong == 0,
        "no seat order over its seats (learners with access ≤ seats, one learner a code)": seats["codes"]
        == seats["seats"]
        and seats["learners_with_access"] == seats["codes_claimed"] <= seats["seats"]
        and seats["codes_with_two_learners"] == 0
        and seats["codes_invited"] == seats["codes_with_open_invites"],
        "outbox drained (nothing queued, sending or failed)": emails[EmailStatus.QUEUED] == 0
        and emails[EmailStatus.SENDING] == 0
        and emails[EmailStatus.FAILED] == 0,
        "every sent email received once (SMTP server)": sink_counts["received"]
        == sink_counts["distinct_ids"]
        == emails[EmailStatus.SENT]
        and sink_counts["placeholders"] == 0,
        "every import committed once (participants = rows of committed files, one code each)": imports["participants"]
        == imports["rows_of_committed_files"]
        == imports["distinct_emails"]
        and imports["participants_without_one_code"] == 0
        and imports["seen_but_not_committed"] == 0
        and statuses.get(ImportStatus.FAILED, 0) == 0
        and statuses.get(ImportStatus.VALIDATING, 0) + statuses.get(ImportStatus.COMMITTING, 0) == 0,
    }
    return {
        "checks": checks,
        "codes": codes,
        "sessions": {
            "sessions": len(sessions),
            "capacity": sum(s["capacity"] for s in sessions),
            "holders": sum(holders.values()),
            "over_capacity": over_capacity,
            "spots_counter_wrong": spots_wrong,
            "waiting_while_spots_free": waiting_beside_free,
        },
        "seats": seats,
        "emails": {**emails, **{f"smtp_{key}": value for key, value in sink_counts.items() if key != "cpu_seconds"}},
        "imports": imports,
    }


def _drained(data: dict, sink) -> bool:
    from imports.models import ImportJob, ImportStatus
    from messaging.models import EmailStatus, OutboundEmail
    from tenancy.scoping import isolated_scope

    tenant = data["tenant"]
    with isolated_scope(tenant=tenant):
        waiting = (
            OutboundEmail.objects.filter(tenant=tenant, status__in=[EmailStatus.QUEUED, EmailStatus.SENDING]).exists()
            or ImportJob.objects.filter(
                tenant=tenant, status__in=[ImportStatus.VALIDATING, ImportStatus.COMMITTING]
            ).exists()
        )
        sent = OutboundEmail.objects.filter(tenant=tenant, status=EmailStatus.SENT).count()
    return not waiting and sink.ask()["received"] >= sent


LOG_ERROR = re.compile(r"\bERROR\b|\bCRITICAL\b|Traceback|WORKER TIMEOUT")


def _log_errors(path: Path) -> int:
    """Lines of a process's log that say something went wrong (a 500, a failed task, a killed worker)."""
    text = path.read_text(errors="replace") if path.exists() else ""
    return sum(1 for line in text.splitlines() if LOG_ERROR.search(line))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _with_name(url: str) -> str:
    """The URL with an application_name, so the app's database sessions can be told apart."""
    return f"{url}{'&' if '?' in url else '?'}application_name=tessera-soak"


# The run ----------------------------------------------------------------------------------------


def soak(*, seconds: float, warmup: float, app_url: str, smtp_port: int, workdir: Path) -> dict:
    # Django is set up by main() first: the app's modules are imported here, not at the top.
    from config.celery import app as celery_app

    from .common import STATIC_ROOT, collect_static, stop_group
    from .http import _wait_until_up
    from .outbox import Sink, use_broker

    began = time.monotonic()
    phases = {}  # seconds each part of the run took
    redis_url, redis_client = claim_redis_db()
    password = uuid.uuid4().hex
    app_env = {
        **os.environ,
        "DATABASE_URL": _with_name(app_url),
        "CACHE_URL": redis_url,
        "CELERY_BROKER_URL": redis_url,
        "EMAIL_URL": f"smtp://127.0.0.1:{smtp_port}",
        "CONN_MAX_AGE": "60",
        "CLIENT_IP_HEADER": "HTTP_X_FORWARDED_FOR",
        "STATIC_ROOT": str(STATIC_ROOT),
        "DEBUG": "0",
        "LOG_LEVEL": "WARNING",
    }
    processes: dict[str, subprocess.Popen] = {}
    sink = sampler = None
    try:
        use_broker(redis_url)
        if strangers := celery_app.control.ping(timeout=1):
            raise RuntimeError(f"Workers of an earlier run still consume from {redis_url}: {strangers}")
        sink = Sink(smtp_port, app_env)
        processes["smtp"] = sink.process
        sink.wait_ready()
        if not static_collected():
            collect_static()
        phases["static"] = time.monotonic() - began
        data = seed(password)
        phases["seed"] = time.monotonic() - began - phases["static"]
        (workdir / "spec.json").write_text(json.dumps(data["spec"]))
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        base = f"http://127.0.0.1:{listener.getsockname()[1]}"
        gunicorn = [
            sys.executable, "-m", "gunicorn", "config.wsgi", "--bind", f"fd://{listener.fileno()}",
            "--workers", str(GUNICORN_WORKERS), "--backlog", "2048", "--timeout", "30", "--graceful-timeout", "5",
            "--log-level", "warning", "--error-logfile", str(workdir / "gunicorn.log"),
        ]  # fmt: skip
        with open(workdir / "gunicorn.log", "ab") as output:
            processes["gunicorn"] = subprocess.Popen(
                gunicorn,
                cwd=ROOT,
                env=app_env,
                pass_fds=[listener.fileno()],
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        listener.close()
        for number in range(1, CELERY_WORKERS + 1):
            processes[f"celery-{number}"] = _start(
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "-A",
                    "config",
                    "worker",
                    "--pool=prefork",
                    f"--concurrency={CELERY_CONCURRENCY}",
                    "--without-gossip",
                    "--without-mingle",
                    "--loglevel=WARNING",
                    f"--hostname=soak-{number}@%h",
                ],  # fmt: skip
                app_env,
                workdir / f"celery-{number}.log",
            )
        processes["beat"] = _start(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "beat",
                "--loglevel=WARNING",
                "--schedule",
                str(workdir / "beat-schedule"),
                "--pidfile=",
            ],  # fmt: skip
            app_env,
            workdir / "beat.log",
        )
        _wait_until_up(base, processes["gunicorn"], workdir / "gunicorn.log")

        def workers_up():
            if dead := [name for name, p in processes.items() if p.poll() is not None]:
                raise RuntimeError(f"{', '.join(dead)} exited at start; logs in {workdir}")
            return len(celery_app.control.ping(timeout=0.5)) >= CELERY_WORKERS

        _wait_until(workers_up, START_TIMEOUT, "Celery workers answering")
        phases["processes_start"] = time.monotonic() - began - phases["static"] - phases["seed"]
        sampler = Sampler(processes)
        sampler.sample()  # idle, before the load
        load_average = [os.getloadavg()[0]]
        load_start = time.monotonic()
        sampler.start()
        command = [sys.executable, "-m", "bench.loadgen", "mixed", "--base", base, "--spec", str(workdir / "spec.json")]
        window = max(10.0, min(60.0, seconds / 8))
        command += ["--seconds", str(seconds), "--warmup", str(warmup), "--window", str(window)]
        generator = subprocess.Popen(
            command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
        )
        try:
            out, err = generator.communicate(timeout=seconds + warmup + 2 * 90 + 60)
        finally:
            stop_group(generator, grace=10)
        load_end = time.monotonic()
        load_average.append(os.getloadavg()[0])
        if generator.returncode:
            raise RuntimeError(f"the load generator failed ({generator.returncode}):\n{err[-3000:]}")
        load = json.loads(out.strip().splitlines()[-1])
        drain_started = time.monotonic()
        try:
            _wait_until(lambda: _drained(data, sink), DRAIN_TIMEOUT, "outbox and imports drained")
            drained = True
        except TimeoutError:
            drained = False
        drain_seconds = time.monotonic() - drain_started
        time.sleep(1.0)  # a late double would show in the SMTP server's count
        sampler.halt.set()
        sampler.join()
        sampler.sample()  # after the drain
        invariants = check_invariants(data, load, sink.ask())
        stopping = time.monotonic()
        alive = {name: process.poll() is None for name, process in processes.items()}
        # Read before the processes are stopped: gunicorn logs the stop of its workers as errors.
        log_errors = {path.stem: _log_errors(path) for path in sorted(workdir.glob("*.log"))}
    finally:
        if sampler is not None:
            sampler.halt.set()
        if sink is not None:
            with contextlib.suppress(OSError):
                sink.process.stdin.close()  # the SMTP server stops when its input ends
        stop_all(list(processes.values()), grace=15)
        if redis_client.get(REDIS_LOCK):
            redis_client.flushdb()
        redis_client.close()
    phases["stop"] = time.monotonic() - stopping
    invariants["checks"]["drained within the bound"] = drained
    invariants["checks"]["no process died"] = all(alive.values())
    memory = memory_figures(sampler.samples, load_start, load_end)
    growing = {
        name: m["slope_mb_per_min"]
        for name, m in memory.items()
        if name != "all processes" and m["slope_mb_per_min"] > TREND_LIMIT_MB_PER_MIN and seconds >= TREND_MIN_SECONDS
    }
    return {
        "seconds": seconds,
        "warmup": warmup,
        # The machine's 1-minute load average before and after the load: 2 cores; more means other work.
        "load_average": [round(value, 2) for value in load_average],
        "database_role": urllib.parse.urlsplit(app_url).username,
        "redis": redis_url,
        "gunicorn_workers": GUNICORN_WORKERS,
        "celery": f"{CELERY_WORKERS} workers × {CELERY_CONCURRENCY} processes, and beat",
        "requests": load["requests"],
        "requests_all": load["requests_all"],
        "rps": load["rps"],
        "latency_ms": load["latency_ms"],
        "errors": load["errors"],
        "error_kinds": load["error_kinds"],
        "log_errors": log_errors,
        "by_role": load["by_role"],
        "by_kind": load["by_kind"],
        "timeline": load["timeline"],
        "memory": memory,
        "memory_growing": growing,
        "memory_judged": seconds >= TREND_MIN_SECONDS,
        "drain_seconds": round(drain_seconds, 1),
        "phases_seconds": {name: round(value, 1) for name, value in phases.items()},
        **invariants,
        "ok": load["errors"] == 0
        and not any(log_errors.values())
        and all(invariants["checks"].values())
        and not growing,
    }


def markdown(report: dict) -> str:
    """The report as tables: requests per role, the timeline, memory, the checks."""
    lines = [
        f"Soak {report['seconds']:.0f} s (+{report['warmup']:.0f} s warm-up): {report['requests']:,} requests measured "
        f"({report['requests_all']:,} in all), {report['rps']} req/s, p95 {report['latency_ms'].get('p95', 0)} ms, "
        f"errors {report['errors']} (error lines in the logs {sum(report['log_errors'].values())}); app connected "
        f"as `{report['database_role']}`; gunicorn {report['gunicorn_workers']} workers, Celery {report['celery']}; "
        f"drained in {report['drain_seconds']} s; load average {report['load_average'][0]} before, "
        f"{report['load_average'][1]} after.",
        "",
        "| role | people | requests | p50 ms | p95 ms | p99 ms | errors | outcomes |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for role, figures in report["by_role"].items():
        latency = figures["latency_ms"]
        outcomes = ", ".join(f"{k} {v}" for k, v in figures["outcomes"].items())
        lines.append(
            f"| {role} | {figures['clients']} | {figures['requests']:,} | {latency.get('p50', '')} | "
            f"{latency.get('p95', '')} | {latency.get('p99', '')} | {figures['errors']} | {outcomes} |"
        )
    lines += ["", "| from (s) | requests | req/s | p50 ms | p95 ms | errors |", "|---|---|---|---|---|---|"]
    for window in report["timeline"]:
        lines.append(
            f"| {window['from_s']} | {window['requests']:,} | {window['rps']} | {window['p50_ms']} | "
            f"{window['p95_ms']} | {window['errors']} |"
        )
    lines += [
        "",
        "| process | idle MB | start MB | end MB | max MB | after drain MB | slope, 2nd half (MB/min) |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, m in report["memory"].items():
        lines.append(
            f"| {name} | {m['idle_mb']} | {m['start_mb']} | {m['end_mb']} | {m['max_mb']} | "
            f"{m['after_drain_mb']} | {m['slope_mb_per_min']:+.3f} |"
        )
    judged = (
        f"growth over the second half ≤ {TREND_LIMIT_MB_PER_MIN} MB/min for each process: "
        + ("held" if not report["memory_growing"] else f"**NO** {report['memory_growing']}")
        if report["memory_judged"]
        else f"memory trend not judged: runs shorter than {TREND_MIN_SECONDS} s are still warming up"
    )
    lines += ["", judged, "", "| check | held |", "|---|---|"]
    lines += [f"| {name} | {'yes' if held else '**NO**'} |" for name, held in report["checks"].items()]
    return "\n".join(lines)


# As a scenario of ``python -m bench`` (run only when named: ``python -m bench soak``) --------------


def soak_scenario() -> dict:
    """One full run in its own process (and its own database), as ``python -m bench`` measures."""
    with tempfile.TemporaryDirectory(prefix="soak-report-") as folder:
        report_file = Path(folder) / "soak.json"
        env = {name: value for name, value in os.environ.items() if name != "DATABASE_URL"}
        done = subprocess.run(
            [sys.executable, "-m", "bench.soak", "--json", str(report_file)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=MAX_SECONDS + 900,
        )
        if not report_file.exists():
            raise RuntimeError(f"the soak wrote no report ({done.returncode}):\n{done.stderr[-4000:]}")
        report = json.loads(report_file.read_text())
    processes = {name: m for name, m in report["memory"].items() if name != "all processes"}
    return {
        "value": report["latency_ms"].get("p95", 0.0),
        "peak_mb": max(m["max_mb"] for m in processes.values()),
        "ok": report["ok"],
        "seconds": report["seconds"],
        "requests": report["requests"],
        "rps": report["rps"],
        "errors": report["errors"] + sum(report["log_errors"].values()),
        "checks_failed": sum(1 for held in report["checks"].values() if not held),
        "memory_growing": len(report["memory_growing"]),
        "total_start_mb": report["memory"]["all processes"]["start_mb"],
        "total_end_mb": report["memory"]["all processes"]["end_mb"],
        "emails_sent": report["emails"]["sent"],
        "imports_committed": report["imports"]["committed"],
    }


def _judge(figures, reference) -> Verdict:
    met = figures["errors"] == 0 and figures["checks_failed"] == 0 and figures["memory_growing"] == 0
    return Verdict("0 errors; every invariant holds after the drain; no process's memory growing", met)


def _details(f) -> str:
    return (
        f"{f['seconds']:.0f} s, {f['requests']:,.0f} requests ({f['rps']:.0f} req/s), {f['errors']:.0f} errors, "
        f"{f['checks_failed']:.0f} checks failed, memory of all processes {f['total_start_mb']:.0f} → "
        f"{f['total_end_mb']:.0f} MB, {f['emails_sent']:,.0f} emails sent, {f['imports_committed']:.0f} imports"
    )


register(
    Scenario(
        name="soak",
        label=f"soak: mixed load for {SECONDS:.0f} s on gunicorn ({GUNICORN_WORKERS} workers), "
        f"{CELERY_WORKERS} Celery workers and beat; headline: p95 of every request",
        run="bench.soak:soak_scenario",
        unit="ms",
        judge=_judge,
        details=_details,
        repeat=1,
        tags=("on-demand",),  # 8 minutes: run when named, not by every `make bench`
    )
)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=SECONDS, help=f"measured load (at most {MAX_SECONDS})")
    parser.add_argument("--database-url", help="an existing, migrated database (the app connects as its user)")
    parser.add_argument("--warmup", type=float, default=WARMUP, help="seconds of load before measuring")
    parser.add_argument("--json", help="also write the JSON report to this file")
    parser.add_argument("--logs", help="keep the processes' logs in this folder (else a temporary one)")
    args = parser.parse_args(argv)
    if not 0 < args.seconds <= MAX_SECONDS:
        parser.error(f"--seconds must be between 0 and {MAX_SECONDS}")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "SECRET_KEY": os.environ.get("SOAK_SECRET_KEY", "bench-soak"),
        "ENV_FILE": os.devnull,
        "CELERY_BROKER_URL": "",  # this process seeds with tasks run eagerly
        "LOG_LEVEL": "WARNING",
    }
    if args.database_url:
        owner_url = app_url = args.database_url
    else:
        owner_url, app_url = prepare_database(env)
    smtp_port = free_port()
    # This process seeds and checks as the owner (the truth, whatever the policies say).
    os.environ.update(env, DATABASE_URL=owner_url, EMAIL_URL=f"smtp://127.0.0.1:{smtp_port}")
    import django

    django.setup()
    with tempfile.TemporaryDirectory(prefix="soak-") as folder:
        workdir = Path(args.logs or folder)
        workdir.mkdir(parents=True, exist_ok=True)
        try:
            report = soak(
                seconds=args.seconds, warmup=args.warmup, app_url=app_url, smtp_port=smtp_port, workdir=workdir
            )
        except Exception:
            for log in sorted(workdir.glob("*.log")):
                print(f"--- {log.name}\n{log.read_text(errors='replace')[-3000:]}", file=sys.stderr)
            raise
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))
    print(markdown(report))
    print("SOAK-RESULT " + json.dumps(report))
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
