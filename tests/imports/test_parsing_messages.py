"""What the upload check says about files people really make: UTF-16 from a spreadsheet, a cell too
long to read, a file of blank lines — a clear message, and reading stops early."""

import csv

from django.test import Client as HttpClient

from imports.parsing import parse_csv

COLUMNS, REQUIRED = ("email", "name"), ("email",)


def parse(content: bytes, max_rows: int = 10):
    return parse_csv(content, columns=COLUMNS, required=REQUIRED, max_rows=max_rows)


def messages(parsed) -> list[str]:
    return [problem.message for problem in parsed.problems]


def test_a_utf16_file_says_how_to_save_it():
    parsed = parse("email,name\nana@example.com,Ana\n".encode("utf-16"))
    assert parsed.rows == [] and messages(parsed) == [
        "The file is saved as UTF-16 or UTF-32 (“Unicode Text”). Save it as “CSV UTF-8” and upload again."
    ]


def test_a_cell_too_long_to_read_is_named_as_such():
    huge = "x" * (csv.field_size_limit() + 1)
    parsed = parse(f'email,name\nana@example.com,"{huge}"\n'.encode())
    assert messages(parsed) == [f"This row has a cell longer than {csv.field_size_limit():,} characters."]


def test_a_file_of_blank_lines_is_refused_before_it_is_read_to_its_end():
    content = b"email,name\n" + b",\n" * 1000 + b"ana@example.com,Ana\n"
    parsed = parse(content, max_rows=10)
    assert parsed.rows == [] and messages(parsed) == ["The file has more than 10 rows. Split it into smaller files."]
    # A few blank lines among the rows are still fine.
    fine = parse(b"email,name\n\n,\nana@example.com,Ana\n,\n", max_rows=10)
    assert [row["email"] for row in fine.rows] == ["ana@example.com"] and not fine.problems


def test_a_nul_byte_in_any_path_is_not_found(db, tenant):
    assert HttpClient().get("/t/acme/register/s/abc%00def/").status_code == 404
    assert HttpClient().get("/accounts/login/%00").status_code == 404
