"""The staged import pipeline on its own: reading what spreadsheets write, validating without
writing, committing a clean file atomically and exactly once, and picking up lost tasks."""

import dataclasses
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from contracts.models import ContractEvent, EventKind, Participant
from contracts.participants_csv import KIND
from imports import registry
from imports.models import ImportJob, ImportStatus
from imports.parsing import Problem, parse_csv
from imports.services import (
    ALREADY_COMMITTING,
    COMMIT_FAILED,
    MAX_PROBLEMS_KEPT,
    NOT_READY,
    import_commit,
    import_request_commit,
    import_validate,
)
from imports.tasks import resume_imports
from invitations.models import InvitationCode

from ..factories import ContractFactory, ImportJobFactory, ParticipantFactory, PriceFactory

pytestmark = pytest.mark.django_db

COLUMNS = ("participant_id", "first_name", "last_name", "email", "price_code")
REQUIRED = ("first_name", "last_name", "email")


def parse(content: bytes, max_rows: int = 100):
    return parse_csv(content, columns=COLUMNS, required=REQUIRED, max_rows=max_rows)


def cells(parsed) -> list[dict]:
    return [{k: v for k, v in row.items() if v or k == "_row"} for row in parsed.rows]


# parse_csv


def test_a_bom_a_semicolon_and_crlf_are_read_as_spreadsheets_mean_them():
    parsed = parse(b"\xef\xbb\xbffirst_name;last_name;email\r\nAda;Lovelace, Countess;ada@example.com\r\n")

    assert parsed.problems == []
    assert cells(parsed) == [
        {"first_name": "Ada", "last_name": "Lovelace, Countess", "email": "ada@example.com", "_row": 2}
    ]


def test_header_names_are_read_as_people_type_them():
    parsed = parse(b" First Name ,LAST-NAME,E-mail,Price code\nAda,Lovelace,ada@example.com,STD\n")

    assert parsed.problems == [
        Problem(1, "e_mail", f"Unknown column. Expected columns: {', '.join(COLUMNS)}."),
        Problem(1, "email", "This column is missing."),
    ]
    assert parse(b" First Name ,LAST-NAME,Email,Price code\nAda,Lovelace,a@b.co,STD\n").problems == []


def test_a_quoted_cell_may_hold_commas_quotes_and_newlines_and_rows_keep_spreadsheet_numbers():
    parsed = parse(b'first_name,last_name,email\n"Ada ""the first""","Love\nlace",a@b.co\n\n ,, \nAlan,Turing,t@b.co\n')

    assert [(row["_row"], row["first_name"], row["last_name"]) for row in parsed.rows] == [
        (2, 'Ada "the first"', "Love\nlace"),
        (5, "Alan", "Turing"),
    ]


def test_cells_are_trimmed_and_our_formula_apostrophe_is_taken_off_again():
    parsed = parse(b"first_name,last_name,email\n'=1+1 , 'O'Brien ,'\n")

    assert cells(parsed) == [{"first_name": "=1+1", "last_name": "'O'Brien", "email": "'", "_row": 2}]


@pytest.mark.parametrize(
    "content, problem",
    [
        (b"", Problem(None, None, "The file is empty.")),
        (b" \r\n\t\n", Problem(None, None, "The file is empty.")),
        (
            b"first_name,last_name,email\n\x00\n",
            Problem(None, None, "This is not a text file (it contains NUL bytes). Upload a CSV file."),
        ),
        (b"first_name,last_name,email\n", Problem(None, None, "The file has a header but no rows.")),
        (b"first_name,last_name,email\n,,\n", Problem(None, None, "The file has a header but no rows.")),
        (
            b"first_name,,last_name,email\nA,x,B,c@d.e\n",
            Problem(2, None, "This row has a value in a column without a header name."),
        ),
    ],
    ids=["empty", "blank", "nul", "header-only", "blank-rows-only", "value-under-an-unnamed-column"],
)
def test_a_file_without_usable_rows_gets_one_clear_problem(content, problem):
    assert parse(content).problems == [problem]


def test_a_file_that_is_not_utf8_names_the_line_of_the_first_odd_byte():
    [problem] = parse("first_name,last_name,email\nA,B,c@d.e\n\nZoé,B,z@d.e\n".encode("cp1252")).problems

    assert (problem.row, problem.column) == (4, None)
    assert "not UTF-8" in problem.message


def test_a_header_that_cannot_be_read_is_a_problem_on_row_1():
    [problem] = parse(b'"first_name,last_name,email\n').problems

    assert problem.row == 1 and problem.message.startswith("The first row cannot be read as CSV headers")


def test_a_ragged_row_is_named_and_the_other_rows_are_kept():
    parsed = parse(b"first_name,last_name,email\nA,B,c@d.e\nA,B\nC,D,e@f.g,extra\nE,F,g@h.i\n")

    assert parsed.problems == [
        Problem(3, None, "This row has 2 cells but the header has 3. Check for a stray ',' or a missing cell."),
        Problem(4, None, "This row has 4 cells but the header has 3. Check for a stray ',' or a missing cell."),
    ]
    assert [row["_row"] for row in parsed.rows] == [2, 5]


def test_a_stray_quote_names_its_row():
    [problem] = parse(b'first_name,last_name,email\nA,B,c@d.e\nA,"B"x,c@d.e\n').problems

    assert problem.row == 3 and problem.message.endswith("Check its quotes.")


def test_an_unterminated_quote_at_the_end_names_its_row():
    [problem] = parse(b'first_name,last_name,email\nA,B,c@d.e\nA,"B,c@d.e\n').problems

    assert problem.row == 3 and problem.message.endswith("Check its quotes.")


def test_the_row_limit_counts_rows_with_content_only():
    rows = b"first_name,last_name,email\n" + b"A,B,c@d.e\n\n" * 3

    assert parse(rows, max_rows=3).problems == []
    assert parse(rows + b"D,E,f@g.h\n", max_rows=3).problems == [
        Problem(None, None, "The file has more than 3 rows. Split it into smaller files.")
    ]


# Validating and committing


@pytest.fixture
def contract(tenant):
    return ContractFactory(tenant=tenant, invitation_prefix="ACME")


@pytest.fixture
def price(contract):
    return PriceFactory(contract=contract, price_code="STD")


def job_for(contract, content: bytes, status=ImportStatus.VALIDATING, **fields) -> ImportJob:
    return ImportJobFactory(
        tenant=contract.tenant,
        params={"contract": contract.pk},
        content=content,
        size=len(content),
        status=status,
        **fields,
    )


GOOD = b"first_name,last_name,email,price_code\nGrace,Hopper,grace@example.com,STD\nAlan,Turing,alan@example.com,\n"


def test_validating_writes_nothing_and_stores_the_plan(tenant, contract, price):
    job = job_for(contract, GOOD)

    job = import_validate(tenant=tenant, job_id=job.pk)

    assert (job.status, job.problems, job.total_rows, job.progress) == (ImportStatus.VALID, [], 2, 100)
    assert job.plan == {
        "participants to add": 2,
        "participants to update": 0,
        "invitation codes to generate": 1,
        "rows": 2,
    }
    assert not Participant.objects.exists() and not InvitationCode.objects.exists()


def test_validating_a_job_that_was_already_validated_changes_nothing(tenant, contract, price):
    job = job_for(contract, GOOD, status=ImportStatus.INVALID, problems=[{"row": 2, "column": None, "message": "x"}])

    assert import_validate(tenant=tenant, job_id=job.pk).problems == [{"row": 2, "column": None, "message": "x"}]


def test_only_the_first_thousand_problems_are_kept_but_all_are_counted(tenant, contract, price):
    rows = b"".join(b"Grace,Hopper,grace%d@,STD\n" % n for n in range(MAX_PROBLEMS_KEPT + 5))
    job = job_for(contract, b"first_name,last_name,email,price_code\n" + rows)

    job = import_validate(tenant=tenant, job_id=job.pk)

    assert (job.status, job.problem_count, len(job.problems)) == (
        ImportStatus.INVALID,
        MAX_PROBLEMS_KEPT + 5,
        MAX_PROBLEMS_KEPT,
    )
    assert job.problems[0] == {"row": 2, "column": "email", "message": "“grace0@” is not a valid email address."}


def test_complete_import_is_refused_unless_the_job_is_valid(tenant, contract, staff):
    job = job_for(contract, GOOD, status=ImportStatus.VALIDATING)

    with pytest.raises(ValidationError) as refused:
        import_request_commit(tenant=tenant, job=job, actor=staff)

    assert refused.value.messages == [NOT_READY.format(status="checking")]
    assert ImportJob.objects.get(pk=job.pk).status == ImportStatus.VALIDATING


@pytest.mark.parametrize("status", [ImportStatus.COMMITTING, ImportStatus.COMMITTED])
def test_complete_import_on_a_job_taken_already_says_it_is_imported_once(tenant, contract, staff, status):
    job = job_for(contract, GOOD, status=status)

    with pytest.raises(ValidationError) as refused:
        import_request_commit(tenant=tenant, job=job, actor=staff)

    assert refused.value.messages == [ALREADY_COMMITTING]


def test_complete_import_enqueues_the_commit_only_when_its_transaction_commits(
    tenant, contract, price, staff, django_capture_on_commit_callbacks
):
    job = job_for(contract, GOOD, status=ImportStatus.VALID)

    with django_capture_on_commit_callbacks() as callbacks:
        assert import_request_commit(tenant=tenant, job=job, actor=staff).status == ImportStatus.COMMITTING

    assert len(callbacks) == 1
    assert not Participant.objects.exists()


def test_import_commit_called_twice_commits_once(tenant, contract, price, staff):
    job = job_for(contract, GOOD, status=ImportStatus.COMMITTING)

    first = import_commit(tenant=tenant, job_id=job.pk, actor=staff)
    second = import_commit(tenant=tenant, job_id=job.pk, actor=staff)

    assert first.status == second.status == ImportStatus.COMMITTED
    assert second.summary == {"participants added": 2, "participants updated": 0, "invitation codes generated": 1}
    assert Participant.objects.filter(contract=contract).count() == 2
    assert InvitationCode.objects.count() == 1
    assert ContractEvent.objects.filter(kind=EventKind.IMPORT_COMMITTED).count() == 1


def test_import_commit_does_nothing_to_a_job_not_asked_to_commit(tenant, contract, price, staff):
    job = job_for(contract, GOOD, status=ImportStatus.VALID)

    assert import_commit(tenant=tenant, job_id=job.pk, actor=staff).status == ImportStatus.VALID
    assert not Participant.objects.exists()


def test_a_failure_inside_the_commit_leaves_nothing_half_done(tenant, contract, price, staff, staff_http, monkeypatch):
    kind = registry.get(KIND)

    def commit_then_fail(*, tenant, params, rows, actor, checked, progress):
        ParticipantFactory(contract=contract, first_name="Half", last_name="Done")
        raise RuntimeError("disk on fire")

    monkeypatch.setitem(registry._kinds, KIND, dataclasses.replace(kind, commit=commit_then_fail))
    job = job_for(contract, GOOD, status=ImportStatus.COMMITTING)

    job = import_commit(tenant=tenant, job_id=job.pk, actor=staff)

    assert (job.status, job.failure) == (ImportStatus.FAILED, COMMIT_FAILED.format(error="RuntimeError"))
    assert not Participant.objects.exists() and not InvitationCode.objects.exists()
    page = staff_http.get(f"/t/acme/imports/{job.pk}/").content.decode()
    assert COMMIT_FAILED.format(error="RuntimeError") in page


def test_a_commit_that_finds_new_problems_marks_the_job_invalid(tenant, contract, price, staff):
    job = job_for(contract, GOOD, status=ImportStatus.COMMITTING)
    price.delete()  # removed between the check and "Complete Import"

    job = import_commit(tenant=tenant, job_id=job.pk, actor=staff)

    assert job.status == ImportStatus.INVALID and job.problem_count >= 1
    assert job.problems[0]["row"] == 2 and job.problems[0]["column"] == "price_code"
    assert not Participant.objects.exists()


def test_a_file_with_a_column_without_a_name_but_no_values_under_it_is_read():
    parsed = parse(b"first_name,last_name,email,price_code,\nAda,Lovelace,ada@example.com,STD,\n")
    assert parsed.problems == [] and parsed.rows[0]["first_name"] == "Ada"


# Picking up lost tasks


def stale(job, minutes=11):
    ImportJob.objects.filter(pk=job.pk).update(updated_at=timezone.now() - timedelta(minutes=minutes))


def test_resume_re_enqueues_a_check_and_a_commit_whose_tasks_were_lost(tenant, other_tenant, contract, price, staff):
    checking = job_for(contract, b"first_name,last_name,email,price_code\nZoe,Zed,zoe@example.com,STD\n")
    committing = job_for(contract, GOOD, status=ImportStatus.COMMITTING, created_by=staff)
    elsewhere = ImportJobFactory(tenant=other_tenant, content=b"first_name,last_name,email,price_code\nA,B,,\n")
    for job in (checking, committing, elsewhere):
        stale(job)

    assert resume_imports() == 3

    assert ImportJob.objects.get(pk=checking.pk).status == ImportStatus.VALID
    assert ImportJob.objects.get(pk=committing.pk).status == ImportStatus.COMMITTED
    assert ImportJob.objects.get(pk=elsewhere.pk).status == ImportStatus.VALID
    assert Participant.objects.filter(contract=contract).count() == 2


def test_resume_leaves_recent_and_finished_jobs_alone(tenant, contract, price):
    recent = job_for(contract, GOOD, status=ImportStatus.VALIDATING)
    stale(recent, minutes=2)
    for status in (ImportStatus.VALID, ImportStatus.INVALID, ImportStatus.COMMITTED, ImportStatus.FAILED):
        stale(job_for(contract, GOOD, status=status))

    assert resume_imports() == 0
    assert ImportJob.objects.get(pk=recent.pk).status == ImportStatus.VALIDATING


def test_a_commit_that_just_started_is_not_taken_for_lost(
    tenant, contract, price, staff, django_capture_on_commit_callbacks
):
    job = job_for(contract, GOOD, status=ImportStatus.VALID)
    stale(job, minutes=30)  # uploaded and checked half an hour ago

    with django_capture_on_commit_callbacks():
        import_request_commit(tenant=tenant, job=job, actor=staff)

    assert resume_imports() == 0


def test_progress_of_a_running_job_is_read_from_the_cache(tenant, contract):
    from imports import progress

    job = job_for(contract, GOOD)
    progress.reporter(job.pk, 30, 100)(0.5)
    assert progress.percent(job) == 65
