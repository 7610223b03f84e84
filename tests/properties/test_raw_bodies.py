"""Below the forms: what reaches the public pages need not be what a browser sends. Any bytes as a
form body (invalid UTF-8, broken multipart), a field larger than the upload limit and more fields than
allowed each end in a page (a form's message, or 400 Bad Request), never a server error or a write."""

import pytest
from django.test import Client as HttpClient
from hypothesis import given
from hypothesis import strategies as st

from .conftest import CODE
from .strategies import FORMS
from .support import changed, snapshot, undone

pytestmark = pytest.mark.django_db

CONTENT_TYPES = (
    "application/x-www-form-urlencoded",
    "application/x-www-form-urlencoded; charset=latin-1",
    "application/x-www-form-urlencoded; charset=no-such-charset",
    "multipart/form-data; boundary=xyz",
    "multipart/form-data",
    "text/plain",
    "application/json",
)


@pytest.fixture
def public_urls(bookable, session, full_session, seat_token, staff_token, account):
    return [
        "/t/acme/book/",
        "/t/acme/register/cart/",
        f"/t/acme/register/s/{full_session.key}/waitlist/",
        f"/t/acme/seats/invite/{seat_token}/",
        f"/t/acme/join/{staff_token}/",
        "/accounts/login/",
        "/accounts/password/reset/",
    ]


@FORMS
@given(body=st.binary(max_size=600), content_type=st.sampled_from(CONTENT_TYPES))
def test_any_bytes_posted_to_a_public_form_give_a_page(public_urls, body, content_type):
    with undone():
        http, before = HttpClient(), snapshot()
        for url in public_urls:
            response = http.generic("POST", url, body, content_type=content_type)
            assert response.status_code < 500, url
        assert changed(before, snapshot()) == set()


def test_a_field_larger_than_the_upload_limit_is_a_bad_request(public_urls, settings):
    http, before = HttpClient(), snapshot()
    for url in public_urls:
        response = http.post(url, {"first_name": "A" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1), "code": CODE})
        assert response.status_code == 400, url
        assert b"<h1" in response.content
    assert changed(before, snapshot()) == set()


def test_more_fields_than_allowed_is_a_bad_request(public_urls, settings):
    http, before = HttpClient(), snapshot()
    fields = {f"f{n}": "x" for n in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1)}
    for url in public_urls:
        response = http.post(url, fields)
        assert response.status_code == 400, url
    assert changed(before, snapshot()) == set()
