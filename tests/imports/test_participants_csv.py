"""The participants CSV round trip through the pages, with real files: download, upload, the
validation page listing every problem by row and column, and Complete Import (clean files only,
exactly once). A bad file changes no participant and no code."""

import csv
import html
import io
import re
from datetime import date

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.template.defaultfilters import filesizeformat

from contracts.models import ContractEvent, EventKind, Participant
from contracts.services import price_delete
from imports.models import ImportJob, ImportStatus
from imports.services import ALREADY_COMMITTING, FILE_TOO_LARGE, NOT_READY
from invitations import codes as code_text
from invitations.models import InvitationCode

from ..factories import CodeFactory, ContractFactory, ParticipantFactory, PriceFactory

pytestmark = pytest.mark.django_db

HEADER = "participant_id,first_name,last_name,email,phone,date_of_birth,price_code,invitation_code"
COLUMNS = HEADER.split(",")
CLEAN = "No problems found. Nothing has changed yet."


@pytest.fixture
def contract(tenant):
    return ContractFactory(tenant=tenant, name="Onboarding 2025", invitation_prefix="ACME")


@pytest.fixture
def std(contract):
    return PriceFactory(contract=contract, price_code="STD")


@pytest.fixture
def student(contract):
    return PriceFactory(contract=contract, price_code="STUDENT")


@pytest.fixture
def ada(contract, std, student):
    return ParticipantFactory(contract=contract, first_name="Ada", last_name="Lovelace", email="ada@example.com")


@pytest.fixture
def alan(contract):
    return ParticipantFactory(contract=contract, first_name="Alan", last_name="Turing", email="alan@example.com")


def participants_url(contract, suffix=""):
    return f"/t/acme/contracts/{contract.pk}/participants/{suffix}"


def csv_file(*rows: str, header: str = HEADER, newline: str = "\n") -> bytes:
    return (newline.join([header, *rows]) + newline).encode()


def database() -> tuple:
    """Every participant and code as it is, to prove that a refused file changed nothing."""
    people = Participant.objects.order_by("id").values_list(
        "id", "contract_id", "first_name", "last_name", "email", "phone", "date_of_birth", "updated_at"
    )
    codes = InvitationCode.objects.order_by("id").values_list("id", "code", "participant_id", "price_id", "status")
    return list(people), list(codes)


def text(response) -> str:
    return html.unescape(response.content.decode())


def flashes(response) -> list[str]:
    return [html.unescape(m) for m in re.findall(r'<p class="flash flash-\w+">(.*?)</p>', response.content.decode())]


def problems(response) -> list[tuple]:
    """The validation page's problem table as (row, column, message); "—" reads as None."""
    table = re.search(r'<table class="table problems">(.*?)</table>', response.content.decode(), re.S)
    if table is None:
        return []
    found = []
    for row, column, message in re.findall(r"<tr><td>(.*?)</td><td>(.*?)</td><td>(.*?)</td></tr>", table.group(1)):
        column = re.sub(r"</?code>", "", column)
        found.append((None if row == "—" else int(row), None if column == "—" else column, html.unescape(message)))
    return found


def downloaded(response) -> bytes:
    return b"".join(response.streaming_content)


def rows_of(content: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))


@pytest.fixture
def upload(staff_http, contract, django_capture_on_commit_callbacks):
    """Post a file to the Participants tab; the validation task runs when the request commits."""

    def send(content: bytes, name: str = "participants.csv"):
        with django_capture_on_commit_callbacks(execute=True):
            return staff_http.post(participants_url(contract, "upload/"), {"file": SimpleUploadedFile(name, content)})

    return send


@pytest.fixture
def validate(upload, staff_http):
    """Upload a file and open the validation page it leads to."""

    def send(content: bytes, name: str = "participants.csv"):
        response = upload(content, name)
        job = ImportJob.objects.latest("id")
        assert response.url == f"/t/acme/imports/{job.pk}/"
        return staff_http.get(response.url)

    return send


@pytest.fixture
def complete(staff_http, django_capture_on_commit_callbacks):
    """Click "Complete Import" (the commit task runs when the request commits) and follow."""

    def click(job, times: int = 1):
        with django_capture_on_commit_callbacks(execute=True):
            for _ in range(times):
                response = staff_http.post(f"/t/acme/imports/{job.pk}/commit/")
        return staff_http.get(response.url)

    return click


# Download


def test_the_download_is_a_streamed_utf8_csv_with_a_bom_and_the_agreed_header(staff_http, contract, ada):
    response = staff_http.get(participants_url(contract, "download/"))

    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="participants-ACME.csv"'
    content = downloaded(response)
    assert content.startswith(b"\xef\xbb\xbf" + HEADER.encode() + b"\r\n")
    assert rows_of(content)[1:] == [[str(ada.pk), "Ada", "Lovelace", "ada@example.com", "", "", "", ""]]


def test_the_download_shows_each_code_of_a_participant_on_its_own_row(staff_http, contract, std, student, ada, alan):
    CodeFactory(price=std, participant=ada, code="ACME7KD9QX2MF4")
    CodeFactory(price=student, participant=ada, code="ACME00000ZZZZZ")
    CodeFactory(price=std, participant=alan, status="void")

    rows = rows_of(downloaded(staff_http.get(participants_url(contract, "download/"))))[1:]

    assert [(r[0], r[6], r[7]) for r in rows] == [
        (str(ada.pk), "STD", "ACME-7KD9Q-X2MF4"),
        (str(ada.pk), "STUDENT", "ACME-00000-ZZZZZ"),
        (str(alan.pk), "", ""),  # a void code is not offered again
    ]


def test_cells_that_a_spreadsheet_would_run_as_formulas_get_an_apostrophe(staff_http, contract):
    ParticipantFactory(
        contract=contract, first_name="=HYPERLINK(1)", last_name="@SUM(A1)", email="", phone="+31 6 1234 5678"
    )
    ParticipantFactory(contract=contract, first_name="-2+3", last_name="Plain", email="")

    rows = rows_of(downloaded(staff_http.get(participants_url(contract, "download/"))))[1:]

    assert [r[1:5] for r in rows] == [
        ["'=HYPERLINK(1)", "'@SUM(A1)", "", "'+31 6 1234 5678"],
        ["'-2+3", "Plain", "", ""],
    ]


def test_a_downloaded_file_uploaded_unchanged_is_clean_and_would_change_nothing(
    staff_http, validate, contract, std, ada
):
    ParticipantFactory(
        contract=contract,
        first_name="=cmd",
        last_name="Formula",
        email="",
        phone="+31 6 1234 5678",
        date_of_birth=date(1990, 12, 10),
    )
    CodeFactory(price=std, participant=ada)

    page = validate(downloaded(staff_http.get(participants_url(contract, "download/"))))

    assert CLEAN in text(page)
    assert ImportJob.objects.get().plan == {
        "participants to add": 0,
        "participants to update": 0,
        "invitation codes to generate": 0,
        "rows": 2,
    }


def test_the_download_never_lists_another_contracts_participants(staff_http, tenant, contract, ada):
    ParticipantFactory(contract=ContractFactory(tenant=tenant), last_name="Elsewhere")

    assert b"Elsewhere" not in downloaded(staff_http.get(participants_url(contract, "download/")))


def test_downloading_the_participants_csv_fixes_the_text_of_the_codes_it_shows(staff_http, contract, std, ada):
    code = CodeFactory(price=std, participant=ada)
    downloaded(staff_http.get(participants_url(contract, "download/")))

    page = text(staff_http.get(f"/t/acme/contracts/{contract.pk}/codes/{code.pk}/edit/"))

    assert "Fixed: the code was already shown, sent or used." in page


# Upload: every problem with its row and column, and nothing changes


def refused(page, before) -> list[tuple]:
    """The problems of a refused file, after checking the page says so and nothing changed."""
    assert database() == before
    job = ImportJob.objects.latest("id")
    assert job.status == ImportStatus.INVALID
    page_text = text(page)
    assert "Has problems" in page_text and "nothing was changed" in page_text
    assert "Complete Import" not in page_text
    return problems(page)


PROBLEM_FILES = {
    "unknown price code": (
        ["{ada},Ada,Lovelace,ada@example.com,,,GOLD,"],
        [(2, "price_code", "Unknown price code “GOLD”. This contract has: STD, STUDENT.")],
    ),
    "malformed email": (
        [",Grace,Hopper,grace@,,,STD,"],
        [(2, "email", "“grace@” is not a valid email address.")],
    ),
    "malformed date": (
        [",Grace,Hopper,grace@example.com,,1906-13-09,STD,"],
        [(2, "date_of_birth", "“1906-13-09” is not a date. Write it as 2001-12-31 (or 31-12-2001).")],
    ),
    "implausibly old date": (
        [",Grace,Hopper,grace@example.com,,1850-12-09,STD,"],
        [(2, "date_of_birth", "“1850-12-09” is not a plausible date of birth.")],
    ),
    "date in the future": (
        [",Grace,Hopper,grace@example.com,,2999-01-01,STD,"],
        [(2, "date_of_birth", "“2999-01-01” is not a plausible date of birth.")],
    ),
    "malformed phone": (
        [",Grace,Hopper,grace@example.com,call me,,STD,"],
        [(2, "phone", "“call me” is not a phone number (digits, spaces and + ( ) - only).")],
    ),
    "missing name": (
        [",,Hopper,grace@example.com,,,STD,"],
        [(2, "first_name", "This cell is empty; every participant needs a first and last name.")],
    ),
    "same participant and price twice": (
        ["{ada},Ada,Lovelace,ada@example.com,,,STD,", "{ada},Ada,Lovelace,ada@example.com,,,std,"],
        [(3, None, "Duplicate of row 2: the same participant and price code.")],
    ),
    "two new rows with one email, other names and prices": (
        [",Grace,Hopper,grace@example.com,,,STD,", ",Gracie,Hopper,grace@example.com,,,STUDENT,"],
        [(3, None, "Row 2 gives other details for this participant.")],
    ),
    "two new rows with one email, other names, same price": (
        [",Grace,Hopper,grace@example.com,,,STD,", ",Gracie,Hopper,Grace@Example.com,,,STD,"],
        [(3, None, "Duplicate of row 2: the same participant and price code.")],
    ),
    "unknown participant id": (
        ["999999,Ada,Lovelace,ada@example.com,,,STD,"],
        [(2, "participant_id", "No participant 999999 in this contract. Leave it empty for a new participant.")],
    ),
    "non-numeric participant id": (
        ["A-17,Ada,Lovelace,ada@example.com,,,STD,"],
        [(2, "participant_id", "“A-17” is not a participant id. Leave it empty for a new participant.")],
    ),
    "participant of another contract": (
        ["{elsewhere},Ada,Lovelace,ada@example.com,,,STD,"],
        [(2, "participant_id", "No participant {elsewhere} in this contract. Leave it empty for a new participant.")],
    ),
    "participant of another tenant": (
        ["{stranger},Ada,Lovelace,ada@example.com,,,STD,"],
        [(2, "participant_id", "No participant {stranger} in this contract. Leave it empty for a new participant.")],
    ),
    "ragged row": (
        ["{ada},Ada,Lovelace,ada@example.com,,,STD,", ",Grace,Hopper,grace@example.com,,STD,"],
        [(3, None, "This row has 7 cells but the header has 8. Check for a stray ',' or a missing cell.")],
    ),
}


@pytest.mark.parametrize("case", PROBLEM_FILES, ids=lambda case: case.replace(" ", "_"))
def test_a_row_problem_is_listed_with_its_row_and_column_and_changes_nothing(
    validate, tenant, other_tenant, contract, ada, case
):
    ids = {
        "ada": ada.pk,
        "elsewhere": ParticipantFactory(contract=ContractFactory(tenant=tenant)).pk,
        "stranger": ParticipantFactory(contract=ContractFactory(tenant=other_tenant)).pk,
    }
    lines, expected = PROBLEM_FILES[case]
    before = database()

    page = validate(csv_file(*(line.format(**ids) for line in lines)))

    assert refused(page, before) == [(row, column, message.format(**ids)) for row, column, message in expected]


HEADER_PROBLEMS = {
    "missing required column": (
        "participant_id,first_name,last_name,phone,price_code",
        [(1, "email", "This column is missing.")],
    ),
    "unknown column": (
        "first_name,last_name,email,price_code,nickname",
        [(1, "nickname", f"Unknown column. Expected columns: {', '.join(COLUMNS)}.")],
    ),
    "tabs instead of commas or semicolons": (
        HEADER.replace(",", "\t"),
        [
            (1, "email", "This column is missing."),
            (1, "first_name", "This column is missing."),
            (1, "last_name", "This column is missing."),
            (1, "_".join(COLUMNS), f"Unknown column. Expected columns: {', '.join(COLUMNS)}."),
            (1, "price_code", "This column is missing."),
        ],
    ),
    "duplicated column": (
        "first_name,last_name,email,price_code,first_name",
        [(1, "first_name", "This column appears twice.")],
    ),
}


@pytest.mark.parametrize("case", HEADER_PROBLEMS, ids=lambda case: case.replace(" ", "_"))
def test_a_header_problem_is_listed_on_row_1_with_the_column_and_changes_nothing(validate, ada, case):
    header, expected = HEADER_PROBLEMS[case]
    before = database()

    page = validate(csv_file("Grace,Hopper,grace@example.com,STD,x", header=header))

    assert refused(page, before) == expected


def test_a_file_that_is_not_utf8_names_the_line_and_changes_nothing(validate, ada):
    before = database()
    content = f"{HEADER}\n{ada.pk},Ada,Lovelace,ada@example.com,,,STD,\n,Zoé,Hopper,zoe@example.com,,,STD,\n"

    page = validate(content.encode("latin-1"))

    assert refused(page, before) == [
        (
            3,
            None,
            "The file is not UTF-8 text (the first odd byte is on line 3). Save it as “CSV UTF-8” and upload again.",
        )
    ]


def test_a_file_with_nul_bytes_is_refused_and_changes_nothing(validate, ada):
    before = database()

    page = validate(csv_file(",Grace,Hopper,grace@example.com,,,STD,\x00"))

    assert refused(page, before) == [
        (None, None, "This is not a text file (it contains NUL bytes). Upload a CSV file.")
    ]


def test_an_empty_file_is_refused_on_the_participants_tab_and_keeps_no_job(staff_http, upload, contract, ada):
    before = database()

    response = upload(b"")

    assert response.url == participants_url(contract)
    assert flashes(staff_http.get(response.url)) == ["The submitted file is empty."]
    assert not ImportJob.objects.exists() and database() == before


def test_a_file_of_blank_lines_is_refused_as_empty(validate, ada):
    before = database()

    assert refused(validate(b"\r\n \r\n"), before) == [(None, None, "The file is empty.")]


def test_a_file_with_a_header_only_is_refused(validate, ada):
    before = database()

    assert refused(validate(csv_file()), before) == [(None, None, "The file has a header but no rows.")]


def test_a_file_larger_than_the_limit_is_refused_before_it_is_kept(staff_http, upload, contract, ada, settings):
    settings.IMPORT_MAX_BYTES = 1024 * 1024
    before = database()
    row = ",Grace,Hopper,grace@example.com,,,STD,"

    response = upload(csv_file(*[row] * (1024 * 1024 // len(row) + 1)))

    assert response.url == participants_url(contract)
    assert flashes(staff_http.get(response.url)) == [
        FILE_TOO_LARGE.format(limit=filesizeformat(settings.IMPORT_MAX_BYTES))
    ]
    assert not ImportJob.objects.exists() and database() == before


def test_a_file_with_more_rows_than_the_limit_is_refused(validate, ada, settings):
    settings.IMPORT_MAX_ROWS = 2
    before = database()

    page = validate(csv_file(*[f",Grace{n},Hopper,grace{n}@example.com,,,STD," for n in range(3)]))

    assert refused(page, before) == [(None, None, "The file has more than 2 rows. Split it into smaller files.")]


def test_a_row_with_bad_quoting_is_named_and_changes_nothing(validate, ada):
    before = database()

    page = validate(
        csv_file(f"{ada.pk},Ada,Lovelace,ada@example.com,,,STD,", ',"Grace"x,Hopper,grace@example.com,,,STD,')
    )

    [(row, column, message)] = refused(page, before)
    assert (row, column) == (3, None)
    assert message.startswith("This row cannot be read as CSV: ") and message.endswith(" Check its quotes.")


def test_every_problem_of_a_file_is_listed_in_row_order(validate, ada):
    before = database()

    page = validate(
        csv_file(
            ",Grace,Hopper,grace@,,,GOLD,",
            f"{ada.pk},Ada,Lovelace,ada@example.com,,31-02-1990,STD,",
            "abc,Alan,,alan@example.com,,,STD,",
        )
    )

    assert refused(page, before) == [
        (2, "email", "“grace@” is not a valid email address."),
        (2, "price_code", "Unknown price code “GOLD”. This contract has: STD, STUDENT."),
        (3, "date_of_birth", "“31-02-1990” is not a date. Write it as 2001-12-31 (or 31-12-2001)."),
        (4, "last_name", "This cell is empty; every participant needs a first and last name."),
        (4, "participant_id", "“abc” is not a participant id. Leave it empty for a new participant."),
    ]
    assert "5 problems to fix — nothing was changed" in text(page)


def test_a_ragged_row_does_not_hide_the_problems_of_the_other_rows(validate, ada):
    page = validate(csv_file(",Grace,Hopper,grace@example.com,,STD,", f"{ada.pk},Ada,Lovelace,ada@example.com,,,GOLD,"))

    assert [(row, column) for row, column, _ in problems(page)] == [(2, None), (3, "price_code")]


def test_a_participant_id_of_superscript_digits_is_a_problem_not_a_stuck_job(validate, ada):
    page = validate(csv_file("²,Ada,Lovelace,ada@example.com,,,STD,"))

    assert problems(page) == [
        (2, "participant_id", "“²” is not a participant id. Leave it empty for a new participant.")
    ]


def test_two_rows_giving_two_participants_one_new_email_are_refused_at_validation(validate, complete, ada):
    before = database()

    page = validate(csv_file(f"{ada.pk},Ada,Lovelace,new@example.com,,,,", ",Grace,Hopper,new@example.com,,,STD,"))
    if CLEAN in text(page):  # what happens today: a "clean" file whose import fails
        page = complete(ImportJob.objects.get())

    assert ImportJob.objects.get().status == ImportStatus.INVALID
    assert [(row, column) for row, column, _ in problems(page)] == [(3, "email")]
    assert database() == before


# Upload: what spreadsheets write is accepted

GOOD_ROWS = [
    "{ada},Ada,Lovelace,ada@example.com,,10-12-1990,STD,",
    ',Grace,"Hopper, Rear Admiral",grace@example.com,"+1 (555) 010-9999",09.12.1906,student,',
]


def spreadsheet_variants(ada_id: int) -> dict[str, bytes]:
    rows = [row.format(ada=ada_id) for row in GOOD_ROWS]
    plain = csv_file(*rows)
    semicolon = "\n".join(
        [HEADER.replace(",", ";")]
        + [f"{ada_id};Ada;Lovelace;ada@example.com;;10-12-1990;STD;"]
        + [';Grace;"Hopper, Rear Admiral";grace@example.com;"+1 (555) 010-9999";09.12.1906;student;']
    ).encode()
    return {
        "utf-8 without bom": plain,
        "utf-8 with bom": b"\xef\xbb\xbf" + plain,
        "semicolons": semicolon,
        "semicolons, crlf and bom": b"\xef\xbb\xbf" + semicolon.replace(b"\n", b"\r\n") + b"\r\n",
        "crlf": csv_file(*rows, newline="\r\n"),
        "headers as people type them": csv_file(
            *rows, header="Participant ID, First Name ,Last-Name,EMAIL,Phone,Date of birth,Price code,Invitation code"
        ),
        "a quoted newline inside a cell and blank lines": csv_file(
            rows[0], "", rows[1].replace("Rear Admiral", "Rear\nAdmiral"), ""
        ),
    }


@pytest.mark.parametrize(
    "variant", list(spreadsheet_variants(0)), ids=lambda variant: variant.replace(" ", "_").replace(",", "")
)
def test_what_spreadsheets_write_validates_clean(validate, ada, variant):
    page = validate(spreadsheet_variants(ada.pk)[variant])

    assert CLEAN in text(page) and "Complete Import" in text(page)
    assert ImportJob.objects.get().plan == {
        "participants to add": 1,
        "participants to update": 1,
        "invitation codes to generate": 2,
        "rows": 2,
    }


def test_a_quoted_cell_keeps_its_comma_and_newline_after_the_import(validate, complete, contract, ada):
    content = spreadsheet_variants(ada.pk)["a quoted newline inside a cell and blank lines"]
    validate(content)

    complete(ImportJob.objects.get())

    grace = Participant.objects.get(contract=contract, email="grace@example.com")
    assert (grace.last_name, grace.phone, grace.date_of_birth) == (
        "Hopper, Rear\nAdmiral",
        "+1 (555) 010-9999",
        date(1906, 12, 9),
    )


# Complete Import


def test_an_invalid_file_cannot_be_completed(staff_http, validate, complete, ada):
    validate(csv_file(f"{ada.pk},Ada,Lovelace,ada@example.com,,,GOLD,"))
    before = database()

    page = complete(ImportJob.objects.get())

    assert NOT_READY.format(status="has problems") in flashes(page)
    assert ImportJob.objects.get().status == ImportStatus.INVALID
    assert database() == before


def test_the_validation_page_says_what_completing_would_do(validate, ada):
    page = text(
        validate(csv_file(f"{ada.pk},Ada,Lovelace,ada@example.com,,,STD,", ",Grace,Hopper,g@example.com,,,STD,"))
    )

    assert CLEAN in page
    for line in [
        "1</strong> participant to add",
        "0</strong> participants to update",
        "2</strong> invitation codes to generate",
    ]:
        assert line in page


def test_completing_a_clean_file_creates_updates_and_gives_one_code_per_priced_row(
    validate, complete, contract, std, student, ada, alan
):
    validate(
        csv_file(
            f"{ada.pk},Ada,Lovelace,ada@example.com,+44 20 7946 0000,1990-12-10,STD,",
            f"{ada.pk},Ada,Lovelace,ada@example.com,+44 20 7946 0000,1990-12-10,STUDENT,",
            f"{alan.pk},Alan,Turing,alan@example.com,,,,",
            ",Grace,Hopper,Grace@Example.com,,,STD,",
        )
    )

    page = complete(ImportJob.objects.get())

    assert "Imported" in text(page)
    for line in [
        "1</strong> participant added",
        "1</strong> participant updated",
        "3</strong> invitation codes generated",
    ]:
        assert line in text(page)
    ada.refresh_from_db()
    assert (ada.phone, ada.date_of_birth) == ("+44 20 7946 0000", date(1990, 12, 10))
    grace = Participant.objects.get(contract=contract, email="grace@example.com")
    codes = InvitationCode.objects.order_by("participant_id", "price__price_code")
    assert [(c.participant, c.price, c.code[:4], len(c.code)) for c in codes] == [
        (ada, std, "ACME", 14),
        (ada, student, "ACME", 14),
        (grace, std, "ACME", 14),
    ]
    assert not InvitationCode.objects.filter(participant=alan).exists()


def test_the_same_file_imported_twice_generates_no_second_code(validate, complete, ada, alan):
    content = csv_file(
        f"{ada.pk},Ada,Lovelace,ada@example.com,,,STD,", f"{alan.pk},Alan,Turing,alan@example.com,,,STD,"
    )
    validate(content)
    complete(ImportJob.objects.get())
    codes = database()[1]

    second = validate(content)

    assert ImportJob.objects.latest("id").plan["invitation codes to generate"] == 0
    assert "0</strong> invitation codes to generate" in text(second)
    page = complete(ImportJob.objects.latest("id"))
    assert "0</strong> invitation codes generated" in text(page)
    assert database()[1] == codes and len(codes) == 2


def test_new_rows_uploaded_again_match_the_participants_they_made_and_make_no_second_code(
    validate, complete, contract, std
):
    content = csv_file(",Grace,Hopper,grace@example.com,,,STD,")
    validate(content)
    complete(ImportJob.objects.get())
    before = database()

    validate(content)
    complete(ImportJob.objects.order_by("-pk").first())

    assert database() == before  # the same participant, the same single code
    assert ImportJob.objects.order_by("-pk").first().summary["invitation codes generated"] == 0


def test_a_row_without_an_id_is_matched_to_the_participant_with_its_email(validate, complete, contract, std, ada):
    validate(csv_file(",Augusta,King,ADA@example.com,,,STD,"))
    complete(ImportJob.objects.get())

    ada.refresh_from_db()
    assert Participant.objects.filter(contract=contract).count() == 1
    assert (ada.first_name, ada.last_name) == ("Augusta", "King")
    assert InvitationCode.objects.filter(participant=ada, price=std).count() == 1


def test_clicking_complete_twice_imports_once(validate, complete, contract, ada):
    validate(csv_file(f"{ada.pk},Ada,Lovelace,ada@example.com,,,STD,", ",Grace,Hopper,grace@example.com,,,STD,"))

    page = complete(ImportJob.objects.get(), times=2)

    assert ALREADY_COMMITTING in flashes(page)
    assert ImportJob.objects.get().status == ImportStatus.COMMITTED
    assert Participant.objects.filter(contract=contract).count() == 2
    assert InvitationCode.objects.count() == 2
    assert ContractEvent.objects.filter(contract=contract, kind=EventKind.IMPORT_COMMITTED).count() == 1


def test_completing_again_after_the_import_changes_nothing(validate, complete, ada):
    validate(csv_file(",Grace,Hopper,grace@example.com,,,STD,"))
    complete(ImportJob.objects.get())
    after = database()

    page = complete(ImportJob.objects.get())

    assert ALREADY_COMMITTING in flashes(page)
    assert database() == after


def test_a_file_that_went_bad_before_completing_goes_back_to_its_problems(
    tenant, validate, complete, contract, student, ada
):
    validate(csv_file(f"{ada.pk},Ada,Lovelace,ada@example.com,,,STUDENT,", ",Grace,Hopper,grace@example.com,,,STD,"))
    price_delete(tenant=tenant, contract=contract, price=student, actor=None)
    before = database()

    page = complete(ImportJob.objects.get())

    assert refused(page, before) == [(2, "price_code", "Unknown price code “STUDENT”. This contract has: STD.")]


def test_after_the_import_the_download_shows_the_codes_next_to_the_participants(
    staff_http, validate, complete, contract, ada, alan
):
    validate(csv_file(f"{ada.pk},Ada,Lovelace,ada@example.com,,,STD,", f"{alan.pk},Alan,Turing,alan@example.com,,,,"))
    complete(ImportJob.objects.get())
    code = InvitationCode.objects.get()

    rows = rows_of(downloaded(staff_http.get(participants_url(contract, "download/"))))[1:]

    assert [(r[0], r[6], r[7]) for r in rows] == [
        (str(ada.pk), "STD", code_text.display(code.code, "ACME")),
        (str(alan.pk), "", ""),
    ]
    assert rows[0][7].startswith("ACME-")


def test_the_import_history_shows_each_outcome_and_offers_the_file_again(staff_http, validate, complete, contract, ada):
    bad = csv_file(f"{ada.pk},Ada,Lovelace,ada@example.com,,,GOLD,")
    good = "\ufeffparticipant_id;first_name;last_name;email;price_code\r\n;Zoé;Hopper;zoe@example.com;STD\r\n".encode()
    validate(bad, name="first try.csv")
    validate(good, name="second try.csv")
    complete(ImportJob.objects.get(original_name="second try.csv"))

    def outcome(page, name) -> str:
        """The outcome cell of a file's row in an import history (the list adds a Kind column)."""
        row = re.search(
            rf"{re.escape(name)}</a></td>\s*(?:<td>Participants</td>\s*)?<td>1</td>\s*<td>(.*?)</td>", page, re.S
        )
        return " ".join(re.sub(r"<[^>]+>", " ", row.group(1)).split())

    for url in [participants_url(contract), "/t/acme/imports/"]:
        page = text(staff_http.get(url))
        assert outcome(page, "first try.csv") == "Has problems 1 problem"
        assert outcome(page, "second try.csv").startswith("Imported")
    assert "1 participant added, 0 participants updated, 1 invitation code generated" in text(
        staff_http.get(participants_url(contract))
    )
    for job, content in [
        (ImportJob.objects.get(original_name="first try.csv"), bad),
        (ImportJob.objects.get(original_name="second try.csv"), good),
    ]:
        response = staff_http.get(f"/t/acme/imports/{job.pk}/file/")
        assert response.status_code == 200 and response.content == content


def test_the_import_history_of_a_contract_lists_only_its_own_files(staff_http, tenant, validate, contract, ada):
    validate(csv_file(f"{ada.pk},Ada,Lovelace,ada@example.com,,,STD,"), name="mine.csv")
    other = ContractFactory(tenant=tenant)

    assert "mine.csv" not in text(staff_http.get(participants_url(other)))
    assert "No files uploaded for this contract yet." in text(staff_http.get(participants_url(other)))


@pytest.mark.parametrize(
    "row, column, message",
    [
        (",Long,Mail," + "a" * 250 + "@example.com,,,STD,", "email", "Longer than 254 characters."),
        ("1" * 5000 + ",Ada,Lovelace,ada@example.com,,,STD,", "participant_id", "is not a participant id"),
    ],
    ids=["email-over-254", "id-of-5000-digits"],
)
def test_cells_the_database_cannot_hold_are_problems_at_validation(validate, contract, std, row, column, message):
    before = database()
    page = validate(csv_file(row))
    assert any(column == c and message in m for _, c, m in refused(page, before))
