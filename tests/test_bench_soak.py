"""The soak script (bench/soak.py), 20 seconds on the test database, so it cannot rot: gunicorn, two
Celery workers, beat and an SMTP server really run, every role of the mixed load gets through its
flow, and the script's own checks (errors, invariants, the drained outbox) hold. The figures of a
full run are in docs/reliability.md; timing is not asserted here."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.common import stop_group
from bench.soak import ROLES

from .messaging.test_worker import database_url

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parent.parent
SECONDS = 20
# What each role does when its flow goes through: at least one of each in 20 seconds.
DONE = {
    "book": "booked",
    "register": "registered",
    "staff_pages": "viewed",
    "staff_invite": "invited",
    "import": "imported",
    "seats": "seat_given",
}


def test_a_short_soak_serves_every_role_and_every_invariant_holds(tmp_path):
    report_file = tmp_path / "soak.json"
    command = [sys.executable, "-m", "bench.soak", "--seconds", str(SECONDS), "--warmup", "2"]
    command += ["--database-url", database_url(), "--json", str(report_file), "--logs", str(tmp_path)]
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        output, _ = process.communicate(timeout=SECONDS + 100)
    finally:
        stop_group(process, grace=20)
    assert report_file.exists(), f"the soak wrote no report (exit {process.returncode}):\n{output[-4000:]}"
    report = json.loads(report_file.read_text())

    assert report["errors"] == 0, report["error_kinds"]
    assert not any(report["log_errors"].values()), report["log_errors"]
    failed = [name for name, held in report["checks"].items() if not held]
    assert not failed, (failed, report["codes"], report["sessions"], report["seats"], report["emails"])
    for role in ROLES:
        assert report["by_role"][role]["outcomes"].get(DONE[role], 0) > 0, (role, report["by_role"][role])
    # Emails really went out through the workers to the SMTP server, and imports were committed.
    assert report["emails"]["sent"] > 0 and report["emails"]["smtp_received"] == report["emails"]["sent"]
    assert report["imports"]["committed"] > 0
    assert report["imports"]["participants"] == report["imports"]["rows_of_committed_files"]
    # Memory was sampled for every process: three gunicorn workers, four Celery pool processes.
    assert sum(name.startswith("gunicorn worker") for name in report["memory"]) == 3
    assert sum(" pool " in name for name in report["memory"]) == 4
    assert process.returncode == 0, output[-4000:]
