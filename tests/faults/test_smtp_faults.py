"""A mail server that refuses, hangs up or never answers, with a real Celery worker sending: each
attempt fails in its own words, the next one comes after a doubled delay, the last one leaves the
email failed on the Outbox page, and Resend (the page's form, once the server works again) delivers
one copy.

tests/messaging covers the same paths in-process (a 451 retried with backoff, a refused port, a
connection dropped mid-chunk, failed after the last attempt, resend from the page with the locmem
backend); here the faults are on the wire and the retries are the worker's own countdown tasks.
"""

import html
import re
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import timedelta
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller
from django.test import Client as HttpClient
from django.utils import timezone

from messaging import services as outbox
from messaging.models import EmailStatus, OutboundEmail
from tenancy.urlresolvers import tenant_reverse

from ..messaging.test_worker import queue_invitation, running_worker, wait_for
from .redis_server import RedisServer, celery_broker, free_port

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

RETRY_BASE, MAX_ATTEMPTS, SMTP_TIMEOUT = 1, 4, 1  # seconds, attempts, seconds: retries after 1, 2 and 4 s
REFUSAL_554 = "554 5.7.1 Message refused by policy"
GREETING_421 = b"421 4.3.2 Service not available, closing transmission channel\r\n"


@dataclass
class Mailbox:
    """The real SMTP server behind the faults (aiosmtpd): refuses the next DATA with a 554 when told."""

    messages: list = field(default_factory=list)
    refuse_next: int = 0

    async def handle_DATA(self, server, session, envelope):
        if self.refuse_next > 0:
            self.refuse_next -= 1
            return REFUSAL_554
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 2.0.0 OK"


class FaultyMailServer:
    """A mail server on a port of its own whose next connections meet the faults queued in
    ``faults``, one per connection: ``"421"`` (greets with 421 and hangs up), ``"close"`` (hangs up
    at once), ``"stall"`` (accepts and never says a word), ``"554"`` (a real SMTP conversation whose
    message is refused). Once the queue is empty, connections reach the real server. ``log`` has
    (time, what the connection met) for every connection."""

    def __init__(self):
        self.mailbox = Mailbox()
        self.backend = Controller(self.mailbox, hostname="127.0.0.1", port=free_port())
        self.port = free_port()
        self.faults: deque[str] = deque()
        self.log: list[tuple] = []
        self._stop = threading.Event()
        self._sockets: list[socket.socket] = []
        self._threads: list[threading.Thread] = []

    @property
    def messages(self):
        return self.mailbox.messages

    def __enter__(self):
        self.backend.start()
        self._listener = socket.create_server(("127.0.0.1", self.port))
        self._listener.settimeout(0.2)
        self._spawn(self._accept)
        return self

    def __exit__(self, *exc):
        self._stop.set()
        for sock in [self._listener, *self._sockets]:
            sock.close()
        for thread in self._threads:
            thread.join(timeout=5)
        self.backend.stop()

    def _spawn(self, target, *args):
        thread = threading.Thread(target=target, args=args, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _accept(self):
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            fault = self.faults.popleft() if self.faults else "pass"
            self.log.append((timezone.now(), fault))
            self._sockets.append(client)
            self._spawn(self._serve, client, fault)

    def _serve(self, client: socket.socket, fault: str):
        if fault == "421":
            client.sendall(GREETING_421)
            client.close()
        elif fault == "close":
            client.close()
        elif fault == "stall":
            client.settimeout(0.2)
            while not self._stop.is_set():  # until the sender gives up and hangs up
                try:
                    if not client.recv(1024):
                        break
                except TimeoutError:
                    continue
                except OSError:
                    break
            client.close()
        else:
            if fault == "554":
                self.mailbox.refuse_next += 1
            self._forward(client)

    def _forward(self, client: socket.socket):
        server = socket.create_connection(("127.0.0.1", self.backend.port))
        self._sockets.append(server)
        self._spawn(self._pipe, server, client)
        self._pipe(client, server)

    @staticmethod
    def _pipe(source: socket.socket, target: socket.socket):
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, target):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


@pytest.fixture
def mail_server():
    with FaultyMailServer() as server:
        yield server


@pytest.fixture
def worker(mail_server):
    with RedisServer() as broker, celery_broker(broker.url(0)):
        with running_worker(
            "faults-smtp",
            CELERY_BROKER_URL=broker.url(0),
            CACHE_URL=broker.url(1),
            EMAIL_URL=f"smtp://127.0.0.1:{mail_server.port}",
            EMAIL_TIMEOUT=str(SMTP_TIMEOUT),
            OUTBOX_RETRY_BASE_SECONDS=str(RETRY_BASE),
            OUTBOX_MAX_ATTEMPTS=str(MAX_ATTEMPTS),
        ) as process:
            yield process


def text(response) -> str:
    return html.unescape(response.content.decode())


def follow_attempts(email, timeout=40.0) -> dict[int, OutboundEmail]:
    """The email as staff would have seen it after each failed attempt (queued for a retry), and at
    the end (failed), keyed by the number of attempts."""
    seen = {}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = OutboundEmail.objects.get(pk=email.pk)
        if row.status == EmailStatus.FAILED or (row.status == EmailStatus.QUEUED and row.attempts):
            seen.setdefault(row.attempts, row)
        if row.status == EmailStatus.FAILED:
            return seen
        time.sleep(0.05)
    raise AssertionError(f"not failed in {timeout}s; seen {sorted(seen)}")


def test_refusals_and_a_silent_server_are_retried_with_backoff_then_failed_on_the_outbox_then_resent_once(
    tenant, owner, mail_server, worker
):
    mail_server.faults.extend(["421", "close", "stall", "554"])

    email = queue_invitation(tenant, "faulty-server")  # commits: its task goes to the worker
    seen = follow_attempts(email)

    # Four attempts, each failing in its own words; the retries were due after 1, 2 and 4 seconds.
    attempts = mail_server.log[:MAX_ATTEMPTS]  # then one more: the sender reconnects after a refusal
    assert [fault for _, fault in attempts] == ["421", "close", "stall", "554"]
    assert sorted(seen) == [1, 2, 3, 4]
    assert "421" in seen[1].last_error and "Service not available" in seen[1].last_error
    assert "Connection unexpectedly closed" in seen[2].last_error
    assert "timed out" in seen[3].last_error
    assert "554" in seen[4].last_error and "refused by policy" in seen[4].last_error
    for n in (1, 2, 3):
        delay = timedelta(seconds=RETRY_BASE * 2 ** (n - 1))
        failed_at, next_try = attempts[n - 1][0], seen[n].next_attempt_at
        if n == 3:
            failed_at += timedelta(seconds=SMTP_TIMEOUT)  # the silent server held the attempt this long
        slack = timedelta(seconds=0.2)  # the log's clock reads a moment after the sender's
        assert delay - slack <= next_try - failed_at <= delay + timedelta(seconds=1.5), (n, next_try - failed_at)
        # The next attempt came when it was due, not before, and without waiting for a sweeper.
        retried_at = attempts[n][0]
        assert next_try - timedelta(seconds=0.3) <= retried_at <= next_try + timedelta(seconds=3), (n, retried_at)
    gaps = [(attempts[n + 1][0] - attempts[n][0]).total_seconds() for n in range(3)]
    assert gaps[0] < gaps[1] < gaps[2]
    final = seen[MAX_ATTEMPTS]
    assert (final.status, final.attempts, final.sent_at) == (EmailStatus.FAILED, MAX_ATTEMPTS, None)
    assert mail_server.messages == []

    # Staff see it failed, with the server's answer.
    admin = HttpClient(enforce_csrf_checks=True)
    admin.force_login(owner)
    failed_list = text(admin.get(tenant_reverse(tenant, "messaging:outbox"), {"status": "failed"}))
    assert "worker@example.com" in failed_list and "badge-failed" in failed_list
    detail = text(admin.get(tenant_reverse(tenant, "messaging:outbox_detail", email_id=email.pk)))
    assert '<span class="badge badge-failed">Failed</span>' in detail
    assert f"<dt>Attempts</dt><dd>{MAX_ATTEMPTS}</dd>" in detail
    assert REFUSAL_554.split(" ", 1)[1] in detail

    # The mail server works again; an admin presses Resend, the form the page shows.
    form = re.search(
        r'<form method="post" action="([^"]+/resend/)">.*?name="csrfmiddlewaretoken" value="([^"]+)"', detail
    )
    assert form, "no Resend form on the page"
    resent = admin.post(form[1], {"csrfmiddlewaretoken": form[2]}, follow=True)
    copy = OutboundEmail.objects.get(resent_from=email)
    assert resent.redirect_chain == [(tenant_reverse(tenant, "messaging:outbox_detail", email_id=copy.pk), 302)]
    assert "A new copy to worker@example.com is queued." in text(resent)

    assert wait_for(lambda: OutboundEmail.objects.get(pk=copy.pk).status == EmailStatus.SENT), "copy not sent"
    copy.refresh_from_db()
    assert copy.attempts == 1
    assert [m["Message-ID"] for m in mail_server.messages] == [f"<outbox-{copy.pk}@tessera.localhost>"]
    assert mail_server.messages[0]["To"] == "worker@example.com"
    assert "http://x/" in mail_server.messages[0].get_body(("plain",)).get_content()  # the link it carried
    original = OutboundEmail.objects.get(pk=email.pk)
    assert (original.status, original.attempts) == (EmailStatus.FAILED, MAX_ATTEMPTS)  # its history kept
    assert outbox.outbox_sweep() == 0  # nothing left owing: no second copy to come
    assert '<span class="badge badge-sent">Sent</span>' in text(
        admin.get(tenant_reverse(tenant, "messaging:outbox_detail", email_id=copy.pk))
    )
