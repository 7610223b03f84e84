"""A real HTTP receiver on 127.0.0.1 for webhook tests: it records every request and answers by script."""

import hashlib
import hmac
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def signature_valid(self, secret: str) -> bool:
        """What a receiver does: recompute the HMAC of "<t>.<raw body>" and compare in constant time."""
        parts = dict(item.split("=", 1) for item in self.headers["Tessera-Signature"].split(","))
        expected = hmac.new(secret.encode(), f"{parts['t']}.".encode() + self.body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, parts["v1"])


@dataclass
class Answer:
    status: int = 200
    body: bytes = b"ok"
    delay: float = 0.0  # seconds before answering (a slow receiver, to test the timeout)
    drip: str = ""  # "status" (line) or "body": sent a byte at a time, never finishing (until released)


@dataclass
class Receiver:
    """``script`` answers the requests in order; when it runs out, every request gets ``Answer()``."""

    server: ThreadingHTTPServer
    requests: list[Received] = field(default_factory=list)
    script: list[Answer] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/tessera"

    def answer(self, *answers: Answer) -> None:
        self.script.extend(answers)


def start_receiver() -> Receiver:
    receiver = None

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (http.server's naming)
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            receiver.requests.append(Received(self.path, dict(self.headers.items()), body))
            answer = receiver.script.pop(0) if receiver.script else Answer()
            if answer.delay:
                receiver.release.wait(answer.delay)
            if answer.drip:
                self._drip(answer)
                return
            try:
                self.send_response(answer.status)
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                self.wfile.write(answer.body)
            except OSError:  # the sender gave up (timeout) and closed the connection
                pass

        def _drip(self, answer):
            start = b"HTTP/1.1 "  # the status code itself never comes
            if answer.drip == "body":
                start = f"HTTP/1.1 {answer.status} OK\r\nContent-Length: 100000\r\n\r\nX-Slow: ".encode()
            try:
                self.wfile.write(start)
                self.wfile.flush()
                while not receiver.release.wait(0.05):
                    self.wfile.write(b"x")
                    self.wfile.flush()
            except OSError:  # the sender cut the connection
                pass

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    receiver = Receiver(server)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return receiver


def stop_receiver(receiver: Receiver) -> None:
    receiver.release.set()  # a handler still waiting answers at once
    receiver.server.shutdown()
    receiver.server.server_close()


def wait_until(predicate, timeout: float = 5.0) -> bool:
    """For a request handled in the receiver's thread: bounded, never an assertion about timing."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()
