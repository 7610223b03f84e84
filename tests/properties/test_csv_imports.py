"""Properties of every CSV import kind through its pages (upload, the check task, the job's page,
Complete Import), with files hypothesis makes bad in every way it can: random bytes, other encodings,
BOMs, ragged rows, huge cells, formulas, NUL bytes, duplicate or unknown headers.

For every file: no server error; the page the upload leads to says what happened (a message, or
problems by row and column); the checker never crashes (a job that "could not be checked" would be a
bug hidden behind a polite message); and nothing but the import's own record changes unless the
file was clean and Complete Import was clicked, in which case the whole file is applied."""

import re
from dataclasses import dataclass
from typing import Callable

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from hypothesis import event, given
from hypothesis import strategies as st

from contracts import participants_csv
from imports import parsing
from imports.models import ImportJob, ImportStatus
from invitations import sends_csv
from regcodes import learners_csv
from tenancy.urlresolvers import tenant_reverse

from ..conftest import signed_in
from ..factories import CodeFactory, ContractFactory, PriceFactory, ProductSessionFactory, UserFactory, seat_order
from .strategies import FORMS, PROPERTY, any_file, clean_csv, name_text
from .support import changed, snapshot, text, undone

pytestmark = pytest.mark.django_db

MESSAGE = re.compile(r'class="(flash flash-error|form-errors|errorlist)')

NAME = st.from_regex(r"[A-Z][a-z]{1,10}", fullmatch=True)
SIMPLE_EMAIL = st.from_regex(r"[a-z0-9][a-z0-9.+_-]{0,19}@(example|mail)\.(com|org|nl)", fullmatch=True).filter(
    lambda e: ".." not in e and ".@" not in e
)
EMAIL = st.one_of(SIMPLE_EMAIL, st.emails())


@dataclass
class Kind:
    """How one import kind is used from its page."""

    columns: tuple[str, ...]
    good: dict  # column -> strategy of acceptable values
    clean: dict  # column -> strategy of values that must be accepted, whatever they look like
    unique: str  # the column no two rows of a file may share
    post: Callable  # content -> response of the upload
    open: Callable  # job -> its page
    complete: Callable  # job -> response of Complete Import
    applied: Callable  # (before, after, job) -> None: asserts a committed file was applied whole


@pytest.fixture(autouse=True)
def sms_kept_in_the_outbox(settings):
    settings.SMS_URL = "outbox://"


@pytest.fixture
def participants(tenant, staff_http, django_capture_on_commit_callbacks):
    contract = ContractFactory(tenant=tenant, invitation_prefix="ACME")
    PriceFactory(tenant=tenant, contract=contract, price_code="STD")
    url = f"/t/acme/contracts/{contract.pk}/participants/upload/"

    def post(content):
        with django_capture_on_commit_callbacks(execute=True):
            return staff_http.post(url, {"file": SimpleUploadedFile("participants.csv", content)})

    def complete(job):
        with django_capture_on_commit_callbacks(execute=True):
            return staff_http.post(f"/t/acme/imports/{job.pk}/commit/")

    def applied(before, after, job):
        added = job.summary["participants added"]
        assert len(after["contracts.Participant"]) == len(before["contracts.Participant"]) + added
        assert added + job.summary["participants updated"] == job.total_rows

    return Kind(
        columns=participants_csv.COLUMNS,
        clean={
            "first_name": name_text(),
            "last_name": name_text(),
            "email": SIMPLE_EMAIL,
            "phone": st.sampled_from(["", "+31 6 1234 5678", "(020) 555-0101"]),
            "price_code": st.just("STD"),
            "date_of_birth": st.sampled_from(["", "1990-01-31", "31-01-1990", "31.01.1990", "31/01/1990"]),
        },
        unique="email",
        good={
            "first_name": NAME,
            "last_name": NAME,
            "email": EMAIL,
            "price_code": st.just("STD"),
            "date_of_birth": st.sampled_from(["", "1990-01-31", "31.01.1990"]),
        },
        post=post,
        open=lambda job: staff_http.get(f"/t/acme/imports/{job.pk}/"),
        complete=complete,
        applied=applied,
    )


@pytest.fixture
def learners(tenant, django_capture_on_commit_callbacks):
    order = seat_order(ProductSessionFactory(tenant=tenant), UserFactory(email="buyer@example.com"), quantity=40)
    http = signed_in(order.buyer)

    def post(content):
        with django_capture_on_commit_callbacks(execute=True):
            return http.post(
                tenant_reverse(tenant, "seats_portal:upload", order_id=order.pk),
                {"file": SimpleUploadedFile("learners.csv", content)},
            )

    def complete(job):
        url = tenant_reverse(tenant, "seats_portal:import_commit", order_id=order.pk, job_id=job.pk)
        with django_capture_on_commit_callbacks(execute=True):
            return http.post(url)

    def applied(before, after, job):
        seated = job.summary["learners given a seat"]
        assert seated == job.total_rows
        assert len(after["regcodes.CourseAccess"]) == len(before["regcodes.CourseAccess"]) + seated

    return Kind(
        columns=learners_csv.COLUMNS,
        clean={"first_name": name_text(), "last_name": name_text(), "email": SIMPLE_EMAIL},
        unique="email",
        good={"first_name": NAME, "last_name": NAME, "email": EMAIL},
        post=post,
        open=lambda job: http.get(tenant_reverse(tenant, "seats_portal:import", order_id=order.pk, job_id=job.pk)),
        complete=complete,
        applied=applied,
    )


@pytest.fixture
def code_sends(tenant, staff_http, django_capture_on_commit_callbacks):
    price = PriceFactory(tenant=tenant, contract=ContractFactory(tenant=tenant, invitation_prefix="ACME"))
    for n in range(60):
        CodeFactory(tenant=tenant, price=price, code=f"ACME{n:06d}QQ")
    url = f"/t/acme/contracts/{price.contract_id}/codes/send/"

    def post(content):
        with django_capture_on_commit_callbacks(execute=True):
            return staff_http.post(url, {"recipients": "", "file": SimpleUploadedFile("people.csv", content)})

    def complete(job):
        with django_capture_on_commit_callbacks(execute=True):
            return staff_http.post(f"/t/acme/imports/{job.pk}/commit/")

    def applied(before, after, job):
        sends = len(after["invitations.CodeSend"]) - len(before["invitations.CodeSend"])
        assert sends >= job.total_rows  # every row got its codes, one send per code
        assert len(after["messaging.OutboundEmail"]) - len(before["messaging.OutboundEmail"]) == job.total_rows

    return Kind(
        columns=sends_csv.COLUMNS,
        clean={"recipient": SIMPLE_EMAIL, "name": name_text(), "codes": st.sampled_from(["", "1", "2", "3"])},
        unique="recipient",
        good={"recipient": EMAIL, "codes": st.sampled_from(["", "1", "2"])},
        post=post,
        open=lambda job: staff_http.get(f"/t/acme/imports/{job.pk}/"),
        complete=complete,
        applied=applied,
    )


def shows_a_message(page) -> bool:
    return bool(MESSAGE.search(page.content.decode()))


def upload_and_judge(kind: Kind, content: bytes) -> str:
    """Upload one file, check every promise about it, and say how it ended."""
    last = ImportJob.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    before = snapshot()

    response = kind.post(content)

    assert response.status_code in (200, 302)
    job = ImportJob.objects.filter(pk__gt=last).first()
    if job is None:  # refused at the door: empty, too large, not a file
        page = response if response.status_code == 200 else response.client.get(response.url)
        assert page.status_code == 200
        assert shows_a_message(page), page.content.decode()[:2000]
        assert changed(before, snapshot()) == set()
        return "refused"
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.status in (ImportStatus.INVALID, ImportStatus.VALID), f"the checker broke: {job.failure}"
    page = kind.open(job)
    assert page.status_code == 200
    assert changed(before, snapshot()) == set()
    if job.status == ImportStatus.INVALID:
        assert job.problems and all(p["message"].strip() for p in job.problems)
        assert job.problems[0]["message"] in text(page)
        assert "nothing was changed" in text(page)
        return "invalid"
    assert "No problems found. Nothing has changed yet." in text(page)
    assert kind.complete(job).status_code == 302
    job.refresh_from_db()
    after = snapshot()
    if job.status == ImportStatus.COMMITTED:
        kind.applied(before, after, job)
        return "committed"
    assert job.status in (ImportStatus.INVALID, ImportStatus.FAILED)
    assert changed(before, after) == set()
    assert (job.problems and job.problems[0]["message"] in text(kind.open(job))) or job.failure in text(kind.open(job))
    return "refused at commit"


@pytest.mark.parametrize("name", ["participants", "learners", "code_sends"])
@PROPERTY
@given(data=st.data())
def test_any_file_is_refused_whole_with_a_message_or_imported_whole(name, request, data):
    kind = request.getfixturevalue(name)
    content = data.draw(any_file(kind.columns, kind.good), label="file")

    with undone():
        event(f"outcome: {upload_and_judge(kind, content)}")


@pytest.mark.parametrize("name", ["participants", "learners", "code_sends"])
@FORMS
@given(data=st.data())
def test_a_clean_file_of_any_names_and_formulas_is_imported_whole(name, request, data):
    kind = request.getfixturevalue(name)
    content = data.draw(clean_csv(kind.columns, kind.clean, kind.unique), label="file")

    with undone():
        assert upload_and_judge(kind, content) == "committed"


@pytest.mark.parametrize("name", ["participants", "learners", "code_sends"])
def test_a_million_row_upload_is_refused_after_reading_just_past_the_limit(name, request, monkeypatch, settings):
    kind = request.getfixturevalue(name)
    row = "x" + "," * (len(kind.columns) - 1) + "\n"  # the shortest row that is not blank
    content = (",".join(kind.columns) + "\n" + row * 1_000_000).encode()
    assert len(content) <= settings.IMPORT_MAX_BYTES  # so it is the rows that refuse it, not the size
    read_rows, real_reader = [], parsing.csv.reader

    def counting_reader(*args, **kwargs):
        for cells in real_reader(*args, **kwargs):
            read_rows.append(1)
            yield cells

    monkeypatch.setattr(parsing.csv, "reader", counting_reader)
    before = snapshot()

    kind.post(content)

    job = ImportJob.objects.get()
    limit = settings.IMPORT_MAX_ROWS
    message = f"The file has more than {limit:,} rows. Split it into smaller files."
    assert (job.status, [p["message"] for p in job.problems]) == (ImportStatus.INVALID, [message])
    assert message in text(kind.open(job))
    assert len(read_rows) <= limit + 2  # the header, the rows allowed and the one too many: not a million
    assert changed(before, snapshot()) == set()
