"""Bulk upload of learners from My Account, through the imports pipeline: every problem by row and
column with nothing changed, a clean file commits once and gives each learner a seat."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from imports.models import ImportJob, ImportStatus
from regcodes import learners_csv
from regcodes.models import CodeStatus, CourseAccess, LearnerInvite, RegistrationCode
from tenancy.urlresolvers import tenant_reverse

from ..conftest import signed_in
from ..factories import ProductSessionFactory, UserFactory, seat_order

pytestmark = pytest.mark.django_db


@pytest.fixture
def order(tenant):
    return seat_order(ProductSessionFactory(tenant=tenant), UserFactory(email="buyer@example.com"), quantity=3)


def upload(http, order, content: bytes, capture):
    """Post the file; the check task runs when the request commits. Returns the upload's page after."""
    url = tenant_reverse(order.tenant, "seats_portal:upload", order_id=order.pk)
    with capture(execute=True):
        response = http.post(url, {"file": SimpleUploadedFile("learners.csv", content)})
    return http.get(response.url)


def problems(job) -> set:
    return {(p["row"], p["column"], p["message"]) for p in job.problems}


def seats(order) -> dict:
    return {s: RegistrationCode.objects.filter(order=order, status=s).count() for s in CodeStatus.values}


def test_a_file_with_mistakes_lists_each_by_row_and_column_and_changes_nothing(
    tenant, order, django_capture_on_commit_callbacks
):
    http = signed_in(order.buyer)
    content = (
        b"first_name,last_name,email,password\n"
        b"Ann,Ng,ann@example.com,\n"
        b",Bo,not-an-email,\n"
        b"Cy,Do,ANN@example.com,\n"
        b"Di,Ek,di@example.com,\n"
    )
    response = upload(http, order, content, django_capture_on_commit_callbacks)

    job = ImportJob.objects.get()
    assert job.status == ImportStatus.INVALID
    assert problems(job) >= {
        (3, "first_name", learners_csv.NEEDED),
        (3, "email", learners_csv.BAD_EMAIL),
        (4, "email", learners_csv.TWICE.format(row=2)),
    }
    assert "nothing was changed" in response.content.decode()
    assert seats(order) == {"available": 3, "invited": 0, "claimed": 0}


def test_more_rows_than_remaining_seats_is_refused_from_the_first_row_without_a_seat(
    tenant, order, django_capture_on_commit_callbacks
):
    rows = b"".join(f"P{i},Q{i},p{i}@example.com,\n".encode() for i in range(4))
    upload(
        signed_in(order.buyer),
        order,
        b"first_name,last_name,email,password\n" + rows,
        django_capture_on_commit_callbacks,
    )

    job = ImportJob.objects.get()
    assert (5, None, learners_csv.NO_SEAT.format(remaining=3, s="s")) in problems(job)
    assert not CourseAccess.objects.exists()


def test_a_missing_column_is_named(tenant, order, django_capture_on_commit_callbacks):
    upload(
        signed_in(order.buyer), order, b"first_name,email\nAnn,ann@example.com\n", django_capture_on_commit_callbacks
    )

    job = ImportJob.objects.get()
    assert job.status == ImportStatus.INVALID
    assert any("last_name" in f"{column} {message}" for _, column, message in problems(job))


def test_a_clean_file_is_completed_once_and_gives_each_learner_a_seat(
    tenant, order, django_capture_on_commit_callbacks
):
    http = signed_in(order.buyer)
    content = b"first_name,last_name,email,password\nAnn,Ng,ann@example.com,\nBo,Ek,bo@example.com,\n"
    response = upload(http, order, content, django_capture_on_commit_callbacks)
    job = ImportJob.objects.get()
    assert job.status == ImportStatus.VALID
    assert "Complete Import" in response.content.decode()

    commit = tenant_reverse(tenant, "seats_portal:import_commit", order_id=order.pk, job_id=job.pk)
    with django_capture_on_commit_callbacks(execute=True):
        http.post(commit)
    with django_capture_on_commit_callbacks(execute=True):
        http.post(commit)  # a second click changes nothing

    assert ImportJob.objects.get().status == ImportStatus.COMMITTED
    assert set(CourseAccess.objects.values_list("learner__email", flat=True)) == {"ann@example.com", "bo@example.com"}
    assert seats(order) == {"available": 1, "invited": 0, "claimed": 2}


def test_another_customer_cannot_see_or_complete_the_upload(tenant, order, django_capture_on_commit_callbacks):
    upload(
        signed_in(order.buyer),
        order,
        b"first_name,last_name,email\nAnn,Ng,ann@example.com\n",
        django_capture_on_commit_callbacks,
    )
    job = ImportJob.objects.get()
    stranger = signed_in(UserFactory())
    page = tenant_reverse(tenant, "seats_portal:import", order_id=order.pk, job_id=job.pk)
    commit = tenant_reverse(tenant, "seats_portal:import_commit", order_id=order.pk, job_id=job.pk)

    assert stranger.get(page).status_code == 404
    assert stranger.post(commit).status_code == 404
    assert ImportJob.objects.get().status == ImportStatus.VALID


def invite_with_csv(http, order, content: bytes, typed=""):
    url = tenant_reverse(order.tenant, "seats_portal:invites", order_id=order.pk)
    return http.post(url, {"addresses": typed, "csv_file": SimpleUploadedFile("people.csv", content), "message": "Hi"})


def test_invitation_addresses_can_come_from_a_csv_file_together_with_typed_ones(tenant, order):
    response = invite_with_csv(
        signed_in(order.buyer), order, b"email,first_name\nann@example.com,Ann\nbo@example.com,Bo\n", "cy@example.com"
    )

    assert response.status_code == 302
    assert set(LearnerInvite.objects.values_list("email", flat=True)) == {
        "ann@example.com",
        "bo@example.com",
        "cy@example.com",
    }
    assert seats(order) == {"available": 0, "invited": 3, "claimed": 0}


def test_a_bad_address_csv_names_the_row_and_column_and_sends_nothing(tenant, order):
    response = invite_with_csv(signed_in(order.buyer), order, b"email\nann@example.com\nnot-an-address\n")

    assert response.status_code == 200
    assert "Row 3, column email: This is not an email address." in response.content.decode()
    assert not LearnerInvite.objects.exists()


def test_an_address_csv_without_an_email_column_says_so(tenant, order):
    response = invite_with_csv(signed_in(order.buyer), order, b"name\nAnn\n")

    assert "column name" in response.content.decode() and "column email: This column is missing." in (
        response.content.decode()
    )
    assert not LearnerInvite.objects.exists()


def test_an_address_twice_in_the_csv_names_both_rows(tenant, order):
    response = invite_with_csv(
        signed_in(order.buyer), order, b"email\nann@example.com\nbo@example.com\nANN@example.com\n"
    )

    assert "Row 4, column email: This address is also on row 2." in response.content.decode()
    assert not LearnerInvite.objects.exists()
