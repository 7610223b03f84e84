"""The kinds of CSV file Tessera imports. Each app registers its own in ``AppConfig.ready()``.

A kind validates *all* rows at once against data it loads in a few queries (no query per row) and
commits them set-based; ``imports.services`` runs the stages, stores the problems and keeps the
commit exactly-once.
"""

from dataclasses import dataclass
from typing import Callable

from .parsing import Problem


@dataclass(frozen=True)
class Check:
    """What validating a file found: problems by row and column, and what committing would do."""

    problems: list[Problem]
    plan: dict  # counts shown on the validation page, e.g. {"new": 3, "updated": 10, "codes": 5}
    state: object = None  # the kind's own reading of the rows, handed to its commit when it checked them just before


@dataclass(frozen=True)
class ImportKind:
    key: str
    label: str
    columns: tuple[str, ...]  # accepted, in the order of the downloaded file
    required: tuple[str, ...]
    # Both take progress=: a function to call now and then with the fraction done (0–1).
    check: Callable[..., Check]  # (tenant=, params=, rows=, progress=) -> Check
    # (tenant=, params=, rows=, actor=, checked=, progress=) -> summary; inside a transaction, right after
    # the rows were checked again in it (``checked``, whose state the kind may reuse instead of reading again)
    commit: Callable[..., dict]
    target: Callable[..., object]  # (tenant=, params=) -> the object the import belongs to, or Http404
    back_url: Callable[..., str]  # (tenant=, params=) -> the page the import was started from
    example: str = ""
    # A customer's upload, with its pages in My Account: not on the staff Imports pages, and its file
    # (which may hold passwords) is emptied as soon as the job ends.
    customer_owned: bool = False


_kinds: dict[str, ImportKind] = {}


def register(kind: ImportKind) -> None:
    _kinds[kind.key] = kind


def get(key: str) -> ImportKind | None:
    return _kinds.get(key)


def customer_owned_kinds() -> list[str]:
    return [key for key, kind in _kinds.items() if kind.customer_owned]
