"""Two real Celery workers (separate processes) on the local Redis deliver a batch, each email once,
even when every chunk's task is delivered to both of them."""

import os
import subprocess
import sys

import pytest

from messaging import services
from messaging.models import EmailStatus, OutboundEmail
from messaging.tasks import send_outbound_emails

from ..smtp import SmtpServer
from .test_worker import BROKER_URL, ROOT, broker, database_url, wait_for  # noqa: F401  (broker: a fixture)

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def smtp_for_workers():
    with SmtpServer() as server:
        yield server


@pytest.fixture
def two_workers(broker, smtp_for_workers):  # noqa: F811
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": database_url(),
        "CELERY_BROKER_URL": BROKER_URL,
        "EMAIL_URL": f"smtp://127.0.0.1:{smtp_for_workers.port}",
        "SECRET_KEY": "worker-test",
    }
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=solo", "--loglevel=WARNING"]
            + ["--without-gossip", "--without-mingle", f"--hostname=batch-worker-{n}@%h"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for n in (1, 2)
    ]
    yield processes
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            output, _ = process.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            output, _ = process.communicate()
        print(output[-3000:])  # shown when a test fails


def test_two_workers_given_every_chunk_twice_send_each_email_once(tenant, two_workers, smtp_for_workers):
    people = [
        services.Recipient(
            to=f"w{n}@example.com", idempotency_key=f"w:{n}", private={"accept_url": f"http://x/join/w{n}/"}
        )
        for n in range(250)
    ]
    # Autocommit: the chunks' tasks go to Redis on commit; then each chunk once more (a redelivery).
    ids = services.emails_queue(
        tenant=tenant,
        key="tenancy.staff_invitation",
        context={"invited_by": "Olga", "role": "Staff"},
        recipients=people,
    )
    for start in range(0, len(ids), services.SEND_CHUNK):
        chunk = sorted(ids)[start : start + services.SEND_CHUNK]
        send_outbound_emails.apply_async(kwargs={"tenant_id": tenant.pk, "email_ids": chunk})

    sent = OutboundEmail.objects.filter(pk__in=ids, status=EmailStatus.SENT)
    assert wait_for(lambda: sent.count() == 250, timeout=60), f"{sent.count()} of 250 sent"
    assert wait_for(lambda: len(smtp_for_workers.messages) >= 250, timeout=10)
    assert sorted(m["Message-ID"] for m in smtp_for_workers.messages) == sorted(
        f"<outbox-{pk}@tessera.localhost>" for pk in ids
    )
    links = {m["To"]: m.get_body(("plain",)).get_content() for m in smtp_for_workers.messages}
    assert all(f"http://x/join/{to.split('@')[0]}/" in text for to, text in links.items())
