"""Run the benchmarks: ``python -m bench [--repeat N] [scenario …]``.

Makes (or reuses) its own PostgreSQL database ``tessera_bench`` on the server of DATABASE_URL
(default the local one), migrates it, runs every scenario N times, each in a fresh process, and
writes the table to docs/benchmarks.md. Timings are figures to read, never assertions.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
SERVER = os.environ.get("BENCH_SERVER_URL", "postgres://postgres@127.0.0.1:5432")
DATABASE = "tessera_bench"
TARGETS = {
    "codes_100k": ("codes_copy_reference", 5.0, 300),
    "participants_20k": ("participants_copy_reference", 30.0, 300),
}
LABELS = {
    "codes_100k": "generate 100,000 codes for one contract (width 10)",
    "codes_copy_reference": "reference: PostgreSQL COPY of 100,000 code rows",
    "participants_20k": "participants CSV, 20,000 rows: validate + commit (with a code each)",
    "participants_copy_reference": "reference: PostgreSQL COPY of 20,000 participant rows",
}


def environment() -> dict:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": f"{SERVER}/{DATABASE}",
        "SECRET_KEY": "bench",
        "ENV_FILE": os.devnull,
        "CELERY_BROKER_URL": "",
        "LOG_LEVEL": "WARNING",
    }


def prepare() -> None:
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE]).fetchone():
            conn.execute(f"CREATE DATABASE {DATABASE}")
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=environment(), check=True)


def run_once(name: str) -> dict:
    code = (
        "import django, json; django.setup(); from bench.scenarios import SCENARIOS; "
        f"print(json.dumps(SCENARIOS[{name!r}]()))"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=environment(), capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"{name} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("scenarios", nargs="*", default=list(LABELS))
    args = parser.parse_args()
    prepare()
    results = {}
    for name in args.scenarios:
        runs = [run_once(name) for _ in range(args.repeat)]
        results[name] = runs
        times = [r["seconds"] for r in runs]
        print(
            f"{name}: median {statistics.median(times):.2f}s  min {min(times):.2f}s  max {max(times):.2f}s  "
            f"peak {max(r['peak_mb'] for r in runs):.0f} MB  ok={all(r['ok'] for r in runs)}",
            flush=True,
        )
    write_report(results, args.repeat)


def write_report(results: dict, repeat: int) -> None:
    lines = [
        "# Benchmarks",
        "",
        f"Written by `python -m bench` on {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC: {repeat} runs of each "
        "scenario, each in a fresh process, on the local PostgreSQL (2 cores). Medians vary by 15–20 % between "
        "runs (see ../shared/PERFORMANCE.md): compare ratios taken in one run.",
        "",
        "| scenario | median | min | max | peak RSS | rows right | vs reference | target |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, runs in results.items():
        times = sorted(r["seconds"] for r in runs)
        median = statistics.median(times)
        ratio, target = "", ""
        if name in TARGETS:
            reference, seconds, megabytes = TARGETS[name]
            if reference in results:
                ratio = f"{median / statistics.median(r['seconds'] for r in results[reference]):.1f}×"
            met = median <= seconds and max(r["peak_mb"] for r in runs) <= megabytes
            target = f"≤ {seconds:g} s, ≤ {megabytes} MB: {'met' if met else 'MISSED'}"
        extra = ""
        if "validate_seconds" in runs[0]:
            extra = (
                f" (validate {statistics.median(r['validate_seconds'] for r in runs):.2f} s, "
                f"commit {statistics.median(r['commit_seconds'] for r in runs):.2f} s)"
            )
        right = "yes" if all(r["ok"] for r in runs) else "NO"
        peak = max(r["peak_mb"] for r in runs)
        lines.append(
            f"| {LABELS.get(name, name)} | {median:.2f} s{extra} | {times[0]:.2f} s | {times[-1]:.2f} s | "
            f"{peak:.0f} MB | {right} | {ratio} | {target} |"
        )
    path = ROOT / "docs" / "benchmarks.md"
    previous = path.read_text() if path.exists() else ""
    notes = previous.split("<!-- notes -->", 1)[1] if "<!-- notes -->" in previous else "\n"
    path.write_text("\n".join(lines) + "\n\n<!-- notes -->" + notes)
    print(f"Wrote {path}")


if __name__ == "__main__":
    main()
