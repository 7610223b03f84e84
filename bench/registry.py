"""What a benchmark scenario is, and the list of them.

A scenario is a function run in a fresh process (so peak memory is its own) that builds what it
needs, times only the work a user waits for, checks its result is right, and returns its figures:
``{"value": <the headline figure>, "peak_mb": …, "ok": bool, …more numbers}``. The headline figure
is in the scenario's unit (seconds, milliseconds, emails a second …). ``judge`` turns the medians of
the runs (and the reference scenario's, when there is one) into the target column.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

Figures = dict[str, float]


@dataclass(frozen=True)
class Verdict:
    text: str  # what the target is and how far it is, e.g. "≤ 2 s, ≤ 3× COPY, ≤ 250 MB"
    met: bool


@dataclass(frozen=True)
class Scenario:
    name: str
    label: str
    run: str  # "module:function", imported in the child process
    unit: str = "s"
    reference: str | None = None
    prepare: str | None = None  # "module:function" run once before the timed runs (big data sets)
    judge: Callable[[Figures, Figures | None], Verdict] | None = None
    details: Callable[[Figures], str] | None = None
    repeat: int | None = None  # fewer runs for the long scenarios
    tags: tuple[str, ...] = field(default_factory=tuple)


SCENARIOS: dict[str, Scenario] = {}


def register(*scenarios: Scenario) -> None:
    for scenario in scenarios:
        SCENARIOS[scenario.name] = scenario


def load_all() -> dict[str, Scenario]:
    """Import every scenario module; each registers its scenarios, in the report's order."""
    from . import codes, participants  # noqa: F401

    for optional in ("http", "pages", "outbox", "soak"):
        try:
            __import__(f"bench.{optional}")
        except ModuleNotFoundError as exc:
            if exc.name != f"bench.{optional}":
                raise
    return SCENARIOS
