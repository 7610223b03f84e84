"""Run the benchmarks: ``python -m bench [--repeat N] [--list] [scenario …]``.

Makes (or reuses) its own PostgreSQL database ``tessera_bench`` on the local server
(``BENCH_SERVER_URL`` and ``BENCH_DATABASE`` to change them), migrates it, prepares each scenario's data once, runs each
scenario N times in a fresh process, and writes the table to docs/benchmarks.md. Timings are figures
to read, never assertions; a run whose result is wrong is marked so in the table.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

import django
import psycopg

from .registry import Scenario, load_all
from .report import write_report

ROOT = Path(__file__).resolve().parent.parent
SERVER = os.environ.get("BENCH_SERVER_URL", "postgres://postgres@127.0.0.1:5432")
DATABASE = os.environ.get("BENCH_DATABASE", "tessera_bench")


def environment() -> dict:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "DATABASE_URL": f"{SERVER}/{DATABASE}",
        "BENCH_SERVER_URL": SERVER,
        "SECRET_KEY": "bench",
        "ENV_FILE": os.devnull,
        "CELERY_BROKER_URL": "",
        "LOG_LEVEL": "WARNING",
    }


def prepare_database() -> None:
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE]).fetchone():
            conn.execute(f"CREATE DATABASE {DATABASE}")
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=environment(), check=True)


def call(target: str) -> dict:
    """Run ``module:function`` in a fresh Django process; return the JSON it prints last."""
    module, function = target.split(":")
    code = (
        f"import django, json; django.setup(); from {module} import {function}; "
        f"print('BENCH-RESULT ' + json.dumps({function}()))"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=environment(), capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"{target} failed:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}")
    lines = [line for line in done.stdout.splitlines() if line.startswith("BENCH-RESULT ")]
    return json.loads(lines[-1].removeprefix("BENCH-RESULT "))


def run_scenario(scenario: Scenario, repeat: int) -> list[dict]:
    if scenario.prepare:
        print(f"{scenario.name}: preparing data …", flush=True)
        call(scenario.prepare)
    runs = []
    for number in range(scenario.repeat or repeat):
        runs.append(call(scenario.run))
        print(f"{scenario.name} run {number + 1}: {json.dumps(runs[-1])}", flush=True)
    values = [r["value"] for r in runs]
    print(
        f"{scenario.name}: median {statistics.median(values):.3g} {scenario.unit}  "
        f"peak {max(r['peak_mb'] for r in runs):.0f} MB  right={all(r['ok'] for r in runs)}",
        flush=True,
    )
    return runs


def main() -> None:
    os.environ.update(environment())
    django.setup()  # the scenario modules define their figures next to Django code
    scenarios = load_all()
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each scenario (default 3)")
    parser.add_argument("--list", action="store_true", help="list the scenarios and stop")
    parser.add_argument("--no-report", action="store_true", help="print the figures, leave docs/ alone")
    parser.add_argument("names", nargs="*", metavar="scenario", help="run only these (default: all)")
    args = parser.parse_args()
    if args.list:
        for scenario in scenarios.values():
            print(f"{scenario.name:32} {scenario.label}")
        return
    unknown = [name for name in args.names if name not in scenarios]
    if unknown:
        parser.error(f"unknown scenario(s): {', '.join(unknown)}; see --list")
    # "on-demand" scenarios (the soak) run only when named.
    default = [name for name, scenario in scenarios.items() if "on-demand" not in scenario.tags]
    chosen = [scenarios[name] for name in (args.names or default)]
    prepare_database()
    results = {scenario.name: run_scenario(scenario, args.repeat) for scenario in chosen}
    if not args.no_report:
        path = write_report(ROOT / "docs" / "benchmarks.md", scenarios, results)
        print(f"Wrote {path}")


if __name__ == "__main__":
    main()
