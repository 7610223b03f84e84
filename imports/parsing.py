"""Reading what spreadsheets write: UTF-8 with or without BOM, comma or semicolon, CRLF, quoted
fields. Every problem is reported with its row (as a spreadsheet numbers it: the header is row 1)
and column, in words a person can act on."""

import csv
import io
from dataclasses import asdict, dataclass

from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Problem:
    row: int | None
    column: str | None
    message: str

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class ParsedFile:
    rows: list[dict]  # each with "_row": its row number
    problems: list[Problem]


def header_name(text: str) -> str:
    return "_".join(text.strip().strip("\ufeff").lower().replace("-", " ").split())


def _unneutralise(cell: str) -> str:
    """Our exports put ' before cells that would start a formula; take it off again on the way in."""
    if len(cell) > 1 and cell[0] == "'" and cell[1].startswith(FORMULA_START):
        return cell[1:]
    return cell


SAVED_AS_WIDE_UNICODE = gettext_noop(
    "The file is saved as UTF-16 or UTF-32 (“Unicode Text”). Save it as “CSV UTF-8” and upload again."
)


def _decode(content: bytes) -> tuple[str | None, Problem | None]:
    if not content.strip():
        return None, Problem(None, None, "The file is empty.")
    if content.startswith((b"\xff\xfe", b"\xfe\xff")):
        return None, Problem(None, None, _(SAVED_AS_WIDE_UNICODE))
    if b"\x00" in content:
        return None, Problem(None, None, "This is not a text file (it contains NUL bytes). Upload a CSV file.")
    try:
        return content.decode("utf-8-sig"), None
    except UnicodeDecodeError as exc:
        line = content[: exc.start].count(b"\n") + 1
        return None, Problem(
            line,
            None,
            f"The file is not UTF-8 text (the first odd byte is on line {line}). "
            "Save it as “CSV UTF-8” and upload again.",
        )


def _delimiter(text: str) -> str:
    first_line = text.split("\n", 1)[0]
    return ";" if first_line.count(";") > first_line.count(",") else ","


def parse_csv(content: bytes, *, columns: tuple[str, ...], required: tuple[str, ...], max_rows: int) -> ParsedFile:
    text, problem = _decode(content)
    if problem:
        return ParsedFile([], [problem])
    delimiter = _delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    problems: list[Problem] = []
    try:
        header = [header_name(cell) for cell in next(reader)]
    except (StopIteration, csv.Error) as exc:
        return ParsedFile([], [Problem(1, None, f"The first row cannot be read as CSV headers ({exc}).")])
    problems += _header_problems(header, columns, required)
    if problems:
        return ParsedFile([], problems)
    unnamed = [i for i, name in enumerate(header) if not name]  # e.g. a trailing delimiter
    rows: list[dict] = []
    row_number = 1
    try:
        for cells in reader:
            row_number += 1
            if row_number - 1 > 2 * max_rows:  # blank lines count too, or a file of them is read to its end
                return ParsedFile(
                    [], [Problem(None, None, f"The file has more than {max_rows:,} rows. Split it into smaller files.")]
                )
            if not any(cell.strip() for cell in cells):
                continue
            if len(rows) >= max_rows:
                return ParsedFile(
                    [], [Problem(None, None, f"The file has more than {max_rows:,} rows. Split it into smaller files.")]
                )
            if len(cells) != len(header):
                problems.append(
                    Problem(
                        row_number,
                        None,
                        f"This row has {len(cells)} cells but the header has {len(header)}. "
                        f"Check for a stray {delimiter!r} or a missing cell.",
                    )
                )
                continue
            if any(cells[i].strip() for i in unnamed):
                problems.append(Problem(row_number, None, "This row has a value in a column without a header name."))
                continue
            row = {name: _unneutralise(cell.strip()) for name, cell in zip(header, cells, strict=True) if name}
            row["_row"] = row_number
            rows.append(row)
    except csv.Error as exc:
        if "field larger than field limit" in str(exc):
            problems.append(
                Problem(row_number + 1, None, f"This row has a cell longer than {csv.field_size_limit():,} characters.")
            )
        else:
            problems.append(Problem(row_number + 1, None, f"This row cannot be read as CSV: {exc}. Check its quotes."))
    if not rows and not problems:
        problems.append(Problem(None, None, "The file has a header but no rows."))
    return ParsedFile(rows, problems)


def _header_problems(header: list[str], columns: tuple[str, ...], required: tuple[str, ...]) -> list[Problem]:
    problems = []
    seen = set()
    for name in header:
        if not name:
            continue  # ignored, as long as no row puts a value under it
        if name in seen:
            problems.append(Problem(1, name, "This column appears twice."))
        elif name not in columns:
            problems.append(Problem(1, name, f"Unknown column. Expected columns: {', '.join(columns)}."))
        seen.add(name)
    for name in required:
        if name not in seen:
            problems.append(Problem(1, name, "This column is missing."))
    return problems
