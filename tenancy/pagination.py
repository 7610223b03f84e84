"""Pages of lists that may hold millions of rows, at a cost that does not grow with the list.

Django's ``Paginator`` counts every matching row before it shows a page and reaches page *n* with
``OFFSET``, reading every row before it: on a contract with 500,000 codes each takes longer than the
whole page may. So the long lists page by key instead (``keyset_page``): the next page is "the rows
after the last one shown", found through an index on the sort columns by reading only the page, and
its link carries that row's sort key, so it can be shared. Totals are counted up to a cap
(``capped_count``) and shown as "more than 10,000" beyond it; short lists whose total is known anyway
use numbered pages (``numbered_page``).

Each helper runs the same queries whether the list is empty or not (a page asks for one row more than
it shows, to know whether there is a next one): the queries a page makes never depend on its rows.
"""

import base64
import binascii
import json
import math
from dataclasses import dataclass
from functools import reduce
from operator import or_

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q, QuerySet
from django.http import QueryDict

COUNT_CAP = 10_000


@dataclass(frozen=True)
class Total:
    """How many rows a list has, or that it has more than ``value``."""

    value: int
    more: bool = False

    def __str__(self) -> str:
        return f"more than {self.value:,}" if self.more else f"{self.value:,}"

    @property
    def short(self) -> str:
        return f"{self.value:,}+" if self.more else f"{self.value:,}"


def capped_count(rows: QuerySet, cap: int = COUNT_CAP) -> Total:
    """Count ``rows`` up to ``cap``: ``SELECT count(*) FROM (… LIMIT cap + 1)`` stops reading there."""
    found = rows.order_by().values("pk")[: cap + 1].count()
    return Total(cap, more=True) if found > cap else Total(found)


@dataclass
class ListPage:
    """One page of a list; ``next_query`` and ``previous_query`` are the query strings of the
    neighbouring pages ("" when there is none)."""

    rows: list
    next_query: str = ""
    previous_query: str = ""
    number: int | None = None  # numbered pages only
    num_pages: int | None = None
    total: Total | None = None


def _query(params: QueryDict, **changes) -> str:
    params = params.copy()
    for key, value in changes.items():
        if value in (None, ""):
            params.pop(key, None)
        else:
            params[key] = value
    return "?" + params.urlencode()


# Keyset pages


def encode_key(values: list) -> str:
    """A sort key as it travels in page links (``after=…``, ``before=…``)."""
    text = json.dumps(values, separators=(",", ":"), default=str)  # dates and times as ISO text
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _decode(token: str, fields: list) -> list | None:
    """The sort key in a page link, as values of ``fields``; None when it is not one (a mangled link
    shows the first page)."""
    try:
        values = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        if not isinstance(values, list) or len(values) != len(fields) or not all(map(_plain, values)):
            return None
        values = [field.to_python(value) for field, value in zip(fields, values, strict=True)]
        for field, value in zip(fields, values, strict=True):
            field.run_validators(value)  # lengths and integer ranges the database would refuse
        return values
    except (binascii.Error, ValueError, TypeError, OverflowError, ValidationError):
        return None


def _plain(value) -> bool:
    """A key value as ``encode_key`` writes them: whole numbers and text (dates as ISO text) — not
    floats (``1e400`` overflows an integer field), not booleans, not text PostgreSQL refuses (NUL)."""
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, str) and "\x00" not in value)


def _beyond(order: list[tuple[str, bool]], values: list, *, forward: bool) -> Q:
    """Rows after ``values`` in ``order`` (before them when not ``forward``): (a, b, id) > (x, y, z)
    written as a > x OR (a = x AND b > y) OR (a = x AND b = y AND id > z), plus a >= x on its own,
    which lets an index on (a, b) start reading at x."""
    alternatives = []
    for n, (name, descending) in enumerate(order):
        equal = {order[m][0]: values[m] for m in range(n)}
        alternatives.append(Q(**equal, **{f"{name}__{'lt' if descending == forward else 'gt'}": values[n]}))
    condition = reduce(or_, alternatives)
    if len(order) > 1:
        name, descending = order[0]
        condition &= Q(**{f"{name}__{'lte' if descending == forward else 'gte'}": values[0]})
    return condition


def row_key(row, order: tuple[str, ...]) -> str:
    """The page-link key of ``row`` in a list sorted by ``order``."""
    return encode_key([getattr(row, name.removeprefix("-")) for name in order])


def _sorted(rows: list, order: list[tuple[str, bool]]) -> list:
    for name, descending in reversed(order):  # stable sorts, last key first
        rows.sort(key=lambda row: getattr(row, name), reverse=descending)
    return rows


def keyset_page(
    rows: QuerySet | list[QuerySet], *, order: tuple[str, ...], per_page: int, params: QueryDict
) -> ListPage:
    """The page of ``rows`` (sorted by ``order``, whose last field is unique, e.g. the id) after the
    key in ``params["after"]``, or before the one in ``params["before"]``; the first page without.

    ``rows`` may be several querysets of one model whose rows together make the list (a search by
    alternatives that no single index answers): each is asked for a page and the pages are merged in
    Python, so their sort fields must compare in Python as in the database: numbers and dates, not
    text (whose order is the database's collation). One queryset keeps the database's order."""
    parts = [rows] if isinstance(rows, QuerySet) else rows
    parsed = [(name.removeprefix("-"), name.startswith("-")) for name in order]
    fields = [parts[0].model._meta.get_field(name) for name, _ in parsed]
    if len(parts) > 1 and any(isinstance(field, models.CharField | models.TextField) for field in fields):
        raise ValueError("Merged pages need sort fields that compare in Python as in the database (not text).")
    after = _decode(params.get("after", ""), fields)
    before = None if after else _decode(params.get("before", ""), fields)
    going_back = before is not None
    key = before if going_back else after
    # Going back reads the list backwards from the key, then turns the page round.
    sorting = [("" if descending else "-") + name for name, descending in parsed] if going_back else list(order)
    found = {}
    for part in parts:
        if key:
            part = part.filter(_beyond(parsed, key, forward=not going_back))
        found.update((row.pk, row) for row in part.order_by(*sorting)[: per_page + 1])
    merged = list(found.values())  # one queryset: in the database's order, whatever its collation
    if len(parts) > 1:
        merged = _sorted(merged, [(name, descending != going_back) for name, descending in parsed])
    shown, more = merged[:per_page], len(merged) > per_page
    if going_back:
        shown.reverse()
        more_before, more_after = more, True
    else:
        more_before, more_after = after is not None, more
    next_query = previous_query = ""
    if shown and more_after:
        next_query = _query(params, after=row_key(shown[-1], order), before=None, page=None)
    if shown and more_before:
        previous_query = _query(params, before=row_key(shown[0], order), after=None, page=None)
    return ListPage(rows=shown, next_query=next_query, previous_query=previous_query)


# Numbered pages


def numbered_page(rows: QuerySet, *, count: int, per_page: int, params: QueryDict, param: str = "page") -> ListPage:
    """Page ``params[param]`` of ``rows``, whose number the caller already knows (``count``)."""
    num_pages = max(1, math.ceil(count / per_page))
    try:
        number = min(max(int(params.get(param, 1)), 1), num_pages)
    except (TypeError, ValueError):
        number = 1
    start = (number - 1) * per_page
    # The page's ids are found on the list's own table first and only those rows are joined (to what
    # select_related asks for): joined before the LIMIT, PostgreSQL may hash the whole related table.
    page_ids = rows.values("pk")[start : start + per_page]
    return ListPage(
        rows=list(rows.filter(pk__in=page_ids)),
        next_query=_query(params, **{param: number + 1}) if number < num_pages else "",
        previous_query=_query(params, **{param: number - 1}) if number > 1 else "",
        number=number,
        num_pages=num_pages,
        total=Total(count),
    )
