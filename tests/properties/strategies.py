"""Hypothesis strategies for bad input: CSV files as people (and attackers) make them, and text for
form fields. Shared by the property tests of this folder."""

import csv
import io
import os

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

# Bounded: the whole folder runs in about a minute. deadline=None: a request's time varies with the
# machine, and time is not what these tests are about.
# PROPERTY_SCALE=20 runs twenty times as many examples, new ones each run (a longer hunt, by hand).
SCALE = int(os.environ.get("PROPERTY_SCALE", "1"))
PROPERTY = settings(
    max_examples=30 * SCALE,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=SCALE == 1,  # in CI the same examples on every run, so it cannot go red by luck
    database=None,
)
FAST = settings(PROPERTY, max_examples=200 * SCALE)  # no database: cheap
FORMS = settings(PROPERTY, max_examples=15 * SCALE)  # a few requests each

ENCODINGS = ("utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "latin-1", "cp1252", "mac-roman")
ONE_IN_TEN = st.sampled_from([False] * 9 + [True])  # not st.integers: hypothesis favours its ends
LINE_ENDINGS = ("\n", "\r\n", "\r")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

NASTY = (
    "",
    " ",
    '"',
    '""',
    'a"b',
    "'",
    "'=1+1",
    '=HYPERLINK("http://evil.example","x")',
    "+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(A1:A9)",
    "\x00",
    "a\x00b",
    "\u202egnp.exe",
    "\ufeff",
    "😀",
    "Zoë Ñandú",
    "ß" * 3,
    "ＳＴＤ",
    "0",
    "-1",
    "1e309",
    "NaN",
    "99999999999999999999999999",
    "31-02-1990",
    "2024-13-01",
    "0000-00-00",
    "ada@example.com",
    "ADA@EXAMPLE.COM",
    "a@b",
    "@example.com",
    "user@[127.0.0.1]",
    "ada@bücher.example",
    "ａｄａ@example.com",
    "a" * 64 + "@" + ".".join(["b" * 63] * 3) + ".com",  # valid to Django's checker (up to 320), longer than 254
    "+31 6 1234 5678",
    "STD",
    "null",
    "None",
    "<script>alert(1)</script>",
    "'; DROP TABLE accounts_user; --",
    "\r\n",
    "\n\n",
    ",",
    ";",
)


def formula() -> st.SearchStrategy[str]:
    return st.builds(lambda start, rest: start + rest, st.sampled_from(FORMULA_STARTS), st.text(max_size=20))


def cell() -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(NASTY),
        st.text(max_size=30),
        formula(),
        st.emails().map(lambda e: e[:300]),
        st.from_regex(r"[A-Za-z]{1,12}", fullmatch=True),
        # Huge cells: longer than every column allows, still far under the upload limit.
        st.builds(lambda char, n: char * n, st.sampled_from('a9é😀 "=,'), st.integers(250, 70_000)),
    )


def header(columns: tuple[str, ...]) -> st.SearchStrategy[list[str]]:
    """Most of the time the kind's own columns (so rows get checked); otherwise shuffled, duplicated,
    missing, unknown or spelled as people spell them."""
    spelled = st.sampled_from(columns).flatmap(lambda c: st.sampled_from([c, c.upper(), c.replace("_", " "), f" {c} "]))
    return st.one_of(
        st.just(list(columns)),
        st.permutations(list(columns)),
        st.lists(st.one_of(st.sampled_from([*columns, "", "unknown", "Email", "\ufeffemail"]), cell()), max_size=12),
        st.lists(spelled, min_size=1, max_size=len(columns) + 3),
        st.builds(lambda cols, extra: [*cols, extra], st.just(list(columns)), st.sampled_from(columns)),  # twice
    )


def table(columns: tuple[str, ...], good: dict | None = None) -> st.SearchStrategy[list[list[str]]]:
    """A header and rows; rows of the header's width mostly, ragged sometimes. ``good`` gives, per
    column, a strategy of acceptable values, so that some files are clean and get imported."""
    good = good or {}

    def value(name: str) -> st.SearchStrategy[str]:
        return st.one_of(good[name], good[name], cell()) if name in good else cell()

    def rows_for(head: list[str]):
        even = st.tuples(*(value(name) for name in head)).map(list)
        ragged = st.lists(cell(), max_size=len(head) + 3)
        return st.lists(st.one_of(even, even, even, ragged), max_size=8).map(lambda rows: [head, *rows])

    messy = header(columns).flatmap(rows_for)
    if not good:
        return messy
    clean_row = st.tuples(*(good.get(name, st.just("")) for name in columns)).map(list)
    clean = st.lists(clean_row, min_size=1, max_size=6).map(lambda rows: [list(columns), *rows])
    return st.one_of(messy, messy, clean)


@st.composite
def csv_bytes(draw, columns: tuple[str, ...], good: dict | None = None) -> bytes:
    """A CSV file of the kind's columns with bad things in it, written by csv.writer or naively (so
    quotes go wrong), in some encoding, with some line ending, maybe a BOM, maybe NUL bytes."""
    rows = draw(table(columns, good))
    delimiter = draw(st.sampled_from([",", ",", ";", "\t"]))
    ending = draw(st.sampled_from(LINE_ENDINGS))
    if draw(st.booleans()):
        out = io.StringIO()
        csv.writer(out, delimiter=delimiter, lineterminator=ending).writerows(rows)
        text = out.getvalue()
    else:
        text = ending.join(delimiter.join(row) for row in rows) + draw(st.sampled_from(["", ending]))
    encoding = draw(st.sampled_from(["utf-8"] * 6 + list(ENCODINGS)))
    content = text.encode(encoding, errors="replace")
    if draw(ONE_IN_TEN):
        content = b"\xef\xbb\xbf" + content  # a BOM, sometimes in front of another encoding's bytes
    if draw(ONE_IN_TEN):
        at = draw(st.integers(0, len(content)))
        content = content[:at] + b"\x00" + content[at:]
    return content


def any_file(columns: tuple[str, ...], good: dict | None = None) -> st.SearchStrategy[bytes]:
    """Files shaped like CSV most of the time; arbitrary bytes otherwise."""
    return st.one_of(
        csv_bytes(columns, good),
        csv_bytes(columns, good),
        csv_bytes(columns, good),
        st.binary(min_size=1, max_size=2000),
        st.binary(min_size=1, max_size=200).map(lambda b: b"\xef\xbb\xbf" + b),
        st.builds(lambda head, tail: head + tail, st.just(",".join(columns).encode() + b"\n"), st.binary(max_size=500)),
    )


def field_text() -> st.SearchStrategy[str]:
    """What someone may type or post into a text field: anything, huge, formulas, control characters."""
    return st.one_of(
        st.sampled_from(NASTY),
        st.text(max_size=60),
        st.text(alphabet=st.characters(codec="utf-8"), max_size=30),
        formula(),
        st.emails(),
        st.builds(lambda char, n: char * n, st.sampled_from("a9é😀 @.\x00"), st.integers(100, 20_000)),
    )


def name_text() -> st.SearchStrategy[str]:
    """A name as anyone may have one: any letters, marks, symbols, emoji, formula-looking starts;
    one line, not blank."""
    letters = st.characters(exclude_categories=("Cc", "Cs", "Zl", "Zp"))
    return st.one_of(
        st.text(letters, min_size=1, max_size=60),
        st.builds(lambda start, rest: start + rest, st.sampled_from("=+-@"), st.text(letters, max_size=20)),
    ).filter(lambda t: t.strip() and all(ord(c) > 0x1F and c != "\x7f" for c in t))


@st.composite
def clean_csv(draw, columns: tuple[str, ...], good: dict, unique: str) -> bytes:
    """A file every row of which is acceptable (``unique``: the column no two rows may share),
    written by a spreadsheet: quoted where needed, comma or semicolon, any line ending, maybe a BOM."""
    row = st.fixed_dictionaries({name: good.get(name, st.just("")) for name in columns})
    rows = draw(st.lists(row, min_size=1, max_size=6, unique_by=lambda r: r[unique].strip().lower()))
    out = io.StringIO()
    writer = csv.writer(
        out, delimiter=draw(st.sampled_from([",", ";"])), lineterminator=draw(st.sampled_from(LINE_ENDINGS))
    )
    writer.writerow(columns)
    writer.writerows([[r[name] for name in columns] for r in rows])
    return out.getvalue().encode(draw(st.sampled_from(["utf-8", "utf-8-sig"])))
