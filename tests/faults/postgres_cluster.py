"""A private PostgreSQL cluster for tests that stop or restart the database server.

The machine's PostgreSQL (port 5432) is shared by every test run and must never be stopped; a test
that restarts PostgreSQL makes its own cluster with ``initdb`` in a temporary directory, starts it
with ``pg_ctl`` on a free loopback port, restarts it as often as it likes, and removes it afterwards.
PostgreSQL refuses to run as root: under root the binaries run as the ``postgres`` system user.
"""

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path


def postgres_bin() -> Path:
    """The server binaries: ``TEST_POSTGRES_BIN``, else the newest /usr/lib/postgresql/<version>/bin."""
    if os.environ.get("TEST_POSTGRES_BIN"):
        return Path(os.environ["TEST_POSTGRES_BIN"])
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name))
    if not found:
        raise RuntimeError("No PostgreSQL server binaries in /usr/lib/postgresql/*/bin: set TEST_POSTGRES_BIN.")
    return found[-1].parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PostgresCluster:
    """One cluster: ``start()``, ``restart()``, ``stop()``, ``remove()`` (or use it as a context
    manager: started on entry, stopped and removed on exit however the block ends)."""

    def __init__(self):
        self.bin = postgres_bin()
        self.root = Path(tempfile.mkdtemp(prefix="tessera-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.port = 0
        self.as_postgres = os.geteuid() == 0
        if self.as_postgres:
            shutil.chown(self.root, "postgres", "postgres")

    def _run(self, *command: str, timeout: float = 60) -> subprocess.CompletedProcess:
        prefix = ["runuser", "-u", "postgres", "--"] if self.as_postgres else []
        result = subprocess.run(prefix + list(command), capture_output=True, text=True, timeout=timeout)
        if result.returncode:
            raise RuntimeError(f"{' '.join(command)} failed ({result.returncode}):\n{result.stderr}{self.server_log()}")
        return result

    def server_log(self) -> str:
        with contextlib.suppress(OSError):
            return "\n--- server log ---\n" + self.log.read_text(errors="replace")[-3000:]
        return ""

    def url(self, dbname: str = "postgres", user: str = "postgres") -> str:
        return f"postgres://{user}@127.0.0.1:{self.port}/{dbname}"

    def init(self) -> None:
        # trust on loopback, as the shared server is set up; no fsync: the data is thrown away.
        self._run(
            str(self.bin / "initdb"), "-D", str(self.data), "--auth=trust", "-U", "postgres", "-E", "UTF8",
            "--locale=C.UTF-8", "--no-sync",
        )  # fmt: skip
        options = {
            "listen_addresses": "'127.0.0.1'",
            "unix_socket_directories": f"'{self.root}'",  # never the shared server's socket directory
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "max_connections": "50",
            "shared_buffers": "64MB",
        }
        with open(self.data / "postgresql.conf", "a") as conf:
            conf.writelines(f"{name} = {value}\n" for name, value in options.items())

    def start(self) -> None:
        """Start on a free port (picked afresh when the port was taken meanwhile)."""
        if not self.data.exists():
            self.init()
        for attempt in range(3):
            self.port = self.port or _free_port()
            try:
                self._pg_ctl("start", "-o", f"-p {self.port}")
                return
            except RuntimeError:
                if attempt == 2:
                    raise
                self.port = 0

    def restart(self, mode: str = "fast") -> float:
        """``pg_ctl restart -m <mode>`` (fast: sessions are ended, open transactions roll back); the
        seconds it took until the server accepted connections again."""
        started = time.monotonic()
        self._pg_ctl("restart", "-m", mode, "-o", f"-p {self.port}")
        return time.monotonic() - started

    def stop(self, mode: str = "fast") -> None:
        if (self.data / "postmaster.pid").exists():
            self._pg_ctl("stop", "-m", mode)

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)

    def psql(self, sql: str, dbname: str = "postgres") -> str:
        return self._run(
            str(self.bin / "psql"), "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1",
            "-p", str(self.port), "-U", "postgres", "-d", dbname, "-c", sql,
        ).stdout  # fmt: skip

    def _pg_ctl(self, action: str, *options: str) -> None:
        command = [str(self.bin / "pg_ctl"), action, "-D", str(self.data), "-l", str(self.log), "-w", "-t", "30"]
        self._run(*command, *options)

    def __enter__(self):
        try:
            self.start()
        except BaseException:
            self.remove()
            raise
        return self

    def __exit__(self, *exc):
        try:
            self.stop(mode="immediate")
        finally:
            self.remove()
