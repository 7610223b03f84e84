"""docs/benchmarks.md: one table row per scenario, merged with the rows of scenarios not run this
time, and the hand-written notes below the ``<!-- notes -->`` marker kept as they are."""

import re
import statistics
from datetime import datetime, timezone
from pathlib import Path

from .registry import Figures, Scenario

HEADER = (
    "| scenario | median | min | max | peak RSS | result right | vs reference | target | met |\n"
    "|---|---|---|---|---|---|---|---|---|"
)
ROW = re.compile(r"^\| .* <!-- (?P<name>[\w-]+) -->$")


def medians(runs: list[dict]) -> Figures:
    keys = {key for run in runs for key, value in run.items() if isinstance(value, int | float)}
    figures = {key: statistics.median(run[key] for run in runs if key in run) for key in keys}
    figures["peak_mb"] = max(run["peak_mb"] for run in runs)
    return figures


def _number(value: float, unit: str) -> str:
    if unit == "s":
        return f"{value:.2f} s"
    if unit == "ms":
        return f"{value:.1f} ms"
    return f"{value:,.1f} {unit}" if abs(value) < 100 else f"{value:,.0f} {unit}"


def row(scenario: Scenario, runs: list[dict], reference_runs: list[dict] | None, stamp: str) -> str:
    figures = medians(runs)
    values = sorted(run["value"] for run in runs)
    reference = medians(reference_runs) if reference_runs else None
    ratio = ""
    if reference and reference.get("value"):
        ratio = f"{figures['value'] / reference['value']:.2f}×"
    verdict = scenario.judge(figures, reference) if scenario.judge else None
    median = _number(figures["value"], scenario.unit)
    if scenario.details:
        median += f" ({scenario.details(figures)})"
    right = "yes" if all(run["ok"] for run in runs) else "**NO**"
    met = "" if verdict is None else ("met" if verdict.met else "**missed**")
    return (
        f"| {scenario.label} ({len(runs)} runs, {stamp}) | {median} | {_number(values[0], scenario.unit)} | "
        f"{_number(values[-1], scenario.unit)} | {figures['peak_mb']:.0f} MB | {right} | {ratio} | "
        f"{verdict.text if verdict else ''} | {met} | <!-- {scenario.name} -->"
    )


def write_report(path: Path, scenarios: dict[str, Scenario], results: dict[str, list[dict]]) -> Path:
    previous = path.read_text() if path.exists() else ""
    old_rows = {m["name"]: m.group(0) for m in map(ROW.match, previous.splitlines()) if m}
    stamp = f"{datetime.now(timezone.utc):%Y-%m-%d}"
    rows = []
    for name, scenario in scenarios.items():
        if name in results:
            reference_runs = results.get(scenario.reference) if scenario.reference else None
            rows.append(row(scenario, results[name], reference_runs, stamp))
        elif name in old_rows:
            rows.append(old_rows[name])
    notes = previous.split("<!-- notes -->", 1)[1] if "<!-- notes -->" in previous else "\n"
    text = "\n".join(
        [
            "# Benchmarks",
            "",
            "Written by `python -m bench` (one command: `make bench`): each scenario runs several times, each "
            "in a fresh process, on the local PostgreSQL of a 2-core machine; the figures are medians. Repeats "
            "vary by 15–20 % (../shared/PERFORMANCE.md), so compare a scenario with its reference, measured in "
            "the same run. A row whose result was wrong says so: a fast wrong answer does not count.",
            "",
            HEADER,
            *rows,
            "",
            "<!-- notes -->",
        ]
    )
    path.write_text(text + notes)
    return path
