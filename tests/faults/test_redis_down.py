"""Redis stopped while people use the app: a real redis-server of the test's own (the broker and the
cache, as in a deployment), a real Celery worker and a real SMTP server.

While Redis is down every page answers — sign-in, password reset, a booking with a code (and one
through the API), a session checkout, staff inviting to a session, the staff pages, an import upload
and "Complete Import" — and what needed Redis waits in the database: emails queued, imports
"Checking" and "Importing". When Redis is back the sweepers (run by the worker, as beat would ask)
send every email that waited exactly once and finish every import exactly once.
"""

import html
import re
import time
from collections import Counter
from datetime import datetime, timedelta
from datetime import time as clock
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client as HttpClient
from django.utils import timezone

from api.models import KeyScope
from api.services import api_key_create
from bookings.models import Booking
from contracts.models import ContractEvent, EventKind, Participant
from imports.models import ImportJob, ImportStatus
from imports.tasks import resume_imports
from invitations.models import CodeStatus, InvitationCode, Redemption
from messaging import services as outbox
from messaging.models import EmailStatus, OutboundEmail
from messaging.tasks import sweep_outbox
from sessions_roster.models import Order, SessionInvitation
from tenancy.urlresolvers import tenant_reverse

from ..factories import (
    DEFAULT_PASSWORD,
    CodeFactory,
    ContractFactory,
    PriceFactory,
    ServiceFactory,
    SessionFactory,
    open_every_day,
)
from ..messaging.test_worker import queue_invitation, running_worker, wait_for
from ..smtp import SmtpServer
from .redis_server import RedisServer, celery_broker, free_port

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

CODE, API_CODE = "ACME7KD0QX2M1F", "ACME7KD0QX2M1G"
HEADER = "participant_id,first_name,last_name,email,phone,date_of_birth,price_code,invitation_code"
# A person notices a page that hangs; each one must answer well within this while Redis is down
# (enqueueing to a broker that refuses costs Celery's publish retries, about 0.6 s).
PAGE_SECONDS = 5.0


@pytest.fixture
def redis_server():
    with RedisServer() as server:
        yield server


@pytest.fixture
def on_redis(settings, redis_server):
    """This process uses the private Redis as a deployment does: the shared cache and Celery's broker."""
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": redis_server.url(1)}
    }
    with celery_broker(redis_server.url(0)):
        yield redis_server


@pytest.fixture
def mail_server():
    with SmtpServer() as server:
        yield server


@pytest.fixture
def worker(on_redis, mail_server):
    # OUTBOX_STALE_SECONDS=1: the sweeper takes an email that waited a second (two minutes by default).
    with running_worker(
        "faults-redis",
        CELERY_BROKER_URL=on_redis.url(0),
        CACHE_URL=on_redis.url(1),
        EMAIL_URL=f"smtp://127.0.0.1:{mail_server.port}",
        OUTBOX_STALE_SECONDS="1",
    ) as process:
        yield process


def text(response) -> str:
    return html.unescape(response.content.decode())


def csv_file(*rows: str) -> SimpleUploadedFile:
    return SimpleUploadedFile("participants.csv", ("\n".join([HEADER, *rows]) + "\n").encode())


class Visits:
    """Requests made while Redis is down, each timed; none may fail or hang."""

    def __init__(self):
        self.timings: list[tuple[str, float]] = []

    def __call__(self, label, request, *args, **kwargs):
        started = time.monotonic()
        response = request(*args, **kwargs)  # a server error raises here (the test client re-raises it)
        elapsed = time.monotonic() - started
        self.timings.append((label, elapsed))
        assert response.status_code < 500, f"{label}: {response.status_code}"
        assert elapsed < PAGE_SECONDS, f"{label} took {elapsed:.1f}s"
        return response


def test_with_redis_stopped_the_pages_work_and_what_waited_goes_out_once_when_it_is_back(
    tenant, owner, worker, on_redis, mail_server
):
    contract = ContractFactory(tenant=tenant, name="Onboarding", invitation_prefix="ACME")
    service = open_every_day(ServiceFactory(tenant=tenant, name="Intro session", duration_minutes=60), capacity=3)
    price = PriceFactory(contract=contract, service=service, price_code="STD", amount=Decimal("25.00"))
    code = CodeFactory(price=price, code=CODE)
    api_code = CodeFactory(price=price, code=API_CODE)
    session = SessionFactory(tenant=tenant, title="Pottery basics", capacity=5)
    _, api_secret = api_key_create(tenant=tenant, name="CRM sync", scope=KeyScope.READ_WRITE, actor=owner)
    day = timezone.localdate(timezone=tenant.zone) + timedelta(days=1)
    tomorrow_at_ten = datetime.combine(day, clock(10)).replace(tzinfo=tenant.zone)
    staff = HttpClient()
    staff.force_login(owner)
    participants_upload = tenant_reverse(tenant, "contracts:participants_upload", contract_id=contract.pk)

    # Redis up: a file is uploaded and checked by the worker; it will be completed while Redis is down.
    response = staff.post(participants_upload, {"file": csv_file(",Grace,Hopper,grace@example.com,,,STD,")})
    ready = ImportJob.objects.get()
    assert response.status_code == 302 and response["Location"] == tenant_reverse(
        tenant, "imports:detail", job_id=ready.pk
    )
    assert wait_for(lambda: ImportJob.objects.get(pk=ready.pk).status == ImportStatus.VALID), "not checked in time"

    on_redis.stop("shutdown")
    assert not on_redis.answers()
    visit = Visits()

    # Sign-in (its rate limit counts in the cache) and a staff page.
    person = HttpClient()
    signed_in = visit(
        "sign in", person.post, "/accounts/login/", {"username": owner.email, "password": DEFAULT_PASSWORD}
    )
    assert signed_in.status_code == 302
    assert "Outbox" in text(visit("staff home", person.get, tenant_reverse(tenant, "tenancy:home")))

    # Password reset: a platform email.
    reset = visit("password reset", HttpClient().post, "/accounts/password/reset/", {"email": owner.email})
    assert reset.status_code == 302

    # A booking with a code on the public page: the code is redeemed, the confirmation waits.
    booker = HttpClient()
    book = tenant_reverse(tenant, "book:start")
    assert visit("enter the code", booker.post, book, {"code": CODE}).status_code == 302
    times = visit("pick a time", booker.post, book + "times/", {"starts_at": tomorrow_at_ten.isoformat()})
    assert times.status_code == 302
    details = {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com", "phone": ""}
    booked = visit("book", booker.post, book + "details/", details)
    booking = Booking.objects.get(email="ada@example.com")
    assert booked.status_code == 302 and booked["Location"] == book + f"done/{booking.reference}/"
    assert "You are booked" in text(visit("booking done", booker.get, booked["Location"]))

    # A redemption through the API (its per-key rate limit counts in the cache).
    redeemed = visit(
        "API redeem",
        HttpClient().post,
        "/api/v1/codes/redeem/",
        {"code": API_CODE, "starts_at": tomorrow_at_ten.isoformat(), "first_name": "Grace", "last_name": "Hopper"}
        | {"email": "grace.api@example.com"},
        content_type="application/json",
        headers={"Authorization": f"Bearer {api_secret}"},
    )
    assert redeemed.status_code == 201, redeemed.content

    # A session checkout.
    buyer = HttpClient()
    added = visit("add to cart", buyer.post, tenant_reverse(tenant, "register:add", session_key=session.key))
    assert added.status_code == 302
    attendee = {"first_name": "Alan", "last_name": "Turing", "email": "alan@example.com"}
    checked_out = visit("checkout", buyer.post, tenant_reverse(tenant, "register:checkout"), attendee, follow=True)
    assert "You are registered" in text(checked_out)
    order = Order.objects.get(email="alan@example.com")

    # Staff invite someone to the session (an email with a private link).
    invited = visit(
        "invite to a session",
        person.post,
        tenant_reverse(tenant, "sessions:invite", session_id=session.pk),
        {"email": "new.person@example.com"},
        follow=True,
    )
    assert "Invitation sent to new.person@example.com" in text(invited)

    # An upload (its check waits) and "Complete Import" of the file checked before (its commit waits).
    uploaded = visit(
        "upload a file",
        person.post,
        participants_upload,
        {"file": csv_file(",Edsger,Dijkstra,edsger@example.com,,,STD,")},
    )
    waiting = ImportJob.objects.exclude(pk=ready.pk).get()
    assert uploaded["Location"] == tenant_reverse(tenant, "imports:detail", job_id=waiting.pk)
    assert "Checking every row" in text(visit("the upload's page", person.get, uploaded["Location"]))
    completed = visit("Complete Import", person.post, tenant_reverse(tenant, "imports:commit", job_id=ready.pk))
    assert "Importing" in text(visit("the import's page", person.get, completed["Location"]))
    assert visit("imports list", person.get, tenant_reverse(tenant, "imports:list")).status_code == 200
    outbox_page = text(visit("outbox", person.get, tenant_reverse(tenant, "messaging:outbox")))

    # What needed Redis waits in the database.
    emails = list(OutboundEmail.objects.order_by("pk"))
    assert sorted(e.template_key for e in emails) == [
        "accounts.password_reset",
        "bookings.booking_confirmation",
        "bookings.booking_confirmation",
        "sessions_roster.invitation",
        "sessions_roster.order_confirmation",
    ]
    assert {(e.status, e.attempts) for e in emails} == {(EmailStatus.QUEUED, 0)}
    assert outbox_page.count("badge-queued") == 4  # this workspace's four; the reset is the platform's
    assert mail_server.messages == []
    assert ImportJob.objects.get(pk=waiting.pk).status == ImportStatus.VALIDATING
    assert ImportJob.objects.get(pk=ready.pk).status == ImportStatus.COMMITTING
    assert not Participant.objects.filter(contract=contract).exists()
    # The redemptions and the order are there, whole.
    assert Redemption.objects.filter(code__in=[code, api_code]).count() == 2
    assert set(InvitationCode.objects.filter(pk__in=[code.pk, api_code.pk]).values_list("status", flat=True)) == {
        CodeStatus.USED_UP
    }
    assert order.registrations.count() == 1 and SessionInvitation.objects.filter(session=session).count() == 1

    # Redis back, empty (SHUTDOWN NOSAVE): nothing was kept in it; the database knows what is owed.
    on_redis.start()
    # resume_imports takes jobs idle for 10 minutes: rather than wait, they are made 11 minutes older.
    ImportJob.objects.filter(pk__in=[ready.pk, waiting.pk]).update(updated_at=timezone.now() - timedelta(minutes=11))
    for _ in range(2):  # beat asks again and again; asking twice must not send or import twice
        sweep_outbox.delay()
        resume_imports.delay()

    def done() -> bool:
        return (
            not OutboundEmail.objects.exclude(status=EmailStatus.SENT).exists()
            and ImportJob.objects.get(pk=ready.pk).status == ImportStatus.COMMITTED
            and ImportJob.objects.get(pk=waiting.pk).status == ImportStatus.VALID
        )

    assert wait_for(done, timeout=60), [(e.pk, e.template_key, e.status) for e in OutboundEmail.objects.all()]

    # The file that waited for its check is completed now, through its page.
    response = staff.post(tenant_reverse(tenant, "imports:commit", job_id=waiting.pk))
    assert response.status_code == 302
    assert wait_for(lambda: ImportJob.objects.get(pk=waiting.pk).status == ImportStatus.COMMITTED)

    # One more email, sent through the same worker after everything above: once it is out, every
    # task enqueued before it has run, so nothing more can arrive for the rows that waited.
    last = outbox.email_queue(
        tenant=tenant,
        to="last@example.com",
        key="tenancy.staff_invitation",
        context={"invited_by": "Olga", "role": "Staff", "accept_url": "http://x/", "expires_at": "soon"},
        idempotency_key="after-the-outage",
    )
    sweep_outbox.delay()
    assert wait_for(lambda: OutboundEmail.objects.get(pk=last.pk).status == EmailStatus.SENT)

    delivered = Counter(message["Message-ID"] for message in mail_server.messages)
    expected = {f"<outbox-{e.pk}@tessera.localhost>" for e in [*emails, last]}
    assert set(delivered) == expected and set(delivered.values()) == {1}  # none lost, none twice
    assert sorted(message["To"] for message in mail_server.messages) == sorted(
        [owner.email, "ada@example.com", "grace.api@example.com", "alan@example.com", "new.person@example.com"]
        + ["last@example.com"]
    )
    invitation = next(m for m in mail_server.messages if m["To"] == "new.person@example.com")
    assert "/register/invitation/" in invitation.get_body(("plain",)).get_content()  # the private link went out
    assert sorted(Participant.objects.filter(contract=contract).values_list("email", flat=True)) == [
        "edsger@example.com",
        "grace@example.com",
    ]
    assert InvitationCode.objects.filter(contract=contract, participant__isnull=False).count() == 2
    assert ContractEvent.objects.filter(contract=contract, kind=EventKind.IMPORT_COMMITTED).count() == 2
    assert "badge-queued" not in text(staff.get(tenant_reverse(tenant, "messaging:outbox")))
    print("while Redis was down:", ", ".join(f"{label} {seconds:.2f}s" for label, seconds in visit.timings))


def test_a_task_kept_by_redis_across_a_restart_and_the_sweepers_task_send_the_email_once(tenant, settings, capsys):
    """A Redis that snapshots its data keeps the send task of an email through a restart (SIGTERM);
    the sweeper, seeing the email overdue, has enqueued another one: two tasks, one email."""
    settings.OUTBOX_STALE_SECONDS = 1
    with RedisServer(keep_data=True) as server, SmtpServer() as mail_server, celery_broker(server.url(0)):
        email = queue_invitation(tenant, "kept-across-a-restart")  # no worker yet: its task waits in Redis
        OutboundEmail.objects.filter(pk=email.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=5))
        assert outbox.outbox_sweep() == 1  # overdue: enqueued a second time
        assert server.client().llen("celery") == 2

        server.stop("sigterm")
        server.start()
        assert server.client().llen("celery") == 2  # both tasks came back from the snapshot

        with running_worker(
            "faults-redis-kept",
            CELERY_BROKER_URL=server.url(0),
            CACHE_URL=server.url(1),
            EMAIL_URL=f"smtp://127.0.0.1:{mail_server.port}",
        ):
            client = server.client()
            # Acknowledged late, so a task leaves "unacked" only once it has run.
            assert wait_for(lambda: client.llen("celery") == 0 and client.hlen("unacked") == 0), "tasks not run"
            capsys.readouterr()
        worker_log = capsys.readouterr().out  # running_worker prints the worker's output when it stops

        # Both tasks ran: the first sent the email, the second found it sent.
        assert re.search(r"send_outbound_email\[[^]]+\] succeeded in [^:]+: 'sent'", worker_log), worker_log
        assert re.search(r"send_outbound_emails\[[^]]+\] succeeded in [^:]+: \{'skipped': 1\}", worker_log), worker_log
        email.refresh_from_db()
        assert (email.status, email.attempts) == (EmailStatus.SENT, 1)
        assert [m["Message-ID"] for m in mail_server.messages] == [f"<outbox-{email.pk}@tessera.localhost>"]


def test_with_only_the_cache_down_an_import_is_checked_and_committed_without_its_progress(tenant, owner, settings):
    """The cache can be a Redis of its own: with it gone and tasks still running (here in-process),
    a file is checked and imported all the same; its page shows the job's own figures."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{free_port()}/0",
        }
    }
    contract = ContractFactory(tenant=tenant, invitation_prefix="ACME")
    PriceFactory(contract=contract, price_code="STD")
    staff = HttpClient()
    staff.force_login(owner)

    uploaded = staff.post(
        tenant_reverse(tenant, "contracts:participants_upload", contract_id=contract.pk),
        {"file": csv_file(",Grace,Hopper,grace@example.com,,,STD,")},
    )
    job = ImportJob.objects.get()
    assert job.status == ImportStatus.VALID, job.failure
    assert "No problems found" in text(staff.get(uploaded["Location"]))
    staff.post(tenant_reverse(tenant, "imports:commit", job_id=job.pk))

    job.refresh_from_db()
    assert job.status == ImportStatus.COMMITTED, job.failure
    assert "Imported" in text(staff.get(uploaded["Location"]))
    assert list(Participant.objects.filter(contract=contract).values_list("email", flat=True)) == ["grace@example.com"]
