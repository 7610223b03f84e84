"""A real Celery worker (a separate process) on the local Redis delivers outbox emails."""

import os
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.db import connection
from kombu import pools as kombu_pools

from config.celery import app as celery_app
from messaging import services
from messaging.models import EmailStatus, OutboundEmail

from ..smtp import SmtpServer

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

BROKER_URL = os.environ.get("TEST_CELERY_BROKER_URL", "redis://127.0.0.1:6379/14")
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def broker():
    client = redis.Redis.from_url(BROKER_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.exceptions.ConnectionError as exc:
        pytest.fail(f"Redis is not answering at {BROKER_URL} ({exc}). Start it, e.g. `docker compose up -d redis`.")
    client.flushdb()
    previous = {key: celery_app.conf[key] for key in ("broker_url", "task_always_eager")}
    celery_app.conf.update(broker_url=BROKER_URL, task_always_eager=False)
    _drop_connections()  # an earlier eager test may have opened the in-memory broker's pool
    yield client
    celery_app.conf.update(previous)
    _drop_connections()
    client.flushdb()


def _drop_connections():
    """Celery and kombu cache connection and producer pools per broker; start from none."""
    if celery_app._pool is not None:
        celery_app._pool.force_close_all()
    celery_app._pool = None
    celery_app.amqp._producer_pool = None
    kombu_pools.reset()


def database_url() -> str:
    db = settings.DATABASES["default"]
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{connection.settings_dict['NAME']}"


@contextmanager
def running_worker(hostname: str, **env_values):
    """A Celery worker process on the test broker and the test database, stopped afterwards; its
    output is printed (shown when a test fails)."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": database_url(),
        "CELERY_BROKER_URL": BROKER_URL,
        "SECRET_KEY": "worker-test",
        **env_values,
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=solo", "--loglevel=INFO"]
        + ["--without-gossip", "--without-mingle", f"--hostname={hostname}@%h"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        yield process
    finally:
        process.terminate()
        try:
            output, _ = process.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            output, _ = process.communicate()
        print(output[-4000:])


@pytest.fixture
def worker(broker, smtp_for_worker):
    with running_worker(
        "test-worker",
        EMAIL_URL=f"smtp://127.0.0.1:{smtp_for_worker.port}",
        OUTBOX_RETRY_BASE_SECONDS="1",
    ) as process:
        yield process


@pytest.fixture
def smtp_for_worker():
    with SmtpServer() as server:
        yield server


def wait_for(predicate, timeout=40.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def queue_invitation(tenant, key):
    return services.email_queue(
        tenant=tenant,
        to="worker@example.com",
        key="tenancy.staff_invitation",
        context={"invited_by": "Olga", "role": "Staff", "accept_url": "http://x/", "expires_at": "soon"},
        idempotency_key=key,
    )


def test_a_worker_sends_a_queued_email(tenant, worker, smtp_for_worker):
    email = queue_invitation(tenant, "worker-1")  # autocommit: enqueued to Redis on commit
    assert wait_for(lambda: OutboundEmail.objects.get(pk=email.pk).status == EmailStatus.SENT), "not sent in time"
    assert len(smtp_for_worker.messages) == 1
    assert smtp_for_worker.messages[0]["To"] == "worker@example.com"


def test_a_worker_retries_a_refused_email(tenant, worker, smtp_for_worker):
    smtp_for_worker.refuse(1)
    email = queue_invitation(tenant, "worker-2")
    assert wait_for(lambda: OutboundEmail.objects.get(pk=email.pk).status == EmailStatus.SENT), "not sent in time"
    email.refresh_from_db()
    assert email.attempts == 2
    assert len(smtp_for_worker.messages) == 1
