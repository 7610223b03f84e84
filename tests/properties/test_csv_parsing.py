"""Properties of reading an uploaded CSV (imports/parsing.py), for the columns of every import kind:
whatever the bytes, reading ends with rows or with problems a person can read, never an exception;
and a file of a million rows is refused after reading just past the row limit, not all of it."""

import csv

import pytest
from hypothesis import given
from hypothesis import strategies as st

from imports import parsing, registry
from imports.parsing import parse_csv

from .strategies import FAST, any_file

KINDS = ("contracts.participants", "regcodes.learners", "invitations.code_sends")
MAX_ROWS = 50


def kind(key: str) -> registry.ImportKind:
    found = registry.get(key)
    assert found is not None, f"{key} is no longer registered: update this test's list of kinds"
    return found


def read(content: bytes, key: str, max_rows: int = MAX_ROWS) -> parsing.ParsedFile:
    spec = kind(key)
    return parse_csv(content, columns=spec.columns, required=spec.required, max_rows=max_rows)


def test_every_import_kind_is_covered_here():
    """A new kind of import must join these properties (and those of test_csv_imports.py)."""
    assert set(registry._kinds) == set(KINDS)


@pytest.mark.parametrize("key", KINDS)
@FAST
@given(data=st.data())
def test_any_bytes_give_rows_or_readable_problems(key, data):
    spec = kind(key)
    content = data.draw(any_file(spec.columns), label="file")

    parsed = read(content, key)

    for problem in parsed.problems:
        assert problem.message.strip(), problem
        assert problem.row is None or problem.row >= 1
        assert problem.column is None or problem.column
    if not parsed.problems:
        assert parsed.rows, "a file without problems has rows to import"
    assert len(parsed.rows) <= MAX_ROWS
    for row in parsed.rows:
        assert set(row) - {"_row"} <= set(spec.columns)
        assert set(spec.required) <= set(row)
        assert all(isinstance(value, str) and "\x00" not in value for name, value in row.items() if name != "_row")
    if b"\x00" in content:
        assert not parsed.rows and parsed.problems


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-32"])
def test_a_wide_unicode_file_is_refused_with_a_message(encoding):
    parsed = read("first_name,last_name,email\nZoë,Ng,zoe@example.com\n".encode(encoding), "regcodes.learners")

    assert not parsed.rows
    with_bom = encoding in ("utf-16", "utf-32")  # Python writes a BOM for these two
    assert [p.message for p in parsed.problems] == [
        "The file is saved as UTF-16 or UTF-32 (“Unicode Text”). Save it as “CSV UTF-8” and upload again."
        if with_bom
        else "This is not a text file (it contains NUL bytes). Upload a CSV file."
    ]


def test_a_latin_1_file_is_refused_with_the_line_of_its_first_odd_byte():
    content = "first_name,last_name,email\nAda,Ng,ada@example.com\nZoë,Ng,zoe@example.com\n".encode("latin-1")

    parsed = read(content, "regcodes.learners")

    assert not parsed.rows
    assert [(p.row, p.message.split(" (")[0]) for p in parsed.problems] == [(3, "The file is not UTF-8 text")]


def test_a_bom_and_spreadsheet_formulas_escaped_by_our_export_are_read_back():
    content = "\ufeffrecipient,name,codes\r\nada@example.com,'=Ada,1\r\n".encode()

    parsed = read(content, "invitations.code_sends")

    assert parsed.problems == []
    assert parsed.rows == [{"recipient": "ada@example.com", "name": "=Ada", "codes": "1", "_row": 2}]


@pytest.mark.parametrize("key", KINDS)
def test_a_million_row_file_is_refused_after_reading_just_past_the_limit(key, monkeypatch):
    spec = kind(key)
    row = ",".join("x" for _ in spec.columns) + "\n"
    content = (",".join(spec.columns) + "\n" + row * 1_000_000).encode()
    read_rows, real_reader = [], csv.reader

    def counting_reader(*args, **kwargs):
        for cells in real_reader(*args, **kwargs):
            read_rows.append(1)
            yield cells

    monkeypatch.setattr(parsing.csv, "reader", counting_reader)

    parsed = parse_csv(content, columns=spec.columns, required=spec.required, max_rows=100_000)

    assert parsed.rows == []
    assert [p.message for p in parsed.problems] == ["The file has more than 100,000 rows. Split it into smaller files."]
    assert len(read_rows) <= 100_002  # the header, the rows allowed and the one too many: not a million
