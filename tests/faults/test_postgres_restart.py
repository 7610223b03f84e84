"""PostgreSQL restarted (and stopped for a moment) under load, with the app served as deployed.

The app runs under gunicorn (sync workers, persistent database connections, Redis as the cache) on a
private PostgreSQL cluster (``postgres_cluster.py``: the shared server is never touched), migrated by
``manage.py migrate`` and connected as the app role that row-level security binds. Visitors in
threads book with codes and view pages while the database goes away. What they must see: a request
in flight gets the error page (500, no traceback, nothing saved) or succeeds; none hangs past the
client's timeout and gunicorn drops no connection; once PostgreSQL is back every request succeeds
again, from the same gunicorn workers (``CONN_HEALTH_CHECKS`` replaces their dead connections); and
no code is redeemed more times than its uses, no slot holds more than its capacity.
"""

import itertools
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest
import redis
import requests

from ..conftest import APP_ROLE
from .postgres_cluster import PostgresCluster

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("TEST_CELERY_BROKER_URL", "redis://127.0.0.1:6379/14")  # flushed, as the worker tests do
TIMEOUT = 10.0  # seconds a visitor waits for an answer
SLUG = "restart"
MAX_USES = 2
ATTEMPTS_PER_CODE = MAX_USES + 1  # one visitor more than a code has uses: some are refused as used up
VISITORS = 6
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
TIMES = re.compile(r'name="starts_at" value="([^"]+)"')
ERROR_PAGE = "Something went wrong on our side"  # templates/500.html
LEAKS = ("Traceback", "psycopg", "OperationalError", 'File "', "SELECT ", "/work/", "site-packages")
DETAILS = {"first_name": "Rita", "last_name": "Restart", "phone": "+31 20 123 4567"}

# The data, written by a subprocess on the private database ----------------------------------------


def seed() -> None:
    """Run inside ``manage.py shell`` on the private database: a workspace with a service open every
    day, a contract price and codes of two uses; prints the codes as JSON."""
    from invitations import codes as code_text
    from invitations.models import InvitationCode
    from tenancy.scoping import scopes_disabled
    from tests.factories import (
        CodeFactory,
        ContractFactory,
        PriceFactory,
        ServiceFactory,
        TenantFactory,
        open_every_day,
    )

    with scopes_disabled():
        tenant = TenantFactory(slug=SLUG, name="Restart Studio")
        service = open_every_day(ServiceFactory(tenant=tenant, name="Intro", duration_minutes=60), capacity=4)
        price = PriceFactory(contract=ContractFactory(tenant=tenant, invitation_prefix="RST"), service=service)
        texts = ["RST" + body for body in code_text.draw(400, 10)]
        InvitationCode.objects.bulk_create(
            CodeFactory.build(price=price, code=text, max_uses=MAX_USES) for text in texts
        )
    print(json.dumps(texts))


INVARIANTS = """
SELECT
  (SELECT count(*) FROM invitations_invitationcode WHERE uses > max_uses),
  (SELECT count(*) FROM invitations_invitationcode c WHERE c.uses <>
     (SELECT count(*) FROM invitations_redemption r WHERE r.code_id = c.id AND r.released_at IS NULL)),
  (SELECT count(*) FROM bookings_booking b WHERE b.status = 'confirmed'
     AND NOT EXISTS (SELECT 1 FROM invitations_redemption r WHERE r.booking_id = b.id)),
  (SELECT count(*) FROM bookings_slot s WHERE s.booked > s.capacity OR s.booked <>
     (SELECT count(*) FROM bookings_booking b WHERE b.slot_id = s.id AND b.status = 'confirmed')),
  (SELECT count(*) FROM bookings_booking WHERE status = 'confirmed')
"""


def invariants(url: str) -> dict:
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(INVARIANTS).fetchone()
    names = ("codes_over_used", "uses_not_redemptions", "bookings_without_redemption", "slots_wrong", "bookings")
    return dict(zip(names, row, strict=True))


# The server ---------------------------------------------------------------------------------------


@dataclass
class App:
    base: str
    gunicorn: subprocess.Popen
    cluster: PostgresCluster
    database_url: str
    codes: list[str]
    log: Path
    migrate_seconds: float

    def worker_pids(self) -> set[int]:
        return set(map(int, Path(f"/proc/{self.gunicorn.pid}/task/{self.gunicorn.pid}/children").read_text().split()))


def _run(command: list[str], env: dict, timeout: float) -> str:
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"{' '.join(command[:4])} failed:\n{result.stdout[-2000:]}{result.stderr[-3000:]}"
    return result.stdout


@pytest.fixture(scope="module")
def app():
    cache = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        cache.ping()
    except redis.exceptions.ConnectionError as exc:
        pytest.fail(f"Redis is not answering at {REDIS_URL} ({exc}).")
    with PostgresCluster() as cluster:
        cluster.psql("CREATE DATABASE tessera")
        database_url = cluster.url("tessera")
        env = {
            **os.environ,
            "ENV_FILE": os.devnull,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DATABASE_URL": database_url,
            "SECRET_KEY": "restart-test",
            "STATIC_ROOT": str(cluster.root / "static"),
            "CACHE_URL": REDIS_URL,
            "CELERY_BROKER_URL": REDIS_URL,  # emails are only queued: no worker runs here
            "CONN_MAX_AGE": "60",  # persistent connections, as a deployment keeps them
            "CLIENT_IP_HEADER": "HTTP_X_FORWARDED_FOR",  # each visitor its own address (rate limits)
            "SECURE_COOKIES": "0",
            "DEBUG": "0",
            "LOG_LEVEL": "WARNING",
        }
        started = time.monotonic()
        _run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], env, timeout=120)
        migrate_seconds = time.monotonic() - started
        code = "from tests.faults.test_postgres_restart import seed; seed()"
        codes = json.loads(_run([sys.executable, "manage.py", "shell", "-c", code], env, 60).strip().splitlines()[-1])
        _run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], env, timeout=60)
        if APP_ROLE:  # the app as deployed: a role that row-level security binds (docs/operations.md)
            _run([sys.executable, "manage.py", "grant_app_role", APP_ROLE], env, timeout=60)
            env["DATABASE_URL"] = cluster.url("tessera", user=APP_ROLE)
        cache.flushdb()
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        base = f"http://127.0.0.1:{listener.getsockname()[1]}"
        log = cluster.root / "gunicorn.log"
        command = [sys.executable, "-m", "gunicorn", "config.wsgi", "--bind", f"fd://{listener.fileno()}"]
        command += ["--workers", "3", "--timeout", "30", "--graceful-timeout", "5", "--error-logfile", str(log)]
        with open(log, "ab") as output:
            server = subprocess.Popen(
                command,
                cwd=ROOT,
                env=env,
                pass_fds=[listener.fileno()],
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        listener.close()
        try:
            app = App(base, server, cluster, database_url, codes, log, migrate_seconds)
            assert poll(lambda: _answers(app.base + f"/t/{SLUG}/book/"), timeout=30), log.read_text()[-3000:]
            yield app
        finally:
            _stop(server)
            print(f"--- gunicorn (migrate took {migrate_seconds:.1f} s) ---\n{log.read_text(errors='replace')[-4000:]}")
            cache.flushdb()


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def poll(predicate, timeout: float, interval: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False


# The visitors -------------------------------------------------------------------------------------


@dataclass
class Answer:
    kind: str
    started: float
    ended: float
    status: int = 0  # 0: no HTTP answer at all (refused, reset, timed out)
    error: str = ""
    body: str = ""  # kept for server errors

    @property
    def seconds(self) -> float:
        return self.ended - self.started


@dataclass
class Load:
    """Visitors booking with codes (each code offered to one visitor more than its uses) and one
    reading the start page, in threads, until ``stop`` is set."""

    app: App
    answers: list[Answer] = field(default_factory=list)
    booked: list[tuple[float, str]] = field(default_factory=list)  # (when, email) of confirmed bookings seen
    stop: threading.Event = field(default_factory=threading.Event)
    handed: itertools.count = field(default_factory=itertools.count)

    def __post_init__(self):
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.visitor, args=(n,), daemon=True) for n in range(VISITORS)]
        self.threads.append(threading.Thread(target=self.reader, daemon=True))

    def __enter__(self):
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=TIMEOUT + 5)
        assert not any(thread.is_alive() for thread in self.threads), "a visitor is still waiting"

    def send(self, session, kind: str, method: str, path: str, **options):
        started = time.monotonic()
        try:
            response = session.request(method, self.app.base + path, timeout=TIMEOUT, allow_redirects=False, **options)
        except requests.RequestException as exc:
            with self.lock:
                self.answers.append(Answer(kind, started, time.monotonic(), error=type(exc).__name__))
            return None
        answer = Answer(kind, started, time.monotonic(), response.status_code)
        if response.status_code not in (200, 302):
            answer.body = response.text
        with self.lock:
            self.answers.append(answer)
        return response if response.status_code < 500 else None

    def visitor(self, index: int) -> None:
        for flow in itertools.count():
            if self.stop.is_set():
                return
            session = requests.Session()
            session.headers["X-Forwarded-For"] = f"10.{index}.{flow // 250 % 250}.{flow % 250}"
            self.book(session, f"visitor{index}-{flow}@restart.example")

    def book(self, session, email: str) -> None:
        """One booking; given up at the first answer that is not the next page (counted in ``answers``)."""
        start = f"/t/{SLUG}/book/"
        page = self.send(session, "start GET", "GET", start)
        token = _token(page)
        if token is None:
            return
        code = self.app.codes[next(self.handed) // ATTEMPTS_PER_CODE % len(self.app.codes)]
        answer = self.send(session, "code POST", "POST", start, data={"csrfmiddlewaretoken": token, "code": code})
        if answer is None or answer.status_code != 302:  # 200: used up meanwhile
            return
        page = self.send(session, "times GET", "GET", start + "times/")
        token, offered = _token(page), TIMES.findall(page.text) if page is not None else []
        if token is None or not offered:
            return
        form = {"csrfmiddlewaretoken": token, "starts_at": random.choice(offered)}
        answer = self.send(session, "time POST", "POST", start + "times/", data=form)
        if answer is None or not answer.headers.get("Location", "").endswith("/details/"):
            return
        token = _token(self.send(session, "details GET", "GET", start + "details/"))
        if token is None:
            return
        form = {**DETAILS, "csrfmiddlewaretoken": token, "email": email}
        answer = self.send(session, "details POST", "POST", start + "details/", data=form)
        if answer is not None and "/done/" in answer.headers.get("Location", ""):
            with self.lock:
                self.booked.append((time.monotonic(), email))
            self.send(session, "done GET", "GET", answer.headers["Location"])

    def reader(self) -> None:
        session = requests.Session()
        while not self.stop.is_set():
            self.send(session, "page GET", "GET", f"/t/{SLUG}/book/")
            time.sleep(0.02)  # a page a little less often than a visitor, so bookings get the server

    def booked_after(self, moment: float) -> int:
        with self.lock:
            return sum(when > moment for when, _ in self.booked)


def _token(page) -> str | None:
    found = CSRF.search(page.text) if page is not None and page.status_code == 200 else None
    return found[1] if found else None


def assert_clean(answers: list[Answer]) -> None:
    """Every request answered, in time, with a page or the error page and nothing of the server's insides."""
    unanswered = [(a.kind, a.error, round(a.seconds, 1)) for a in answers if not a.status]
    assert unanswered == [], f"requests without an answer: {unanswered[:10]}"
    assert max(a.seconds for a in answers) < TIMEOUT
    odd = [(a.kind, a.status, a.body[:3000]) for a in answers if a.status not in (200, 302, 500)]
    assert odd == [], odd[:3]
    for answer in (a for a in answers if a.status == 500):
        assert ERROR_PAGE in answer.body, answer.body[:500]
        assert not [leak for leak in LEAKS if leak in answer.body], answer.body[:2000]


def assert_invariants(app: App, load: Load, *, before: int, also_booked: int = 0) -> dict:
    """The invariants hold; the bookings made during the load are those the visitors saw made (and
    ``also_booked`` made outside it), give or take one whose commit went through just as the
    connection died, so that its visitor saw the error page: never one that was not asked for."""
    found = invariants(app.database_url)
    assert found["codes_over_used"] == 0
    assert found["uses_not_redemptions"] == 0
    assert found["bookings_without_redemption"] == 0
    assert found["slots_wrong"] == 0
    made, seen = found["bookings"] - before, len(load.booked) + also_booked
    failed = sum(a.status == 500 and a.kind == "details POST" for a in load.answers)
    assert seen <= made <= seen + failed, (seen, made, failed)
    found["bookings"] = made
    return found


def figures(name: str, load: Load, **more) -> None:
    statuses = {}
    for answer in load.answers:
        statuses[answer.status] = statuses.get(answer.status, 0) + 1
    slowest = max(a.seconds for a in load.answers)
    print(
        f"{name}: {len(load.answers)} requests {statuses}, {len(load.booked)} bookings, slowest {slowest:.2f} s", more
    )


# The faults ---------------------------------------------------------------------------------------


def waiting_for(url: str, holder: int) -> int:
    """How many sessions wait for a lock the session ``holder`` (a backend pid) holds."""
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE %s = ANY(pg_blocking_pids(pid))", [holder]
        ).fetchone()[0]


def uses_of(url: str, code: str) -> int:
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute("SELECT uses FROM invitations_invitationcode WHERE code = %s", [code]).fetchone()[0]


class Person:
    """One visitor going through the booking pages step by step."""

    def __init__(self, app: App, address: str):
        self.app = app
        self.http = requests.Session()
        self.http.headers["X-Forwarded-For"] = address

    def url(self, step: str = "") -> str:
        return self.app.base + self.path(step)

    def path(self, step: str = "") -> str:
        return f"/t/{SLUG}/book/{step}"

    def form(self, step: str, **values) -> dict:
        page = self.http.get(self.url(step), timeout=TIMEOUT)
        assert page.status_code == 200 and page.url == self.url(step), (page.status_code, page.url)
        return {"csrfmiddlewaretoken": CSRF.search(page.text)[1], **values}

    def post(self, step: str, form: dict) -> requests.Response:
        return self.http.post(self.url(step), data=form, timeout=TIMEOUT, allow_redirects=False)

    def up_to_the_times(self, code: str) -> dict:
        """Enter the code; the form choosing the first time offered."""
        assert self.post("", self.form("", code=code)).status_code == 302
        page = self.http.get(self.url("times/"), timeout=TIMEOUT)
        return {"csrfmiddlewaretoken": CSRF.search(page.text)[1], "starts_at": TIMES.findall(page.text)[0]}

    def up_to_the_details(self, code: str, email: str) -> dict:
        assert self.post("times/", self.up_to_the_times(code)).headers["Location"] == self.path("details/")
        return self.form("details/", **DETAILS, email=email)


def test_a_restart_under_load_fails_requests_in_flight_cleanly_and_the_app_recovers_by_itself(app):
    workers, before = app.worker_pids(), invariants(app.database_url)["bookings"]
    # Two requests are held in flight by row locks the test takes: a booking waiting for its code's
    # row (the redemption), and a choice of time waiting for its session's row (the session save).
    booking, booking_code = Person(app, "10.200.0.1"), app.codes.pop()
    booking_form = booking.up_to_the_details(booking_code, "held@restart.example")
    choice = Person(app, "10.200.0.2")
    choice_form = choice.up_to_the_times(app.codes.pop())
    held = {}

    def send(name, person, step, form):
        started = time.monotonic()
        response = person.post(step, form)
        held[name] = (response.status_code, response.text, time.monotonic() - started)

    threads = [
        threading.Thread(target=send, args=("booking", booking, "details/", booking_form), daemon=True),
        threading.Thread(target=send, args=("choice", choice, "times/", choice_form), daemon=True),
    ]
    locks = psycopg.connect(app.database_url)
    try:
        with Load(app) as load:
            assert poll(lambda: len(load.booked) >= 10, timeout=30), "the load did not get going"
            locks.execute("SELECT 1 FROM invitations_invitationcode WHERE code = %s FOR UPDATE", [booking_code])
            session_key = choice.http.cookies["sessionid"]
            locks.execute("SELECT 1 FROM django_session WHERE session_key = %s FOR UPDATE", [session_key])
            for thread in threads:
                thread.start()
            holder = locks.info.backend_pid
            assert poll(lambda: waiting_for(app.database_url, holder) == 2, timeout=10), "the requests did not wait"

            restart_began = time.monotonic()
            restart_seconds = app.cluster.restart("fast")
            restart_ended = time.monotonic()

            assert poll(lambda: load.booked_after(restart_ended) >= 10, timeout=30), "no bookings after the restart"
        for thread in threads:
            thread.join(timeout=TIMEOUT + 5)
    finally:
        locks.close()

    # The requests in flight: the error page at once with nothing saved, then sent again they go
    # through; or done whole, when the fast shutdown ended the lock holder first and the waiting
    # statement committed before its own end came (seen once in CI). Never a hang, a leak or half.
    for name, (status, body, seconds) in held.items():
        assert (status == 500 and ERROR_PAGE in body) or status == 302, (name, status, body[:1000])
        assert not [leak for leak in LEAKS if leak in body] and seconds < TIMEOUT
    assert sorted(held) == ["booking", "choice"]
    if held["booking"][0] == 500:
        assert uses_of(app.database_url, booking_code) == 0
        assert booking.post("details/", booking_form).headers["Location"].startswith(booking.path("done/"))
    assert uses_of(app.database_url, booking_code) == 1
    if held["choice"][0] == 500:
        assert choice.post("times/", choice_form).headers["Location"] == choice.path("details/")

    assert_clean(load.answers)
    after = [a for a in load.answers if a.started > restart_ended]
    assert after and all(a.status in (200, 302) for a in after), [(a.kind, a.status) for a in after if a.status >= 500]
    during = [a for a in load.answers if a.started < restart_ended and a.ended > restart_began]
    assert app.gunicorn.poll() is None and app.worker_pids() == workers  # the same server, the same workers
    assert "OperationalError" in app.log.read_text(errors="replace")  # the operator's log says why
    found = assert_invariants(app, load, before=before, also_booked=1)
    figures(
        "restart",
        load,
        restart_seconds=round(restart_seconds, 2),
        overlapping=len(during),
        failed_during=sum(a.status == 500 for a in during),
        after=len(after),
        migrate_seconds=round(app.migrate_seconds, 1),
        **found,
    )


def test_while_postgresql_is_down_every_request_gets_the_error_page_at_once_and_none_after(app):
    workers, before = app.worker_pids(), invariants(app.database_url)["bookings"]
    with Load(app) as load:
        assert poll(lambda: len(load.booked) >= 5, timeout=30), "the load did not get going"
        app.cluster.stop("fast")
        stopped = time.monotonic()
        try:
            assert poll(lambda: sum(a.started > stopped and a.status == 500 for a in load.answers) >= 20, timeout=15)
        finally:
            starting = time.monotonic()
            app.cluster.start()
        back = time.monotonic()
        assert poll(lambda: load.booked_after(back) >= 5, timeout=30), "no bookings after PostgreSQL came back"

    assert_clean(load.answers)
    down = [a for a in load.answers if a.started > stopped and a.ended < starting]
    assert down and all(a.status == 500 for a in down), {a.status for a in down}
    assert max(a.seconds for a in down) < 2.0  # refused at once, not after the timeout
    after = [a for a in load.answers if a.started > back]
    assert after and all(a.status in (200, 302) for a in after), [(a.kind, a.status) for a in after if a.status >= 500]
    assert app.gunicorn.poll() is None and app.worker_pids() == workers
    found = assert_invariants(app, load, before=before)
    figures("stopped", load, down=len(down), down_slowest=round(max(a.seconds for a in down), 3), **found)


def burst(app: App, count: int = 30) -> list[int]:
    """``count`` page views, six at a time: every gunicorn worker gets some."""
    from concurrent.futures import ThreadPoolExecutor

    def view(n):
        try:
            return requests.get(f"{app.base}/t/{SLUG}/book/", timeout=TIMEOUT).status_code
        except requests.RequestException as exc:
            return type(exc).__name__

    with ThreadPoolExecutor(6) as pool:
        return list(pool.map(view, range(count)))


def app_connections(url: str) -> int:
    """Sessions of the app's role (the test's own connect as the owner)."""
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND usename = %s",
            [APP_ROLE or "postgres"],
        ).fetchone()[0]


def test_after_a_restart_while_idle_the_first_request_of_every_worker_succeeds(app):
    """Each gunicorn worker keeps its connection (``CONN_MAX_AGE``); a restart with no request
    running kills them all unnoticed. The health check at each request's first query replaces
    a dead one, so no visitor gets the error page for it."""
    workers = app.worker_pids()
    assert set(burst(app)) == {200}
    assert app_connections(app.database_url) >= len(workers)  # one per worker, kept between requests

    app.cluster.restart("fast")

    answers = burst(app)
    assert answers == [200] * len(answers), answers
    assert app.worker_pids() == workers
