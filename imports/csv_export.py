"""Streamed CSV downloads, safe to open in a spreadsheet.

Cells that a spreadsheet would run as a formula (starting with = + - @, tab or carriage return)
get a leading apostrophe; our imports take it off again, so a file survives the round trip.
"""

import csv
from typing import Callable, Iterable

from django.http import StreamingHttpResponse

from tenancy.scoping import isolated_scope

from .parsing import FORMULA_START


def safe_cell(value) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


class _Line:
    def write(self, value):
        return value


def stream_csv(
    *, tenant, filename: str, header: list[str], rows: Callable[[], Iterable[list]]
) -> StreamingHttpResponse:
    """``rows`` is called while the response streams — after the request's tenant scope has ended —
    so it runs inside a scope of its own."""

    def lines():
        writer = csv.writer(_Line())
        with isolated_scope(tenant=tenant):
            yield "\ufeff" + writer.writerow(header)
            for row in rows():
                yield writer.writerow([safe_cell(cell) for cell in row])

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
