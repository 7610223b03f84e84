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
            lines += ["Content-Type: application/x-www-form-urlencoded", f"Content-Length: {len(body)}"]
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


class Run:
    def __init__(self, args):
        self.args = args
        parts = urllib.parse.urlsplit(args.base)
        self.host, self.port = parts.hostname, parts.port or 80
        self.stats = Stats()
        self.codes: list[str] = []
        self.attempts_per_code = 1
        if args.codes:
            with open(args.codes) as handle:
                spec = json.load(handle)
            self.codes, self.attempts_per_code = spec["codes"], spec["attempts_per_code"]
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

    async def send(self, kind: str, method: str, path: str, form: dict | None = None) -> Response:
        if self.over():
            raise Deadline
        due = await self.when_due()
        headers = {"X-Forwarded-For": self.address}
        if self.jar:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.jar.items())
        body = urllib.parse.urlencode(form).encode() if form is not None else b""
        stats = self.run.stats
        try:
            response = await asyncio.wait_for(self.connection.request(method, path, headers, body), TIMEOUT)
        except (OSError, asyncio.IncompleteReadError, TimeoutError, ValueError) as exc:
            self.connection.close()
            stats.errors[f"{kind}: {type(exc).__name__}"] += 1
            stats.connection_errors += 1
            raise Unexpected from None
        done = time.perf_counter()
        stats.answered += 1
        if due >= self.run.measure_from:
            stats.latencies.setdefault(kind, []).append((done - due) * 1000)
            stats.statuses[response.status] += 1
            stats.first_due = min(stats.first_due, due)
            stats.last_done = max(stats.last_done, done)
        for cookie in response.cookies:
            pair, _, attributes = cookie.partition(";")
            name, _, value = pair.strip().partition("=")
            if "max-age=0" in attributes.lower().replace(" ", ""):
                self.jar.pop(name, None)
            else:
                self.jar[name] = value
        if response.status >= 500:
            stats.errors[f"{kind}: HTTP {response.status}"] += 1
            raise Unexpected
        return response

    def expect(self, response: Response, kind: str, status: int, location: str | None = None) -> None:
        if response.status != status or (location is not None and not response.location.startswith(location)):
            self.run.stats.errors[f"{kind}: HTTP {response.status} {response.location}".strip()] += 1
            raise Unexpected

    def token(self, response: Response, kind: str) -> str:
        found = CSRF.search(response.body)
        if not found:
            self.run.stats.errors[f"{kind}: no form"] += 1
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
            self.run.stats.errors[f"code POST: refused: {reason[:60]}"] += 1
            raise Unexpected
        self.expect(answer, "code POST", 302, base + "times/")
        for _ in range(3):  # a time taken meanwhile sends the visitor back to pick another
            page = await self.send("times GET", "GET", base + "times/")
            self.expect(page, "times GET", 200)
            offered = TIMES.findall(page.body)
            if not offered:
                return "no_times", 0.0
            form = {"csrfmiddlewaretoken": self.token(page, "times GET"), "starts_at": random.choice(offered).decode()}
            answer = await self.send("time POST", "POST", base + "times/", form)
            if answer.status == 200:  # the time filled up between the page and the click
                self.run.stats.outcomes["time_taken_retry"] += 1
                continue
            self.expect(answer, "time POST", 302, base + "details/")
            page = await self.send("details GET", "GET", base + "details/")
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
                self.run.stats.outcomes["booked"] += 1
                page = await self.send("done GET", "GET", answer.location)
                self.expect(page, "done GET", 200)
                return "booked", (time.perf_counter() - first) * 1000
            if answer.location == base + "times/":  # the last place went meanwhile
                self.run.stats.outcomes["slot_full_retry"] += 1
                continue
            self.expect(answer, "details POST", 302, base)
            page = await self.send("start GET", "GET", base)
            if self.run.args.used_up_text.encode() in page.body:
                return "used_up_at_booking", 0.0
            self.run.stats.errors["details POST: sent back without the used-up message"] += 1
            raise Unexpected
        return "gave_up", 0.0

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


def percentiles(values: list[float]) -> dict:
    if not values:
        return {"n": 0}
    ordered = sorted(values)

    def rank(p: float) -> float:
        return round(ordered[min(len(ordered) - 1, max(0, int(-(-p * len(ordered) // 100)) - 1))], 2)

    return {"n": len(ordered), "p50": rank(50), "p95": rank(95), "p99": rank(99), "max": round(ordered[-1], 2)}


async def main(args) -> dict:
    run = Run(args)
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
    }


def loopback(url: str) -> str:
    host = urllib.parse.urlsplit(url).hostname or ""
    if not ipaddress.ip_address(host).is_loopback:
        raise argparse.ArgumentTypeError("only loopback addresses (127.0.0.1) are load-tested")
    return url


def parse(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.loadgen", description=__doc__.split("\n\n")[0])
    parser.add_argument("scenario", choices=["constant", "flow"])
    parser.add_argument("--base", type=loopback, required=True, help="http://127.0.0.1:PORT")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=30.0, help="measured time, after the warm-up")
    parser.add_argument("--warmup", type=float, default=0.0, help="seconds of load before measuring")
    parser.add_argument("--rate", type=float, default=None, help="open loop: requests a second offered in all")
    parser.add_argument("--path", default="/bench/constant/", help="the page of the constant scenario")
    parser.add_argument("--tenant", default="bench-http")
    parser.add_argument("--codes", help='JSON file {"codes": [...], "attempts_per_code": n} (flow)')
    parser.add_argument("--used-up-text", default="This code has already been used.")
    args = parser.parse_args(argv)
    if args.scenario == "flow" and not args.codes:
        parser.error("the flow needs --codes")
    return args


if __name__ == "__main__":
    arguments = parse()
    random.seed(arguments.clients)
    print(json.dumps(asyncio.run(main(arguments))))
    sys.stdout.flush()
