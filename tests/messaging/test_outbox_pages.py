"""The dashboard outbox: list, filters, search, pagination, detail and resend."""

import html
import re
from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from messaging.models import EmailStatus, OutboundEmail

from ..conftest import signed_in
from ..factories import OutboundEmailFactory

pytestmark = pytest.mark.django_db

OUTBOX = "/t/acme/outbox/"
DETAIL_LINK = re.compile(r'href="/t/acme/outbox/(\d+)/"')


def detail_url(email):
    return f"{OUTBOX}{email.pk}/"


def resend_url(email):
    return f"{OUTBOX}{email.pk}/resend/"


def listed_ids(response) -> list[int]:
    """The ids of the emails linked from the list, in page order."""
    return [int(pk) for pk in DETAIL_LINK.findall(response.content.decode())]


def minutes_ago(n):
    return timezone.now() - timedelta(minutes=n)


# The list


def test_the_list_shows_only_this_tenants_emails_newest_first(tenant, other_tenant, staff_http):
    older = OutboundEmailFactory(tenant=tenant, subject="Older one", created_at=minutes_ago(10))
    newer = OutboundEmailFactory(tenant=tenant, subject="Newer one", created_at=minutes_ago(1))
    middle = OutboundEmailFactory(tenant=tenant, subject="Middle one", created_at=minutes_ago(5))
    OutboundEmailFactory(tenant=other_tenant, subject="Globex secret", to_email="spy@globex.example")
    OutboundEmailFactory(tenant=None, subject="Reset your password", to_email="someone@platform.example")

    response = staff_http.get(OUTBOX)

    assert response.status_code == 200
    assert listed_ids(response) == [newer.pk, middle.pk, older.pk]
    content = response.content.decode()
    assert "Globex secret" not in content and "spy@globex.example" not in content
    assert "Reset your password" not in content and "someone@platform.example" not in content


def test_filtering_by_status_shows_only_emails_in_that_status(tenant, other_tenant, staff_http):
    failed = OutboundEmailFactory(tenant=tenant, status=EmailStatus.FAILED, subject="Bounced")
    OutboundEmailFactory(tenant=tenant, status=EmailStatus.SENT, subject="Delivered")
    OutboundEmailFactory(tenant=tenant, status=EmailStatus.QUEUED, subject="Waiting")
    OutboundEmailFactory(tenant=other_tenant, status=EmailStatus.FAILED, subject="Globex bounced")

    response = staff_http.get(OUTBOX, {"status": "failed"})

    assert response.status_code == 200
    assert listed_ids(response) == [failed.pk]
    assert '<option value="failed" selected>' in response.content.decode()


@pytest.mark.parametrize("status", ["sent", "queued", "sending"])
def test_every_status_filter_works(tenant, staff_http, status):
    wanted = OutboundEmailFactory(tenant=tenant, status=status)
    for other in set(EmailStatus.values) - {status}:
        OutboundEmailFactory(tenant=tenant, status=other)

    assert listed_ids(staff_http.get(OUTBOX, {"status": status})) == [wanted.pk]


def test_an_unknown_status_is_ignored_without_an_error(tenant, staff_http):
    emails = [OutboundEmailFactory(tenant=tenant, created_at=minutes_ago(n)) for n in range(3)]

    response = staff_http.get(OUTBOX, {"status": "nonsense"})

    assert response.status_code == 200
    assert listed_ids(response) == [e.pk for e in emails]
    assert "This filter was ignored." in response.content.decode()


def test_an_unknown_status_does_not_drop_the_search(tenant, staff_http):
    pat = OutboundEmailFactory(tenant=tenant, to_email="pat@example.com")
    OutboundEmailFactory(tenant=tenant, to_email="sam@example.com")

    response = staff_http.get(OUTBOX, {"status": "nonsense", "q": "pat@"})

    assert response.status_code == 200
    assert 'value="pat@"' in response.content.decode()  # the box shows the search …
    assert listed_ids(response) == [pat.pk]  # … so the list must honour it


def test_search_finds_emails_by_recipient_ignoring_case(tenant, staff_http):
    pat = OutboundEmailFactory(tenant=tenant, to_email="pat.jones@example.com")
    OutboundEmailFactory(tenant=tenant, to_email="sam@example.com")

    assert listed_ids(staff_http.get(OUTBOX, {"q": "PAT.JONES"})) == [pat.pk]


def test_search_finds_emails_by_subject(tenant, staff_http):
    receipt = OutboundEmailFactory(tenant=tenant, subject="Your receipt for March")
    OutboundEmailFactory(tenant=tenant, subject="You are invited")

    assert listed_ids(staff_http.get(OUTBOX, {"q": "receipt"})) == [receipt.pk]


def test_search_never_finds_another_tenants_emails(tenant, other_tenant, staff_http):
    OutboundEmailFactory(tenant=other_tenant, to_email="pat@example.com")
    OutboundEmailFactory(tenant=None, to_email="pat@example.com")

    response = staff_http.get(OUTBOX, {"q": "pat@"})

    assert listed_ids(response) == []
    assert "No emails match these filters" in response.content.decode()


def test_search_and_status_combine(tenant, staff_http):
    wanted = OutboundEmailFactory(tenant=tenant, to_email="pat@example.com", status=EmailStatus.FAILED)
    OutboundEmailFactory(tenant=tenant, to_email="pat@example.com", status=EmailStatus.SENT)
    OutboundEmailFactory(tenant=tenant, to_email="sam@example.com", status=EmailStatus.FAILED)

    assert listed_ids(staff_http.get(OUTBOX, {"q": "pat", "status": "failed"})) == [wanted.pk]


def test_the_list_shows_fifty_emails_per_page(tenant, staff_http):
    emails = [OutboundEmailFactory(tenant=tenant, created_at=minutes_ago(n)) for n in range(51)]

    first = staff_http.get(OUTBOX)
    second = staff_http.get(OUTBOX, {"page": 2})

    assert listed_ids(first) == [e.pk for e in emails[:50]]
    assert "Page 1 of 2 · 51 in all" in first.content.decode()
    assert listed_ids(second) == [emails[50].pk]
    assert "Page 2 of 2 · 51 in all" in second.content.decode()


def test_page_links_keep_the_filters(tenant, staff_http):
    for n in range(51):
        OutboundEmailFactory(tenant=tenant, status=EmailStatus.FAILED, created_at=minutes_ago(n))

    content = staff_http.get(OUTBOX, {"status": "failed"}).content.decode()

    assert 'href="?status=failed&amp;page=2"' in content


@pytest.mark.parametrize("page", ["999", "-1x", "0"])
def test_a_page_number_out_of_range_or_junk_still_answers(tenant, staff_http, page):
    OutboundEmailFactory(tenant=tenant)

    response = staff_http.get(OUTBOX, {"page": page})

    assert response.status_code == 200
    assert len(listed_ids(response)) == 1


def test_an_empty_outbox_says_no_emails_yet(tenant, other_tenant, staff_http):
    OutboundEmailFactory(tenant=other_tenant)

    content = staff_http.get(OUTBOX).content.decode()

    assert "No emails yet" in content
    assert "No emails match these filters" not in content


def test_filters_matching_nothing_say_so_and_offer_to_show_all(tenant, staff_http):
    OutboundEmailFactory(tenant=tenant, status=EmailStatus.SENT)

    content = staff_http.get(OUTBOX, {"status": "failed"}).content.decode()

    assert "No emails match these filters" in content
    assert "Show all emails" in content
    assert "No emails yet" not in content


def test_the_list_query_count_does_not_grow_with_the_number_of_emails(tenant, staff_http):
    def queries_for_list():
        with CaptureQueriesContext(connection) as queries:
            response = staff_http.get(OUTBOX)
        assert response.status_code == 200
        return len(queries)

    for n in range(3):
        OutboundEmailFactory(tenant=tenant, created_at=minutes_ago(n))
    few = queries_for_list()
    for n in range(3, 40):
        OutboundEmailFactory(tenant=tenant, created_at=minutes_ago(n))
    many = queries_for_list()

    assert many == few


def test_signed_out_visitors_are_sent_to_sign_in(tenant):
    response = Client().get(OUTBOX)

    assert response.status_code == 302 and "/login" in response["Location"]


# The detail page


def test_the_detail_page_shows_recipient_status_attempts_error_and_text(tenant, staff_http):
    email = OutboundEmailFactory(
        tenant=tenant,
        to_email="pat@example.com",
        subject="Your booking",
        status=EmailStatus.FAILED,
        attempts=5,
        last_error="SMTPRecipientsRefused: 550 mailbox unavailable",
        body_text="Dear Pat,\nsee you on Monday.\n",
    )

    response = staff_http.get(detail_url(email))

    assert response.status_code == 200
    content = response.content.decode()
    assert "pat@example.com" in content
    assert "Your booking" in content
    assert '<span class="badge badge-failed">Failed</span>' in content
    assert "<dt>Attempts</dt><dd>5</dd>" in content
    assert "SMTPRecipientsRefused: 550 mailbox unavailable" in content
    assert "Dear Pat,\nsee you on Monday." in content


def test_the_html_body_is_shown_escaped_inside_a_sandboxed_iframe(tenant, staff_http):
    raw_html = '<p class="hi">Hello <b>Pat</b> &amp; co</p><script>alert("x")</script>'
    email = OutboundEmailFactory(tenant=tenant, body_html=raw_html)

    content = staff_http.get(detail_url(email)).content.decode()

    [(attributes, srcdoc)] = re.findall(r'<iframe([^>]*)srcdoc="([^"]*)"', content)
    assert "sandbox" in attributes and "allow-scripts" not in attributes
    assert "&lt;" in srcdoc
    assert html.unescape(srcdoc) == raw_html  # the browser gets exactly the email, as a document
    assert raw_html not in content
    assert "<script>alert" not in content and '<p class="hi">' not in content


def test_a_text_only_email_has_no_html_frame(tenant, staff_http):
    email = OutboundEmailFactory(tenant=tenant, body_html="")

    assert "<iframe" not in staff_http.get(detail_url(email)).content.decode()


def test_another_tenants_email_and_a_platform_email_are_not_found(tenant, other_tenant, staff_http):
    theirs = OutboundEmailFactory(tenant=other_tenant)
    platform = OutboundEmailFactory(tenant=None)

    assert staff_http.get(detail_url(theirs)).status_code == 404
    assert staff_http.get(detail_url(platform)).status_code == 404


def test_staff_see_no_resend_button_and_admins_do(tenant, staff_http, admin_http):
    email = OutboundEmailFactory(tenant=tenant)

    assert "Resend as a new email" not in staff_http.get(detail_url(email)).content.decode()
    assert "Resend as a new email" in admin_http.get(detail_url(email)).content.decode()


# Resend


@pytest.mark.parametrize("role", ["admin", "owner"])
def test_a_resend_creates_and_sends_a_new_email_leaving_the_original_as_it_was(
    tenant, request, role, django_capture_on_commit_callbacks
):
    user = request.getfixturevalue(role)
    original = OutboundEmailFactory(
        tenant=tenant,
        to_email="pat@example.com",
        subject="Your booking",
        status=EmailStatus.FAILED,
        attempts=5,
        last_error="SMTPServerDisconnected",
        created_at=minutes_ago(30),
    )
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        response = signed_in(user).post(resend_url(original))

    copy = OutboundEmail.objects.get(resent_from=original)
    assert response.status_code == 302 and response["Location"] == detail_url(copy)
    assert copy.pk != original.pk and copy.tenant == tenant and copy.created_by == user
    assert (copy.to_email, copy.subject, copy.body_text, copy.body_html) == (
        original.to_email,
        original.subject,
        original.body_text,
        original.body_html,
    )
    assert copy.status == EmailStatus.SENT and copy.attempts == 1

    before = original
    original = OutboundEmail.objects.get(pk=original.pk)
    assert (original.status, original.attempts, original.last_error, original.resent_from) == (
        EmailStatus.FAILED,
        5,
        "SMTPServerDisconnected",
        None,
    )
    assert original.idempotency_key == before.idempotency_key
    assert OutboundEmail.objects.filter(tenant=tenant).count() == 2

    [message] = mail.outbox
    assert message.to == ["pat@example.com"] and message.subject == "Your booking"


def test_after_a_resend_the_new_email_page_says_what_it_is_a_copy_of(tenant, admin_http):
    original = OutboundEmailFactory(tenant=tenant, to_email="pat@example.com")

    response = admin_http.post(resend_url(original), follow=True)

    content = response.content.decode()
    assert "A new copy to pat@example.com is queued." in content
    assert f"email #{original.pk}" in content


def test_staff_may_not_resend(tenant, staff_http, django_capture_on_commit_callbacks):
    original = OutboundEmailFactory(tenant=tenant)
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        response = staff_http.post(resend_url(original))

    assert response.status_code == 403
    assert OutboundEmail.objects.count() == 1
    assert mail.outbox == []


def test_resend_by_get_is_not_allowed(tenant, admin_http):
    original = OutboundEmailFactory(tenant=tenant)

    assert admin_http.get(resend_url(original)).status_code == 405
    assert OutboundEmail.objects.count() == 1


def test_another_tenants_email_cannot_be_resent(tenant, other_tenant, admin_http):
    theirs = OutboundEmailFactory(tenant=other_tenant)

    assert admin_http.post(resend_url(theirs)).status_code == 404
    assert OutboundEmail.objects.count() == 1
