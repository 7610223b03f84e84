"""The outbox: a customer invites 10,000 addresses to the seats of one order (the "Email invitations"
step of My Account: one POST of the page's form with a CSV of the addresses, through Django's test
client in this process), and 2 Celery workers deliver the 10,000 emails to a local SMTP server that
counts what it receives.

Timed: (a) the action (the POST, until its redirect), and (b) delivery, from the action's start
until every email is "sent" in the database and received by the server. Right means 10,000 rows
sent, 10,000 messages received with 10,000 distinct Message-IDs, and 10,000 distinct invitation
links, each the link of one invite of the order: none lost, none doubled, none with a placeholder
where the link should be.

The workers and the SMTP server are separate processes in their own process groups, stopped in a
``finally`` block; everything waits at most a bounded time, and a timeout fails the run cleanly.
"""

import contextlib
import hashlib
import io
import json
import os
import re
import resource
import select
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import redis
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.db.models import Count
from django.test import Client as HttpClient
from kombu import pools as kombu_pools

from accounts.models import User
from config.celery import app as celery_app
from messaging.models import EmailStatus, OutboundEmail
from regcodes.models import LearnerInvite, Product, ProductSession
from regcodes.services import seat_order_create
from tenancy.models import Tenant
from tenancy.scoping import isolated_scope
from tenancy.urlresolvers import tenant_reverse

from .common import peak_rss_mb, stop_group
from .registry import Scenario, Verdict, register

ROOT = Path(__file__).resolve().parent.parent
TENANT = "bench-outbox"
EMAILS = 10_000
INVITATION = "regcodes.learner_invitation"
# Redis database of the scenario's broker, emptied at the start of each run (bench/http.py uses 10 and 11).
BROKER_URL = os.environ.get("BENCH_OUTBOX_BROKER_URL", "redis://127.0.0.1:6379/12")
WORKERS = 2
# Processes per worker (prefork). One process sending alone spends most of each email waiting: four
# replies from the SMTP server and the commit of the row marked sent (a WAL flush). With one process
# per worker the 2 cores sit half idle; with two per worker (four senders) one sends while another
# waits, and the cores, which the SMTP server and PostgreSQL share, are what limits. More processes
# only add switching (2 cores). BENCH_OUTBOX_CONCURRENCY overrides it, to compare.
CONCURRENCY = int(os.environ.get("BENCH_OUTBOX_CONCURRENCY", 2))
START_TIMEOUT = 60  # seconds for the workers to answer a ping
DELIVERY_TIMEOUT = 300  # seconds from the action's start until all are delivered
SETTLE_SECONDS = 1.0  # after the last one, how long to wait for a late double
ANSWER_TIMEOUT = 30  # seconds for the SMTP server to start or to answer a question
POLL_SECONDS = 0.25  # how often the counts are read while waiting (each read costs the workers a little CPU)

LINK = re.compile(rb"/seats/invite/([A-Za-z0-9_-]{43})/")
MESSAGE_ID = re.compile(rb"^Message-ID:\s*(\S+)", re.IGNORECASE | re.MULTILINE)


# The SMTP server: a child process, asked for its counts through its stdin and stdout.


def smtp_sink(port: int) -> None:
    """Receive mail on 127.0.0.1:``port`` until stdin closes. Each line ``count`` on stdin is
    answered with one JSON line of counts; ``tokens`` with the distinct links' tokens."""
    from aiosmtpd.controller import Controller

    class Counter:
        def __init__(self):
            self.received = 0
            self.message_ids = set()
            self.tokens = set()
            self.placeholders = 0

        async def handle_DATA(self, server, session, envelope):
            content = envelope.content
            self.received += 1
            found = MESSAGE_ID.search(content)
            self.message_ids.add(found[1] if found else b"missing-%d" % self.received)
            self.tokens.update(LINK.findall(content))
            self.placeholders += b"private-" in content
            return "250 2.0.0 OK"

    counter = Counter()
    controller = Controller(counter, hostname="127.0.0.1", port=port)
    controller.start()
    print("ready", flush=True)
    try:
        for line in sys.stdin:
            if line.strip() == "tokens":
                answer = sorted(token.decode() for token in counter.tokens)
            else:
                answer = {
                    "received": counter.received,
                    "distinct_ids": len(counter.message_ids),
                    "distinct_links": len(counter.tokens),
                    "placeholders": counter.placeholders,
                    "cpu_seconds": sum(resource.getrusage(resource.RUSAGE_SELF)[:2]),
                }
            print(json.dumps(answer), flush=True)
    finally:
        controller.stop()


class Sink:
    """The SMTP server process; every answer it owes is waited for ``ANSWER_TIMEOUT`` seconds at most."""

    def __init__(self, port: int, env: dict):
        code = f"import django; django.setup(); from bench.outbox import smtp_sink; smtp_sink({port})"
        self.process = subprocess.Popen(
            [sys.executable, "-c", code],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )

    def wait_ready(self) -> None:
        if (said := self._answer()) != "ready":
            raise RuntimeError(f"The SMTP server did not start (said {said!r}).")

    def ask(self, what: str = "count"):
        self.process.stdin.write(what + "\n")
        self.process.stdin.flush()
        return json.loads(self._answer())

    def _answer(self) -> str:
        readable, _, _ = select.select([self.process.stdout], [], [], ANSWER_TIMEOUT)
        if not readable:
            raise TimeoutError(f"The SMTP server did not answer within {ANSWER_TIMEOUT} s.")
        return self.process.stdout.readline().strip()


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# The workers.


def start_workers(env: dict, log) -> list[subprocess.Popen]:
    return [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "--pool=prefork",
                f"--concurrency={CONCURRENCY}",
                "--without-gossip",
                "--without-mingle",
                "--loglevel=WARNING",
                f"--hostname=bench-outbox-{number}@%h",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        for number in range(1, WORKERS + 1)
    ]


def use_broker(url: str) -> None:
    """Point this process's Celery app at the broker (the bench settings run tasks eagerly)."""
    celery_app.conf.update(broker_url=url, task_always_eager=False)
    if celery_app._pool is not None:
        celery_app._pool.force_close_all()
    celery_app._pool = None
    celery_app.amqp._producer_pool = None
    kombu_pools.reset()


def wait_until(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := predicate():
            return result
        time.sleep(POLL_SECONDS)
    raise TimeoutError(f"{what}: not within {timeout:.0f} s")


# The data.


def _fresh_order():
    """An order of EMAILS seats in the bench tenant, after removing what earlier runs left."""
    tenant = Tenant.objects.get_or_create(slug=TENANT, defaults={"name": "Bench Outbox"})[0]
    buyer = User.objects.get_or_create(
        email="bench-buyer@example.com", defaults={"first_name": "Bea", "last_name": "Buyer"}
    )[0]
    with connection.cursor() as cursor:
        for table in (
            "messaging_outboundemail",
            "regcodes_courseaccess",
            "regcodes_learnerinvite",
            "regcodes_registrationcode",
            "regcodes_seatorder",
        ):
            cursor.execute(f"DELETE FROM {table} WHERE tenant_id = %s", [tenant.pk])
    with isolated_scope(tenant=tenant):
        product = Product.objects.get_or_create(tenant=tenant, name="Bench course")[0]
        session = ProductSession.objects.get_or_create(
            tenant=tenant,
            product=product,
            name="Bench session",
            defaults={"starts_on": "2026-01-01", "ends_on": "2026-12-31", "generates_codes": True},
        )[0]
        with contextlib.redirect_stdout(io.StringIO()):  # the order email goes to the console backend
            order = seat_order_create(tenant=tenant, product_session=session, buyer=buyer, quantity=EMAILS)
    with connection.cursor() as cursor:
        for table in ("messaging_outboundemail", "regcodes_learnerinvite", "regcodes_registrationcode"):
            cursor.execute(f"VACUUM ANALYZE {table}")
    return tenant, buyer, order


def _rows(tenant) -> dict[str, int]:
    counts = dict.fromkeys(EmailStatus.values, 0)
    with isolated_scope(tenant=tenant):
        rows = OutboundEmail.objects.filter(tenant=tenant, template_key=INVITATION)
        counts.update(rows.values_list("status").order_by().annotate(n=Count("id")))
    return counts


def _links_of_the_order(tenant, order, tokens: list[str]) -> int:
    """How many of the received links open an invite of the order (each a different one)."""
    hashes = [hashlib.sha256(token.encode()).hexdigest() for token in tokens]
    with isolated_scope(tenant=tenant):
        return LearnerInvite.objects.filter(tenant=tenant, code__order=order, token_hash__in=hashes).count()


def outbox_10k() -> dict:
    tenant, buyer, order = _fresh_order()
    addresses = [f"learner{n}@bench.example" for n in range(EMAILS)]
    port = free_port()
    env = {
        **os.environ,
        "CELERY_BROKER_URL": BROKER_URL,
        "EMAIL_URL": f"smtp://127.0.0.1:{port}",
        "LOG_LEVEL": "WARNING",
    }
    broker = redis.Redis.from_url(BROKER_URL, socket_connect_timeout=2, socket_timeout=10)
    broker.flushdb()
    log = tempfile.TemporaryFile(mode="w+")
    sink, workers = None, []
    children_cpu = sum(resource.getrusage(resource.RUSAGE_CHILDREN)[:2])
    try:
        use_broker(BROKER_URL)
        if strangers := celery_app.control.ping(timeout=1):
            raise RuntimeError(f"Workers of an earlier run still consume from {BROKER_URL}: {strangers}")
        sink = Sink(port, env)
        sink.wait_ready()
        workers = start_workers(env, log)
        wait_until(
            lambda: len(celery_app.control.ping(timeout=0.5)) >= WORKERS or any(w.poll() is not None for w in workers),
            START_TIMEOUT,
            "workers ready",
        )
        if any(w.poll() is not None for w in workers):
            raise RuntimeError("A worker exited at start.")

        http = HttpClient()
        http.force_login(buyer)
        upload = SimpleUploadedFile("learners.csv", ("email\n" + "\n".join(addresses) + "\n").encode())
        url = tenant_reverse(tenant, "seats_portal:invites", order_id=order.pk)
        started = time.perf_counter()
        response = http.post(url, {"addresses": "", "message": "Welcome aboard!", "csv_file": upload})
        action = time.perf_counter() - started
        if response.status_code != 302:
            raise RuntimeError(f"The invitation form answered {response.status_code}, not a redirect.")

        def delivered():
            rows = _rows(tenant)
            return (
                rows[EmailStatus.SENT] + rows[EmailStatus.FAILED] >= EMAILS
                and sink.ask()["received"] >= rows[EmailStatus.SENT]
            )

        try:
            wait_until(delivered, DELIVERY_TIMEOUT - (time.perf_counter() - started), "delivery")
        except TimeoutError as exc:
            raise TimeoutError(f"{exc}; rows {_rows(tenant)}, server {sink.ask()}") from None
        delivery = time.perf_counter() - started
        time.sleep(SETTLE_SECONDS)
        rows, counts = _rows(tenant), sink.ask()
        right_links = _links_of_the_order(tenant, order, sink.ask("tokens"))
    except Exception:
        log.seek(0)
        print(log.read()[-4000:], file=sys.stderr)
        raise
    finally:
        for process in workers:
            stop_group(process)
        if sink is not None:
            with contextlib.suppress(OSError):
                sink.process.stdin.close()
            stop_group(sink.process, grace=10)
        log.close()
        broker.flushdb()
    # CPU of the workers (their processes, waited for) and of the SMTP server, for the whole run.
    children_cpu = sum(resource.getrusage(resource.RUSAGE_CHILDREN)[:2]) - children_cpu
    ok = (
        rows[EmailStatus.SENT] == EMAILS
        and rows[EmailStatus.FAILED] == 0
        and counts["received"] == EMAILS
        and counts["distinct_ids"] == EMAILS
        and counts["distinct_links"] == EMAILS
        and right_links == EMAILS
        and counts["placeholders"] == 0
    )
    return {
        "value": EMAILS / delivery,
        "peak_mb": peak_rss_mb(),
        "ok": ok,
        "action_seconds": action,
        "delivery_seconds": delivery,
        "received": counts["received"],
        "distinct_ids": counts["distinct_ids"],
        "distinct_links": counts["distinct_links"],
        "links_of_the_order": right_links,
        "rows_sent": rows[EmailStatus.SENT],
        "rows_failed": rows[EmailStatus.FAILED],
        "workers_cpu_seconds": children_cpu - counts["cpu_seconds"],
        "smtp_server_cpu_seconds": counts["cpu_seconds"],
    }


def _judge(figures, reference) -> Verdict:
    whole = figures["received"] == EMAILS and figures["distinct_ids"] == EMAILS and figures["rows_sent"] == EMAILS
    met = figures["action_seconds"] <= 2 and figures["value"] >= 300 and whole
    return Verdict("action ≤ 2 s, ≥ 300 emails/s, none lost or doubled", met)


def _details(figures) -> str:
    return (
        f"action {figures['action_seconds']:.2f} s, delivered in {figures['delivery_seconds']:.1f} s; "
        f"{figures['received']:,.0f} received, {figures['distinct_ids']:,.0f} distinct, "
        f"{figures['rows_sent']:,.0f} sent, {figures['rows_failed']:,.0f} failed"
    )


register(
    Scenario(
        name="outbox_10k",
        label=f"outbox: {EMAILS:,} invitation emails queued in one action (the page's form, a CSV), "
        f"delivered by {WORKERS} Celery workers to a local SMTP server",
        run="bench.outbox:outbox_10k",
        unit="emails/s",
        judge=_judge,
        details=_details,
    ),
)
