"""A private Redis for tests that stop and start it.

The machine's Redis (port 6379) is shared by every test run and must never be stopped; a test that
takes Redis away runs its own ``redis-server`` on a free loopback port, in a temporary directory,
with persistence off, and stops and starts it as often as it likes. It comes back on the same port,
so a worker and the web process find it again where they left it, empty: what sat in it while it
was stopped is lost, as after a crash.
"""

import shutil
import socket
import subprocess
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import redis


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RedisServer:
    """``start()``, ``stop(how)``, ``start()`` again on the same port; as a context manager it is
    started on entry, and stopped and its directory removed on exit however the block ends."""

    def __init__(self, *, keep_data: bool = False):
        """``keep_data``: write the data to disk when stopped by SIGTERM or SHUTDOWN and load it at the
        next start, as a Redis with its default snapshots does; otherwise it comes back empty."""
        self.keep_data = keep_data
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="tessera-redis-"))
        self.log = self.root / "redis.log"
        self.process: subprocess.Popen | None = None

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def client(self) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=1, socket_timeout=2)

    def answers(self) -> bool:
        try:
            return bool(self.client().ping())
        except redis.exceptions.ConnectionError:
            return False

    def start(self, timeout: float = 10.0) -> None:
        if self.process is not None and self.process.poll() is None:
            raise RuntimeError(f"redis-server is already running on port {self.port}")
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.root)]
            + ["--save", "3600 1" if self.keep_data else "", "--appendonly", "no", "--daemonize", "no"]
            + ["--logfile", str(self.log)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server on port {self.port} exited at start:\n{self.log_tail()}")
            if self.answers():
                return
            time.sleep(0.05)
        self.stop("kill")
        raise RuntimeError(f"redis-server on port {self.port} did not answer within {timeout}s:\n{self.log_tail()}")

    def stop(self, how: str = "shutdown", timeout: float = 10.0) -> None:
        """``shutdown``: SHUTDOWN (NOSAVE unless the data is kept), as an operator would; ``sigterm``:
        the signal a service manager sends; ``kill``: SIGKILL, a crash. Returns once the process is gone."""
        if self.process is None or self.process.poll() is not None:
            return
        if how == "shutdown":
            try:
                self.client().shutdown(nosave=not self.keep_data, save=self.keep_data)
            except redis.exceptions.ConnectionError:
                pass  # the server closes the connection as it goes
        elif how == "sigterm":
            self.process.terminate()
        elif how == "kill":
            self.process.kill()
        else:
            raise ValueError(f"unknown way to stop Redis: {how}")
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(no log)"

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        try:
            self.stop("kill")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


@contextmanager
def celery_broker(url: str):
    """This process's Celery app sends tasks to ``url`` (not eagerly) inside the block; its pools are
    dropped on the way in and out, so no connection to another broker is reused."""
    from config.celery import app

    from ..messaging.test_worker import _drop_connections

    previous = {key: app.conf[key] for key in ("broker_url", "task_always_eager")}
    app.conf.update(broker_url=url, task_always_eager=False)
    _drop_connections()
    try:
        yield
    finally:
        app.conf.update(previous)
        _drop_connections()
