"""A Celery worker killed in the middle of an import's commit, and tasks delivered twice: real worker
processes on the local Redis and the test database.

What a user must find: a file imported whole or not at all, never in part; the import page saying
where it stands; and in the end the file imported exactly once — whether the worker's pool process
died (Celery hands the task to a new one at once: ``acks_late`` with ``reject_on_worker_lost``) or
the whole worker was lost (the beat task ``resume_imports`` takes the job up again, and Redis's own
redelivery of the first message, after its visibility timeout, finds it done). Every task a worker
may be given twice (a redelivery, a sweeper's re-enqueue) has one effect, even when both copies run
at the same time on two workers.
"""

import base64
import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
import redis
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.utils import timezone
from kombu import Connection

from audit.models import AuditEvent
from contracts.models import ContractEvent, EventKind, Participant
from contracts.participants_csv import KIND
from imports.models import ImportJob, ImportStatus
from imports.services import import_request_commit, import_start
from imports.tasks import commit_import, resume_imports
from invitations.models import BatchStatus, CodeBatch, InvitationCode
from invitations.services import CodeTerms, code_batch_create
from invitations.tasks import run_code_batch
from messaging import services as outbox
from messaging.models import EmailStatus, OutboundEmail
from messaging.tasks import send_outbound_email
from tenancy.urlresolvers import tenant_reverse
from webhooks.models import DeliveryStatus, WebhookDelivery
from webhooks.tasks import deliver_webhook

from ..factories import CodeFactory, ContractFactory, PriceFactory, ServiceFactory, open_every_day
from ..messaging.test_worker import BROKER_URL, ROOT, _drop_connections, broker, database_url  # noqa: F401
from ..smtp import SmtpServer
from ..webhooks.conftest import redeem
from ..webhooks.factories import EndpointFactory
from ..webhooks.receiver import Answer, start_receiver, stop_receiver

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

ROWS = 20_000  # enough for the commit to take a while: the kill lands inside it
# The commit's progress (imports/services.py) once it writes: 51 % as the participants go in, 72 % as their codes do.
COMMIT_WRITING = 51


# Workers ------------------------------------------------------------------------------------------


class Worker:
    """A Celery worker process in its own process group; its output is read as it comes."""

    def __init__(self, name: str, *, pool: str = "solo", concurrency: int = 1, **env_values):
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DATABASE_URL": database_url(),
            "CELERY_BROKER_URL": BROKER_URL,
            "CACHE_URL": BROKER_URL,  # the import's progress, readable here (keys apart from the broker's)
            "SECRET_KEY": "worker-test",
            **env_values,
        }
        command = [sys.executable, "-m", "celery", "-A", "config", "worker", f"--pool={pool}", "--loglevel=INFO"]
        command += ["--without-gossip", "--without-mingle", f"--hostname={name}@%h"]
        if pool != "solo":
            command.append(f"--concurrency={concurrency}")
        self.name = name
        self.lines: list[str] = []
        self.since = 0
        self.ready = threading.Event()
        self.process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.append(line)
            if " ready." in line:
                self.ready.set()

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def wait_ready(self, timeout: float = 30) -> None:
        assert self.ready.wait(timeout), f"worker {self.name} not ready in {timeout} s:\n{self.output[-3000:]}"

    def received(self, task_name: str) -> int:
        return sum(f"Task {task_name}[" in line and "] received" in line for line in self.lines)

    def succeeded(self, task_name: str) -> int:
        return len(self.results(task_name))

    def results(self, task_name: str) -> list[str]:
        """What each run of the task since ``mark()`` returned, as the worker logs it."""
        return [
            line.rsplit(": ", 1)[1].strip().strip("'")
            for line in self.lines[self.since :]
            if f"Task {task_name}[" in line and "] succeeded in" in line
        ]

    def mark(self) -> None:
        self.since = len(self.lines)

    def pool_processes(self) -> list[int]:
        path = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in path.read_text().split()]

    def kill(self) -> None:
        """SIGKILL to the worker and its pool: no shutdown, no ack, as when its machine is lost."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        self.reader.join(timeout=5)
        print(f"--- worker {self.name} ---\n{self.output[-4000:]}")  # shown when a test fails


@contextmanager
def celery_worker(name: str, **options):
    worker = Worker(name, **options)
    try:
        yield worker
    finally:
        worker.stop()


def poll(predicate, timeout: float = 60.0, interval: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False


# The import ---------------------------------------------------------------------------------------


@pytest.fixture
def contract(tenant):
    contract = ContractFactory(tenant=tenant, invitation_prefix="ACME")
    PriceFactory(tenant=tenant, contract=contract, price_code="STD")
    return contract


def participants_file(rows: int) -> SimpleUploadedFile:
    lines = ["first_name,last_name,email,price_code"]
    lines += [f"First{n},Last{n},person{n}@example.com,STD" for n in range(rows)]
    return SimpleUploadedFile("participants.csv", ("\n".join(lines) + "\n").encode(), content_type="text/csv")


def status(job) -> str:
    return ImportJob.objects.values_list("status", flat=True).get(pk=job.pk)


def uploaded_and_checked(tenant, contract, staff, rows: int = ROWS) -> ImportJob:
    """The upload as the page makes it; a worker checks it."""
    job = import_start(
        tenant=tenant, kind=KIND, params={"contract": contract.pk}, upload=participants_file(rows), actor=staff
    )
    assert poll(lambda: status(job) == ImportStatus.VALID, timeout=60), f"not checked: {status(job)}"
    return job


def complete_import(http, tenant, job, cache: redis.Redis) -> None:
    """The "Complete Import" button (the check's progress, 100 %, forgotten first: only the commit's counts)."""
    cache.delete(progress_key(job))
    response = http.post(tenant_reverse(tenant, "imports:commit", job_id=job.pk))
    assert response.status_code == 302
    assert status(job) == ImportStatus.COMMITTING


def progress_key(job) -> str:
    return f":1:import-progress:{job.pk}"  # Django's Redis cache key of imports.progress


def progress(client: redis.Redis, job) -> int:
    value = client.get(progress_key(job))
    return int(value) if value else 0


def another_session_is_writing_participants() -> bool:
    """The commit's transaction has written participant rows, not yet committed."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
            "WHERE c.relname = %s AND l.mode = 'RowExclusiveLock' AND l.granted AND l.pid <> pg_backend_pid() "
            "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            [Participant._meta.db_table],
        )
        return cursor.fetchone()[0] > 0


def wait_until_mid_commit(client, job) -> None:
    assert poll(
        lambda: progress(client, job) >= COMMIT_WRITING and another_session_is_writing_participants(), interval=0.02
    ), f"the commit was not seen writing: status {status(job)}, progress {progress(client, job)}"


def participants(contract) -> int:
    return Participant.objects.filter(contract=contract).count()


def watch_until_committed(job, contract, timeout: float = 90) -> set[int]:
    """Every count of the contract's participants seen until the job is imported."""
    seen = set()

    def committed():
        seen.add(participants(contract))
        return status(job) == ImportStatus.COMMITTED

    assert poll(committed, timeout=timeout, interval=0.1), f"not imported in {timeout} s: {status(job)}"
    seen.add(participants(contract))
    return seen


def assert_imported_once(http, tenant, job, contract, rows: int = ROWS) -> None:
    job.refresh_from_db()
    assert job.summary == {"participants added": rows, "participants updated": 0, "invitation codes generated": rows}
    assert participants(contract) == rows
    assert Participant.objects.filter(contract=contract).values("email").distinct().count() == rows
    assert InvitationCode.objects.filter(contract=contract).count() == rows
    assert ContractEvent.objects.filter(contract=contract, kind=EventKind.IMPORT_COMMITTED).count() == 1
    assert AuditEvent.objects.filter(tenant=tenant, event="import.committed", object_id=str(job.pk)).count() == 1
    page = http.get(tenant_reverse(tenant, "imports:detail", job_id=job.pk)).content.decode()
    assert "Imported" in page and f"<strong>{rows}</strong> participants added" in page


def unacked_commit_of(client: redis.Redis, job) -> bool:
    """The broker still holds the first commit message, taken by the dead worker and never acknowledged."""
    for raw in client.hvals("unacked"):
        message = json.loads(raw)[0]
        _args, kwargs, _embed = json.loads(base64.b64decode(message["body"]))
        if message["headers"]["task"] == commit_import.name and kwargs["job_id"] == job.pk:
            return True
    return False


def redeliver_unacknowledged() -> None:
    """What Redis does to a message unacknowledged past the visibility timeout (an hour here), now:
    kombu's own restore, with a timeout of zero."""
    with Connection(BROKER_URL, transport_options={"visibility_timeout": 0}) as broker_connection:
        broker_connection.default_channel.qos.restore_visible()


# Killed -------------------------------------------------------------------------------------------


def test_a_pool_process_killed_mid_commit_leaves_nothing_and_the_import_is_redone_once(
    tenant,
    contract,
    staff,
    staff_http,
    broker,  # noqa: F811
):
    """The pool process running the commit is killed (as the kernel's OOM killer does): the commit's
    transaction dies with it, and the worker hands the task to a new pool process at once."""
    with celery_worker("import-prefork", pool="prefork", concurrency=1) as worker:
        job = uploaded_and_checked(tenant, contract, staff)
        complete_import(staff_http, tenant, job, broker)
        wait_until_mid_commit(broker, job)
        [pool_process] = worker.pool_processes()

        os.kill(pool_process, signal.SIGKILL)

        assert status(job) == ImportStatus.COMMITTING, "the commit ended before the kill: the file is too small"
        assert participants(contract) == 0
        seen = watch_until_committed(job, contract)
        assert seen <= {0, ROWS}, f"part of the file was visible: {sorted(seen)}"
        assert_imported_once(staff_http, tenant, job, contract)
        assert "WorkerLostError" in worker.output or "SIGKILL" in worker.output
        assert worker.received(commit_import.name) == 2  # the first delivery, and the same message again
        assert pool_process not in worker.pool_processes()


def test_a_worker_killed_mid_commit_leaves_nothing_and_the_sweeper_imports_it_once(
    tenant,
    contract,
    staff,
    staff_http,
    broker,  # noqa: F811
):
    """The whole worker is killed (its machine is lost): nothing of the file is written, the page
    says the import is under way, the beat task ``resume_imports`` takes the job up again once it
    has been quiet too long, and the first message, redelivered by Redis later, does nothing."""
    with celery_worker("import-first") as first:
        job = uploaded_and_checked(tenant, contract, staff)
        complete_import(staff_http, tenant, job, broker)
        wait_until_mid_commit(broker, job)

        first.kill()

        # The dead worker's database session goes with it: its transaction rolls back.
        assert poll(lambda: not another_session_is_writing_participants(), timeout=10)
        assert status(job) == ImportStatus.COMMITTING
        assert participants(contract) == 0 and not InvitationCode.objects.filter(contract=contract).exists()
        page = staff_http.get(tenant_reverse(tenant, "imports:detail", job_id=job.pk)).content.decode()
        assert "Importing…" in page and "the work goes on" in page
        assert unacked_commit_of(broker, job)

    with celery_worker("import-second") as second:
        second.wait_ready()
        # Ten minutes later, beat's resume_imports finds the job quiet and enqueues its commit again.
        ImportJob.objects.filter(pk=job.pk).update(updated_at=timezone.now() - timedelta(minutes=11))
        resume_imports.delay()
        seen = watch_until_committed(job, contract)
        assert seen <= {0, ROWS}, f"part of the file was visible: {sorted(seen)}"

        # An hour later Redis redelivers the first message; the job is imported already.
        assert unacked_commit_of(broker, job)
        redeliver_unacknowledged()
        assert poll(lambda: second.succeeded(commit_import.name) == 2, timeout=60)
        assert not broker.hlen("unacked") and not broker.llen("celery")
        assert_imported_once(staff_http, tenant, job, contract)


# Delivered twice ----------------------------------------------------------------------------------


@pytest.fixture(scope="class")
def smtp_server():
    with SmtpServer() as server:
        yield server


@pytest.fixture(scope="class")
def webhook_receiver():
    receiver = start_receiver()
    yield receiver
    stop_receiver(receiver)


@pytest.fixture(scope="class")
def two_workers(django_db_setup, smtp_server, webhook_receiver):
    """Two workers for the whole class (started once: a few seconds each), on a broker of their own."""
    from config.celery import app as celery_app

    client = redis.Redis.from_url(BROKER_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.exceptions.ConnectionError as exc:
        pytest.fail(f"Redis is not answering at {BROKER_URL} ({exc}).")
    client.flushdb()
    previous = {key: celery_app.conf[key] for key in ("broker_url", "task_always_eager")}
    celery_app.conf.update(broker_url=BROKER_URL, task_always_eager=False)
    _drop_connections()
    env = {
        "EMAIL_URL": f"smtp://127.0.0.1:{smtp_server.port}",
        "WEBHOOK_ALLOW_PRIVATE_ADDRESSES": "1",
        "WEBHOOK_TIMEOUT_SECONDS": "10",
    }
    try:
        with celery_worker("twice-a", **env) as a, celery_worker("twice-b", **env) as b:
            a.wait_ready()
            b.wait_ready()
            yield a, b
    finally:
        celery_app.conf.update(previous)
        _drop_connections()
        client.flushdb()


def both_ran(workers, task_name: str) -> bool:
    """Each worker has run one copy to its end."""
    return all(worker.succeeded(task_name) == 1 for worker in workers)


def outcomes(workers, task_name: str) -> list[str]:
    return sorted(result for worker in workers for result in worker.results(task_name))


class TestDeliveredTwice:
    """The same message enqueued twice at once: the two copies run side by side on two workers."""

    @pytest.fixture(autouse=True)
    def _count_from_here(self, two_workers):
        for worker in two_workers:
            worker.mark()

    def test_an_import_commit_imports_once(self, tenant, contract, staff, staff_http, two_workers):
        job = uploaded_and_checked(tenant, contract, staff, rows=5_000)
        import_request_commit(tenant=tenant, job=job, actor=staff)  # enqueued on commit (autocommit here)
        commit_import.apply_async(kwargs={"tenant_id": tenant.pk, "job_id": job.pk, "actor_id": staff.pk})

        seen = watch_until_committed(job, contract)
        assert poll(lambda: both_ran(two_workers, commit_import.name), timeout=30)
        assert seen <= {0, 5_000}
        assert_imported_once(staff_http, tenant, job, contract, rows=5_000)

    def test_a_code_batch_makes_its_quantity(self, tenant, contract, staff, two_workers):
        price = contract.prices.get()
        batch = code_batch_create(
            tenant=tenant, contract=contract, price=price, quantity=30_000, width=10, terms=CodeTerms(), actor=staff
        )  # two chunks of codes: the copies take turns on the batch's lock
        run_code_batch.apply_async(kwargs={"tenant_id": tenant.pk, "batch_id": batch.pk})

        assert poll(lambda: CodeBatch.objects.get(pk=batch.pk).status == BatchStatus.DONE, timeout=60)
        assert poll(lambda: both_ran(two_workers, run_code_batch.name), timeout=30)
        batch.refresh_from_db()
        assert batch.created_count == 30_000
        assert InvitationCode.objects.filter(batch=batch).count() == 30_000
        assert ContractEvent.objects.filter(contract=contract, kind=EventKind.CODES_GENERATED).count() == 1

    def test_an_email_is_sent_once(self, tenant, smtp_server, two_workers):
        email = outbox.email_queue(
            tenant=tenant,
            to="twice@example.com",
            key="tenancy.staff_invitation",
            context={"invited_by": "Olga", "role": "Staff", "accept_url": "http://x/", "expires_at": "soon"},
            idempotency_key="twice-1",
        )  # enqueued on commit
        send_outbound_email.apply_async(kwargs={"tenant_id": tenant.pk, "email_id": email.pk})

        assert poll(lambda: both_ran(two_workers, send_outbound_email.name), timeout=30)
        assert poll(lambda: OutboundEmail.objects.get(pk=email.pk).status == EmailStatus.SENT, timeout=30)
        email.refresh_from_db()
        assert email.attempts == 1
        assert outcomes(two_workers, send_outbound_email.name) == ["sent", "skipped"]
        assert [m["To"] for m in smtp_server.messages].count("twice@example.com") == 1

    def test_a_webhook_is_posted_once(self, tenant, webhook_receiver, two_workers):
        service = open_every_day(ServiceFactory(tenant=tenant, name="Intro lesson"), capacity=5)
        price = PriceFactory(tenant=tenant, service=service)
        code = CodeFactory(tenant=tenant, price=price, contract=price.contract, max_uses=1)
        endpoint = EndpointFactory(tenant=tenant, url=webhook_receiver.url, events=["code.redeemed"])
        webhook_receiver.answer(Answer(delay=1.5))  # the first POST is still waiting when the copy runs
        redeem(tenant, code)  # the delivery's task is enqueued on commit
        delivery = WebhookDelivery.objects.get(endpoint=endpoint)
        deliver_webhook.apply_async(kwargs={"tenant_id": tenant.pk, "delivery_id": delivery.pk})

        assert poll(lambda: both_ran(two_workers, deliver_webhook.name), timeout=30)
        assert poll(lambda: WebhookDelivery.objects.get(pk=delivery.pk).status == DeliveryStatus.SUCCEEDED, timeout=30)
        delivery.refresh_from_db()
        assert delivery.attempts == 1
        assert outcomes(two_workers, deliver_webhook.name) == ["skipped", "succeeded"]
        assert [json.loads(r.body)["id"] for r in webhook_receiver.requests] == [str(delivery.event_id)]
