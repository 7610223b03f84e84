"""The load generator of the HTTP scenarios, run as its own process:

    python -m bench.loadgen --base http://127.0.0.1:PORT --clients 50 --seconds 30 constant
    python -m bench.loadgen --base … --tenant bench-http --codes codes.json [--rate 300] flow

It prints one JSON object: requests a second, latency percentiles (per request, per kind of request,
per completed booking), how each flow ended, and the errors (any 5xx, connection error, timeout or
unexpected page). Only loopback addresses are accepted.

Why a small asyncio HTTP/1.1 client of our own rather than wrk or aiohttp: the redeem-and-book flow
is stateful per visitor (a cookie jar, the CSRF token of each form, the times offered on the page,
redirects to follow), which wrk's per-thread Lua hooks cannot keep per connection; wrk has no open
loop either (wrk2 is not in Debian). The client is the standard library only, so it adds no
dependency and costs little CPU per request, which matters on two cores shared with the server.

Closed loop (no ``--rate``): each client sends its next request as soon as the previous answer
arrived, so the figure is the server's saturation throughput. Open loop (``--rate R``): the clients
together offer R requests a second, client i's requests due at ``start + i/R + k·clients/R``; a
request sent late because the previous one was slow is timed from when it was due (as wrk2 does),
so queueing shows in the latency instead of silently lowering the offered rate.
"""

import argparse
import asyncio
import ipaddress
import json
import math
import random
import re
import sys
import time
import urllib.parse
from collections import Counter
from dataclasses import dataclass, field

TIMEOUT = 10.0  # seconds a request may take before it counts as an error
CSRF = re.compile(rb'name="csrfmiddlewaretoken" value="([^"]+)"')
TIMES = re.compile(rb'name="starts_at" value="([^"]+)"')
CODE_ERROR = re.compile(rb'<p class="field-error" id="id_code_error">(.*?)</p>', re.S)
DETAILS = {"first_name": "Bench", "last_name": "Visitor", "phone": "+31 20 123 4567"}


class Unexpected(Exception):
    """A response the flow cannot continue from: an error, already counted."""


class Deadline(Exception):
    """The run is over: the flow is abandoned where it is, nothing more is sent."""


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    cookies: list[str]
    body: bytes
    closes: bool

    @property
    def location(self) -> str:
        return urllib.parse.urlsplit(self.headers.get("location", "")).path


class Connection:
    """One keep-alive HTTP/1.1 connection, reopened when the server closes it."""

    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self.reader = self.writer = None

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None

    async def request(self, method: str, target: str, headers: dict[str, str], body: bytes = b"") -> Response:
        reused = self.writer is not None
        try:
            return await self._exchange(method, target, headers, body)
        except (ConnectionError, asyncio.IncompleteReadError) as exc:
            self.close()
            # A kept-alive connection the server had already closed: nothing was processed, send again.
            if reused and (not isinstance(exc, asyncio.IncompleteReadError) or not exc.partial):
                return await self._exchange(method, target, headers, body)
            raise

    async def _exchange(self, method, target, headers, body) -> Response:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        lines = [f"{method} {target} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        if method == "POST":
            if "Content-Type" not in headers:
                lines.append("Content-Type: application/x-www-form-urlencoded")
            lines.append(f"Content-Length: {len(body)}")
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        version, status = status_line.split(" ", 2)[:2]
        found, cookies = {}, []
        for line in filter(None, header_lines):
            name, _, value = line.partition(":")
            name, value = name.strip().lower(), value.strip()
            if name == "set-cookie":
                cookies.append(value)
            else:
                found[name] = value
        if "content-length" in found:
            content = await self.reader.readexactly(int(found["content-length"]))
        elif found.get("transfer-encoding", "").lower() == "chunked":
            content = await self._chunks()
        else:
            content = await self.reader.read()
            found["connection"] = "close"
        closes = found.get("connection", "").lower() == "close" or version == "HTTP/1.0"
        if closes:
            self.close()
        return Response(int(status), found, cookies, content, closes)

    async def _chunks(self) -> bytes:
        parts = []
        while True:
            size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if not size:
                await self.reader.readuntil(b"\r\n")
                return b"".join(parts)
            parts.append(await self.reader.readexactly(size))
            await self.reader.readexactly(2)


@dataclass
class Stats:
    """Everything recorded during the measured window (requests due after the warm-up)."""

    latencies: dict[str, list[float]] = field(default_factory=dict)  # per kind of request, ms
    flows: list[float] = field(default_factory=list)  # completed bookings, ms from first due to last answer
    outcomes: Counter = field(default_factory=Counter)  # every flow, warm-up included
    errors: Counter = field(default_factory=Counter)
    statuses: Counter = field(default_factory=Counter)
    connection_errors: int = 0  # refused, reset, timed out, unreadable
    unsent: int = 0  # open loop: requests due before the deadline that were never sent
    answered: int = 0  # every answer, warm-up included
    first_due: float = float("inf")
    last_done: float = 0.0
    # mixed: (seconds after the warm-up, latency ms) of each measured request, and when each error happened
    timed: list[tuple[float, float]] = field(default_factory=list)
    error_times: list[float] = field(default_factory=list)


class Run:
    def __init__(self, args):
        self.args = args
        parts = urllib.parse.urlsplit(args.base)
        self.host, self.port = parts.hostname, parts.port or 80
        self.stats = Stats()
        self.codes: list[str] = []
        self.attempts_per_code = 1
        self.spec: dict = {}
        if args.codes:
            with open(args.codes) as handle:
                spec = json.load(handle)
            self.codes, self.attempts_per_code = spec["codes"], spec["attempts_per_code"]
        if args.spec:  # mixed: the whole description of the run, codes included
            with open(args.spec) as handle:
                self.spec = json.load(handle)
            self.codes, self.attempts_per_code = self.spec["codes"], self.spec["attempts_per_code"]
            args.tenant, args.used_up_text = self.spec["tenant"], self.spec["used_up_text"]
        self.imports: list[dict] = []  # mixed: each import seen committed, {"job": path, "rows": n}
        self.role_flows: dict[str, list[float]] = {}  # mixed: ms of each completed flow, per role
        self.handed = 0
        self.started = time.perf_counter()
        self.measure_from = self.started + args.warmup
        self.deadline = self.measure_from + args.seconds

    def next_code(self) -> str:
        """Each code goes to ``attempts_per_code`` visitors in a row, so they race for its uses."""
        code = self.codes[(self.handed // self.attempts_per_code) % len(self.codes)]
        self.handed += 1
        return code


class Visitor:
    """One simulated client: its own connection and schedule; a fresh person (cookie jar, address)
    for every flow, as 50 people booking from 50 places would be."""

    def __init__(self, run: Run, index: int):
        self.run, self.index = run, index
        self.connection = Connection(run.host, run.port)
        rate = run.args.rate
        self.interval = run.args.clients / rate if rate else 0.0
        self.due = run.started + index / rate if rate else 0.0
        self.jar: dict[str, str] = {}
        self.address = ""
        self.flows = 0
        self.prefix = ""  # mixed: the role, before each kind of request and outcome

    def new_person(self) -> None:
        self.jar = {}
        self.flows += 1
        self.address = f"10.{self.index % 256}.{(self.flows >> 8) % 256}.{self.flows % 256}"

    async def when_due(self) -> float:
        """The moment the next request is due (open loop: its slot; closed loop: now)."""
        if not self.interval:
            return time.perf_counter()
        due, self.due = self.due, self.due + self.interval
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        return due

    def over(self) -> bool:
        """The run ends at its deadline in real time, and in an open loop also when the next request
        would be due after it. Requests due but not sent by then (the server was behind) are counted."""
        if time.perf_counter() >= self.run.deadline:
            if self.interval and self.due < self.run.deadline:
                self.run.stats.unsent += math.ceil((self.run.deadline - self.due) / self.interval)
                self.due = self.run.deadline
            return True
        return bool(self.interval) and self.due >= self.run.deadline

    def fail(self, key: str) -> None:
        """Count an error (an answer the flow cannot go on from) and when it happened."""
        self.run.stats.errors[key] += 1
        self.run.stats.error_times.append(time.perf_counter() - self.run.measure_from)

    async def send(
        self, kind: str, method: str, path: str, form: dict | None = None, *, body: bytes = b"", content_type: str = ""
    ) -> Response:
        if self.over():
            raise Deadline
        due = await self.when_due()
        headers = {"X-Forwarded-For": self.address}
        if self.jar:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.jar.items())
        if content_type:
            headers["Content-Type"] = content_type
        if form is not None:
            body = urllib.parse.urlencode(form).encode()
        stats = self.run.stats
        try:
            response = await asyncio.wait_for(self.connection.request(method, path, headers, body), TIMEOUT)
        except (OSError, asyncio.IncompleteReadError, TimeoutError, ValueError) as exc:
            self.connection.close()
            self.fail(f"{kind}: {type(exc).__name__}")
            stats.connection_errors += 1
            raise Unexpected from None
        done = time.perf_counter()
        stats.answered += 1
        if due >= self.run.measure_from:
            stats.latencies.setdefault(kind, []).append((done - due) * 1000)
            stats.statuses[response.status] += 1
            stats.first_due = min(stats.first_due, due)
            stats.last_done = max(stats.last_done, done)
            if self.run.args.scenario == "mixed":
                stats.timed.append((done - self.run.measure_from, (done - due) * 1000))
        for cookie in response.cookies:
            pair, _, attributes = cookie.partition(";")
            name, _, value = pair.strip().partition("=")
            if "max-age=0" in attributes.lower().replace(" ", ""):
                self.jar.pop(name, None)
            else:
                self.jar[name] = value
        if response.status >= 500:
            self.fail(f"{kind}: HTTP {response.status}")
            raise Unexpected
        return response

    def expect(self, response: Response, kind: str, status: int, location: str | None = None) -> None:
        if response.status != status or (location is not None and not response.location.startswith(location)):
            self.fail(f"{kind}: HTTP {response.status} {response.location}".strip())
            raise Unexpected

    def token(self, response: Response, kind: str) -> str:
        found = CSRF.search(response.body)
        if not found:
            self.fail(f"{kind}: no form")
            raise Unexpected
        return found[1].decode()

    async def constant(self) -> tuple[str, float]:
        response = await self.send("constant", "GET", self.run.args.path)
        self.expect(response, "constant", 200)
        return "done", 0.0

    async def book(self) -> tuple[str, float]:
        """Enter a code, pick a time, give details, book, see the confirmation; returns the outcome."""
        base = f"/t/{self.run.args.tenant}/book/"
        first = self.due if self.interval else time.perf_counter()
        page = await self.send("start GET", "GET", base)
        self.expect(page, "start GET", 200)
        answer = await self.send(
            "code POST",
            "POST",
            base,
            {"csrfmiddlewaretoken": self.token(page, "start GET"), "code": self.run.next_code()},
        )
        if answer.status == 200:
            refusal = CODE_ERROR.search(answer.body)
            reason = refusal[1].decode() if refusal else ""
            if reason == self.run.args.used_up_text:
                return "used_up", 0.0
            self.fail(f"{self.prefix}code POST: refused: {reason[:60]}")
            raise Unexpected
        self.expect(answer, "code POST", 302, base + "times/")
        for _ in range(3):  # a time taken meanwhile sends the visitor back to pick another
            page = await self.send("times GET", "GET", base + "times/")
            if page.status == 302 and page.location == base:
                return await self.sent_back(base, "times GET")
            self.expect(page, "times GET", 200)
            offered = TIMES.findall(page.body)
            if not offered:
                return "no_times", 0.0
            form = {
                "csrfmiddlewaretoken": self.token(page, "times GET"),
                "starts_at": random.choice(offered).decode(),
            }
            answer = await self.send("time POST", "POST", base + "times/", form)
            if answer.status == 200:  # the time filled up between the page and the click
                self.run.stats.outcomes[self.prefix + "time_taken_retry"] += 1
                continue
            if answer.status == 302 and answer.location == base:
                return await self.sent_back(base, "time POST")
            self.expect(answer, "time POST", 302, base + "details/")
            page = await self.send("details GET", "GET", base + "details/")
            if page.status == 302 and page.location == base:
                return await self.sent_back(base, "details GET")
            self.expect(page, "details GET", 200)
            form = {
                **DETAILS,
                "csrfmiddlewaretoken": self.token(page, "details GET"),
                "email": f"visitor{self.index}-{self.flows}@bench.example",
            }
            answer = await self.send("details POST", "POST", base + "details/", form)
            self.expect(answer, "details POST", 302)
            if answer.location.startswith(base + "done/"):
                # Booked (committed) from here on, even if the run ends before the confirmation page.
                self.run.stats.outcomes[self.prefix + "booked"] += 1
                page = await self.send("done GET", "GET", answer.location)
                self.expect(page, "done GET", 200)
                return "booked", (time.perf_counter() - first) * 1000
            if answer.location == base + "times/":  # the last place went meanwhile
                self.run.stats.outcomes[self.prefix + "slot_full_retry"] += 1
                continue
            self.expect(answer, "details POST", 302, base)
            return await self.sent_back(base, "details POST")
        return "gave_up", 0.0

    async def sent_back(self, base: str, step: str) -> tuple[str, float]:
        """A step sent the visitor back to the start: right only when the code was used up meanwhile
        (by the other visitors given the same code), which the start page then says."""
        page = await self.send("start GET", "GET", base)
        if self.run.args.used_up_text.encode() in page.body:
            return "used_up_at_booking", 0.0
        self.fail(f"{self.prefix}{step}: sent back without the used-up message")
        raise Unexpected

    async def loop(self) -> None:
        flow = self.book if self.run.args.scenario == "flow" else self.constant
        stats = self.run.stats
        while not self.over():
            self.new_person()
            due = self.due if self.interval else time.perf_counter()
            try:
                outcome, flow_ms = await flow()
            except Deadline:
                stats.outcomes["abandoned_at_deadline"] += 1
                return
            except Unexpected:
                stats.outcomes["error"] += 1
                continue
            if outcome == "booked":
                if due >= self.run.measure_from:
                    stats.flows.append(flow_ms)
            else:
                stats.outcomes[outcome] += 1
        self.connection.close()


# The mixed scenario (bench/soak.py) ----------------------------------------------------------------

SESSION_LINK = re.compile(rb'href="(/t/[^/"]+/register/s/[^/"]+/)"')
EXPECTED_TOTAL = re.compile(rb'name="expected_total" value="([^"]*)"')
CANCEL_LINK = re.compile(rb'href="(/t/[^/"]+/sessions/\d+/(?:invitations|registrations)/\d+/cancel/)"')
FREE_SEAT_LINK = re.compile(rb'href="(/t/[^/"]+/account/seats/\d+/(?:learners/\d+/remove|invitations/\d+/withdraw)/)"')
JOB_STATUS = re.compile(rb'<h1>.*?<span class="badge badge-\w+">([^<]*)</span>', re.S)
IMPORT_LINK = re.compile(r"^/t/[^/]+/imports/\d+/$")
FORM_ERROR = re.compile(rb"<(?:p|li)[^>]*>([^<]*(?:filled up|left in this order|full)[^<]*)<", re.I)
SIGNED_IN_ROLES = {"staff_pages": "staff", "staff_invite": "staff", "import": "staff", "seats": "buyer"}
IMPORT_WAIT = 90.0  # seconds an import may take to be checked, and again to be committed
IMPORT_POLL = 0.5  # seconds between two looks at the import's page, as its own refresh would


def multipart(fields: dict[str, str], files: dict[str, tuple[str, bytes]]) -> tuple[bytes, str]:
    """A multipart/form-data body (a form with a file) and its content type."""
    boundary = f"soak{random.getrandbits(64):016x}"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    for name, (filename, content) in files.items():
        head = f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
        parts.append(head.encode() + b"Content-Type: text/csv\r\n\r\n" + content + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


class MixedVisitor(Visitor):
    """One person of the soak in one role, pausing a random think time before each request:

    - book: the redeem-and-book flow (``Visitor.book``), a fresh person each time;
    - register: a public session: the listing, a session, add to cart, checkout, the order page; a
      full session's waitlist instead; a fresh person each time;
    - staff_pages: a signed-in staff member opening dashboard pages;
    - staff_invite: staff inviting someone to a session by email; every third time cancelling a
      pending invitation or a registration from the roster instead (the spot goes to the waitlist);
    - import: staff uploading a small participants CSV, waiting for the check, completing the import
      and waiting until it is imported;
    - seats: the buyer of a seat order giving a seat to a new learner, or emailing an invitation to
      one; when no seat is left, removing a learner or withdrawing an invitation.

    Refusals the app is meant to give (a code used up, a session or order full) are outcomes; only
    a 5xx, a connection error or timeout, or a page the flow does not expect is an error."""

    def __init__(self, run: Run, index: int, role: str):
        super().__init__(run, index)
        self.role, self.prefix = role, f"{role}: "
        self.think = run.spec["think"].get(role, run.spec["think"]["default"])
        self.signed_in = False
        self.base = f"/t/{run.spec['tenant']}"

    def new_person(self) -> None:
        if self.role in SIGNED_IN_ROLES:  # the same person, signed in, from the same place
            self.flows += 1
            self.address = self.address or f"10.200.{self.index // 256}.{self.index % 256}"
            return
        super().new_person()

    async def pause(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, min(seconds, self.run.deadline - time.perf_counter())))

    def named(self, kind: str) -> str:
        """The kind of request with the role before it: figures are per role and kind."""
        return self.prefix + kind

    async def send(self, kind, method, path, form=None, *, think: bool = True, **body) -> Response:
        if think:
            await self.pause(random.uniform(*self.think))
        return await super().send(self.named(kind), method, path, form, **body)

    def expect(self, response: Response, kind: str, status: int, location: str | None = None) -> None:
        super().expect(response, self.named(kind), status, location)

    def token(self, response: Response, kind: str) -> str:
        return super().token(response, self.named(kind))

    def refused(self, kind: str, response: Response) -> None:
        found = FORM_ERROR.search(response.body)
        self.fail(f"{self.prefix}{kind}: refused: {found[1].decode()[:60] if found else response.status}")
        raise Unexpected

    async def sign_in(self) -> None:
        who = self.run.spec[SIGNED_IN_ROLES[self.role]]
        page = await self.send("sign-in GET", "GET", "/accounts/login/")
        self.expect(page, "sign-in GET", 200)
        form = {"csrfmiddlewaretoken": self.token(page, "sign-in GET"), **who}
        answer = await self.send("sign-in POST", "POST", "/accounts/login/", form)
        self.expect(answer, "sign-in POST", 302)
        self.signed_in = True

    async def register(self) -> tuple[str, float]:
        first = time.perf_counter()
        listing = f"{self.base}/register/"
        page = await self.send("listing GET", "GET", listing)
        self.expect(page, "listing GET", 200)
        links = SESSION_LINK.findall(page.body)
        if not links:
            return "no_sessions", 0.0
        session = random.choice(links).decode()
        page = await self.send("session GET", "GET", session)
        self.expect(page, "session GET", 200)
        person = {**DETAILS, "email": f"attendee{self.index}-{self.flows}@bench.example"}
        del person["phone"]
        if f'action="{session}add/"'.encode() not in page.body:
            if f'action="{session}waitlist/"'.encode() not in page.body:
                return "closed", 0.0
            form = {"csrfmiddlewaretoken": self.token(page, "session GET"), **person}
            answer = await self.send("waitlist POST", "POST", f"{session}waitlist/", form)
            self.expect(answer, "waitlist POST", 302, session)
            return "waitlisted", 0.0
        answer = await self.send(
            "add POST", "POST", f"{session}add/", {"csrfmiddlewaretoken": self.token(page, "session GET")}
        )
        if answer.status == 302 and answer.location == session:  # it filled up since the page was shown
            return "full_at_add", 0.0
        self.expect(answer, "add POST", 302, f"{listing}cart/")
        page = await self.send("cart GET", "GET", f"{listing}cart/")
        self.expect(page, "cart GET", 200)
        page = await self.send("checkout GET", "GET", f"{listing}checkout/")
        self.expect(page, "checkout GET", 200)
        total = EXPECTED_TOTAL.search(page.body)
        form = {
            "csrfmiddlewaretoken": self.token(page, "checkout GET"),
            "expected_total": total[1].decode() if total else "",
            **person,
        }
        answer = await self.send("checkout POST", "POST", f"{listing}checkout/", form)
        if answer.status == 200 and b"has just filled up" in answer.body:
            return "full_at_checkout", 0.0
        self.expect(answer, "checkout POST", 302, f"{listing}orders/")
        page = await self.send("order GET", "GET", answer.location)
        self.expect(page, "order GET", 200)
        return "registered", (time.perf_counter() - first) * 1000

    async def staff_pages(self) -> tuple[str, float]:
        for _ in range(3):
            name, path = random.choice(list(self.run.spec["staff_pages"].items()))
            page = await self.send(f"{name} GET", "GET", path)
            self.expect(page, f"{name} GET", 200)
        return "viewed", 0.0

    async def staff_invite(self) -> tuple[str, float]:
        session = f"{self.base}/sessions/{random.choice(self.run.spec['session_ids'])}/"
        if self.flows % 3 == 0:
            page = await self.send("roster GET", "GET", session)
            self.expect(page, "roster GET", 200)
            links = CANCEL_LINK.findall(page.body)
            if not links:
                return "nothing_to_cancel", 0.0
            link = random.choice(links).decode()
            page = await self.send("cancel GET", "GET", link)
            self.expect(page, "cancel GET", 200)
            answer = await self.send(
                "cancel POST", "POST", link, {"csrfmiddlewaretoken": self.token(page, "cancel GET")}
            )
            self.expect(answer, "cancel POST", 302, session)
            return "cancelled", 0.0
        page = await self.send("invite GET", "GET", f"{session}invite/")
        self.expect(page, "invite GET", 200)
        form = {
            "csrfmiddlewaretoken": self.token(page, "invite GET"),
            "email": f"invitee{self.index}-{self.flows}@bench.example",
        }
        answer = await self.send("invite POST", "POST", f"{session}invite/", form)
        if answer.status == 200 and "Raise the capacity by one".encode() in answer.body:
            return "full", 0.0
        self.expect(answer, "invite POST", 302, session)
        return "invited", 0.0

    async def _job_status(self, job: str, wanted: tuple[str, ...], kind: str) -> tuple[str, Response]:
        """Look at the import's page until its status is one of ``wanted`` (at most IMPORT_WAIT s)."""
        until = time.perf_counter() + IMPORT_WAIT
        while True:
            page = await self.send(kind, "GET", job, think=False)
            self.expect(page, kind, 200)
            found = JOB_STATUS.search(page.body)
            status = found[1].decode().strip() if found else ""
            if status in wanted:
                return status, page
            if time.perf_counter() > until:
                self.fail(f"{self.prefix}{kind}: still “{status}” after {IMPORT_WAIT:.0f} s")
                raise Unexpected
            await self.pause(IMPORT_POLL)

    async def import_participants(self) -> tuple[str, float]:
        first = time.perf_counter()
        participants = self.run.spec["participants_path"]
        page = await self.send("participants GET", "GET", participants)
        self.expect(page, "participants GET", 200)
        rows = self.run.spec["import_rows"]
        lines = ["participant_id,first_name,last_name,email,phone,date_of_birth,price_code,invitation_code"]
        lines += [
            f",Imported,Person {n},imported{self.index}-{self.flows}-{n}@bench.example,,,{self.run.spec['price_code']},"
            for n in range(rows)
        ]
        body, content_type = multipart(
            {"csrfmiddlewaretoken": self.token(page, "participants GET")},
            {"file": (f"soak-{self.index}-{self.flows}.csv", ("\n".join(lines) + "\n").encode())},
        )
        answer = await self.send("upload POST", "POST", f"{participants}upload/", body=body, content_type=content_type)
        if answer.status != 302 or not IMPORT_LINK.match(answer.location):
            self.fail(f"{self.prefix}upload POST: HTTP {answer.status} {answer.location}".strip())
            raise Unexpected
        job = answer.location
        status, page = await self._job_status(job, ("Ready to import", "Has problems", "Failed"), "job GET (checking)")
        if status != "Ready to import":
            self.fail(f"{self.prefix}import: {status} after the check")
            raise Unexpected
        form = {"csrfmiddlewaretoken": self.token(page, "job GET (checking)")}
        answer = await self.send("commit POST", "POST", f"{job}commit/", form)
        self.expect(answer, "commit POST", 302, job)
        status, _ = await self._job_status(job, ("Imported", "Failed"), "job GET (importing)")
        if status != "Imported":
            self.fail(f"{self.prefix}import: {status} after Complete Import")
            raise Unexpected
        self.run.imports.append({"job": job, "rows": rows})
        return "imported", (time.perf_counter() - first) * 1000

    async def seats(self) -> tuple[str, float]:
        order = self.run.spec["seat_order_path"]
        page = await self.send("order GET", "GET", order)
        self.expect(page, "order GET", 200)
        email = f"learner{self.index}-{self.flows}@bench.example"
        if self.flows % 3 == 0:
            kind, form = "invite POST", {"addresses": email, "message": "A seat for you."}
            target, done = f"{order}invitations/", "seat_invited"
        else:
            kind, form = "learner POST", {"email": email, "first_name": "Lee", "last_name": "Learner", "password": ""}
            target, done = f"{order}learners/", "seat_given"
        answer = await self.send(kind, "POST", target, {"csrfmiddlewaretoken": self.token(page, "order GET"), **form})
        if answer.status == 302:
            self.expect(answer, kind, 302, order)
            return done, 0.0
        if answer.status != 200 or b"left in this order" not in answer.body:
            self.refused(kind, answer)
        links = FREE_SEAT_LINK.findall(answer.body)
        if not links:
            return "no_seats", 0.0
        link = random.choice(links).decode()
        page = await self.send("free GET", "GET", link)
        self.expect(page, "free GET", 200)
        answer = await self.send("free POST", "POST", link, {"csrfmiddlewaretoken": self.token(page, "free GET")})
        self.expect(answer, "free POST", 302, order)
        return "seat_freed", 0.0

    async def loop(self) -> None:
        flow = {
            "book": self.book,
            "register": self.register,
            "staff_pages": self.staff_pages,
            "staff_invite": self.staff_invite,
            "import": self.import_participants,
            "seats": self.seats,
        }[self.role]
        stats = self.run.stats
        while not self.over():
            self.new_person()
            try:
                if self.role in SIGNED_IN_ROLES and not self.signed_in:
                    await self.sign_in()
                outcome, flow_ms = await flow()
            except Deadline:
                stats.outcomes[self.prefix + "abandoned_at_deadline"] += 1
                break
            except Unexpected:
                stats.outcomes[self.prefix + "error"] += 1
                await self.pause(1.0)  # not a tight loop against a server in trouble
                continue
            if outcome == "booked":  # counted by Visitor.book when it committed
                stats.flows.append(flow_ms)
            else:
                stats.outcomes[self.prefix + outcome] += 1
            if flow_ms:
                self.run.role_flows.setdefault(self.role, []).append(flow_ms)
        self.connection.close()


def mixed_figures(run: Run, window: float) -> dict:
    """Per role (requests, p95, errors, outcomes, whole flows) and per window of the run (requests,
    p95 and errors), to see whether anything drifts over the soak."""
    stats = run.stats
    roles = {}
    for role in run.spec["roles"]:
        prefix = f"{role}: "
        latencies = [v for kind, values in stats.latencies.items() if kind.startswith(prefix) for v in values]
        roles[role] = {
            "clients": run.spec["roles"][role],
            "requests": len(latencies),
            "latency_ms": percentiles(latencies),
            "errors": sum(n for key, n in stats.errors.items() if key.startswith(prefix)),
            "outcomes": {k.removeprefix(prefix): n for k, n in sorted(stats.outcomes.items()) if k.startswith(prefix)},
            "flow_ms": percentiles(run.role_flows.get(role, [])),
        }
    timeline = []
    end = max((t for t, _ in stats.timed), default=0.0)
    for number in range(int(end // window) + 1):
        low, high = number * window, (number + 1) * window
        values = [ms for t, ms in stats.timed if low <= t < high]
        timeline.append(
            {
                "from_s": round(low),
                "requests": len(values),
                "rps": round(len(values) / min(window, max(end - low, 1e-9)), 1),
                "p50_ms": percentiles(values).get("p50", 0.0),
                "p95_ms": percentiles(values).get("p95", 0.0),
                "errors": sum(1 for t in stats.error_times if low <= t < high),
            }
        )
    return {"by_role": roles, "timeline": timeline, "imports_committed": run.imports}


def percentiles(values: list[float]) -> dict:
    if not values:
        return {"n": 0}
    ordered = sorted(values)

    def rank(p: float) -> float:
        return round(ordered[min(len(ordered) - 1, max(0, int(-(-p * len(ordered) // 100)) - 1))], 2)

    return {"n": len(ordered), "p50": rank(50), "p95": rank(95), "p99": rank(99), "max": round(ordered[-1], 2)}


async def main(args) -> dict:
    run = Run(args)
    if args.scenario == "mixed":
        roles = [role for role, count in run.spec["roles"].items() for _ in range(count)]
        visitors = [MixedVisitor(run, i, role) for i, role in enumerate(roles)]
        args.clients = len(visitors)
    else:
        visitors = [Visitor(run, i) for i in range(args.clients)]
    await asyncio.gather(*(visitor.loop() for visitor in visitors))
    stats = run.stats
    every = [value for values in stats.latencies.values() for value in values]
    elapsed = max(stats.last_done - stats.first_due, 1e-9)
    return {
        "scenario": args.scenario,
        "clients": args.clients,
        "seconds": args.seconds,
        "offered_rps": args.rate,
        "unsent": stats.unsent,
        "requests": len(every),
        "requests_all": stats.answered,
        "rps": round(len(every) / elapsed, 1),
        "latency_ms": percentiles(every),
        "by_kind": {kind: percentiles(values) for kind, values in sorted(stats.latencies.items())},
        "flow_ms": percentiles(stats.flows),
        "flows_per_s": round(len(stats.flows) / elapsed, 1),
        "outcomes": dict(stats.outcomes),
        "statuses": {str(k): v for k, v in sorted(stats.statuses.items())},
        "errors": sum(stats.errors.values()),
        "error_kinds": dict(stats.errors.most_common(20)),
        "server_errors": sum(n for key, n in stats.errors.items() if "HTTP 5" in key),
        "connection_errors": stats.connection_errors,
        "codes_handed": run.handed,
        **(mixed_figures(run, args.window) if args.scenario == "mixed" else {}),
    }


def loopback(url: str) -> str:
    host = urllib.parse.urlsplit(url).hostname or ""
    if not ipaddress.ip_address(host).is_loopback:
        raise argparse.ArgumentTypeError("only loopback addresses (127.0.0.1) are load-tested")
    return url


def parse(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.loadgen", description=__doc__.split("\n\n")[0])
    parser.add_argument("scenario", choices=["constant", "flow", "mixed"])
    parser.add_argument("--base", type=loopback, required=True, help="http://127.0.0.1:PORT")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=30.0, help="measured time, after the warm-up")
    parser.add_argument("--warmup", type=float, default=0.0, help="seconds of load before measuring")
    parser.add_argument("--rate", type=float, default=None, help="open loop: requests a second offered in all")
    parser.add_argument("--path", default="/bench/constant/", help="the page of the constant scenario")
    parser.add_argument("--tenant", default="bench-http")
    parser.add_argument("--codes", help='JSON file {"codes": [...], "attempts_per_code": n} (flow)')
    parser.add_argument("--used-up-text", default="This code has already been used.")
    parser.add_argument("--spec", help="JSON file describing the mixed run (written by bench/soak.py)")
    parser.add_argument("--window", type=float, default=60.0, help="mixed: seconds of each timeline window")
    args = parser.parse_args(argv)
    if args.scenario == "flow" and not args.codes:
        parser.error("the flow needs --codes")
    if args.scenario == "mixed" and not args.spec:
        parser.error("the mixed scenario needs --spec")
    return args


if __name__ == "__main__":
    arguments = parse()
    random.seed(arguments.clients)
    print(json.dumps(asyncio.run(main(arguments))))
    sys.stdout.flush()
