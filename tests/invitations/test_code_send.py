"""Sending a contract's codes to people from the codes list: a pasted list or a CSV through the
imports pipeline (problems by row and column), one commit that sends each code once, the code's
sends on its page, resend, and another tenant's codes refused."""

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from imports.models import ImportJob, ImportStatus
from imports.services import import_commit
from invitations import sending, sends_csv
from invitations.models import CodeSend, CodeStatus, InvitationCode
from messaging.models import Channel, EmailStatus, OutboundEmail
from tenancy import events

from ..factories import CodeFactory, ContractFactory, ParticipantFactory, PriceFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def sms_kept_in_the_outbox(settings):
    settings.SMS_URL = "outbox://"


@pytest.fixture
def contract(tenant):
    return ContractFactory(tenant=tenant, name="Acme staff", invitation_prefix="ACME")


@pytest.fixture
def price(contract):
    return PriceFactory(tenant=contract.tenant, contract=contract, price_code="STD")


@pytest.fixture
def codes(price):
    """Five unassigned codes, oldest first."""
    return [CodeFactory(tenant=price.tenant, price=price, code=f"ACME{n:06d}QQ") for n in range(5)]


def send_url(contract, query=""):
    return f"/t/acme/contracts/{contract.pk}/codes/send/{query}"


@pytest.fixture
def post_list(staff_http, contract, django_capture_on_commit_callbacks):
    """Post the send form; the check runs when the request commits. Returns the response."""

    def post(pasted="", file=None, code_ids=None):
        data = {"recipients": pasted}
        if file is not None:
            data["file"] = SimpleUploadedFile("people.csv", file)
        if code_ids is not None:
            data["code"] = [str(pk) for pk in code_ids]
        with django_capture_on_commit_callbacks(execute=True):
            return staff_http.post(send_url(contract), data)

    return post


@pytest.fixture
def complete(staff_http, django_capture_on_commit_callbacks):
    """Click "Complete Import"; the commit (and the sending it queues) runs when the request commits."""

    def click(job):
        with django_capture_on_commit_callbacks(execute=True):
            response = staff_http.post(f"/t/acme/imports/{job.pk}/commit/")
        job.refresh_from_db()
        return staff_http.get(response.url)

    return click


def latest_job():
    return ImportJob.objects.latest("id")


def problems(job):
    return [(p["row"], p["column"], p["message"]) for p in job.problems]


# The pages


def test_the_codes_list_offers_sending_and_shows_whom_a_code_was_sent_to(staff_http, contract, codes, staff):
    CodeSend.objects.create(tenant=contract.tenant, code=codes[0], channel="email", recipient="ana@example.com")
    page = staff_http.get(f"/t/acme/contracts/{contract.pk}/codes/").content.decode()
    assert "Send selected codes" in page and send_url(contract) in page
    assert f'name="code" value="{codes[0].pk}"' in page
    assert "ana@example.com" in page


def test_send_selected_with_nothing_ticked_says_so(staff_http, contract, codes):
    response = staff_http.get(send_url(contract), {"selection": "1"}, follow=True)
    assert "Tick the codes to send first" in response.content.decode()


def test_the_send_page_says_how_many_unassigned_codes_can_go(staff_http, contract, codes):
    codes[0].status = CodeStatus.VOID
    codes[0].save()
    ParticipantFactory(tenant=contract.tenant, contract=contract).codes.add(codes[1])
    page = staff_http.get(send_url(contract)).content.decode()
    assert "<strong>3</strong> available" in page


# A pasted list, checked, then sent


def test_a_pasted_list_is_checked_then_sent_once_by_email_and_sms(post_list, complete, staff, codes, mailoutbox):
    response = post_list("ana@example.com, Ana Lima, 2\n+44 7700 900123; Sam Jones\n")
    job = latest_job()
    assert response.url == f"/t/acme/imports/{job.pk}/"
    assert problems(job) == []
    assert job.status == ImportStatus.VALID
    assert job.plan == {"recipients": 2, "by email": 1, "by SMS": 1, "codes to send": 3}
    assert not CodeSend.objects.exists() and not OutboundEmail.objects.exists()  # nothing sent before the click

    page = complete(job).content.decode()

    assert job.status == ImportStatus.COMMITTED and "3</strong> codes sent" in page
    sends = list(CodeSend.objects.order_by("code_id"))
    assert [(s.code_id, s.recipient, s.name, s.channel) for s in sends] == [
        (codes[0].pk, "ana@example.com", "Ana Lima", "email"),
        (codes[1].pk, "ana@example.com", "Ana Lima", "email"),
        (codes[2].pk, "+447700900123", "Sam Jones", "sms"),
    ]
    assert all(s.sent_by == staff for s in sends)
    # One message per recipient, carrying all their codes; every send points at it.
    email = OutboundEmail.objects.get(channel=Channel.EMAIL)
    sms = OutboundEmail.objects.get(channel=Channel.SMS)
    assert {s.outbox_id for s in sends[:2]} == {email.pk} and sends[2].outbox_id == sms.pk
    assert email.status == EmailStatus.SENT and sms.status == EmailStatus.SENT
    [message] = mailoutbox
    assert message.to == ["ana@example.com"] and message.subject == "Your 2 invitation codes from Acme Training"
    body = message.body
    assert "Hello Ana Lima" in body and codes[0].shown in body and codes[1].shown in body
    assert "http://testserver/t/acme/book/" in body and "Acme staff" in body and "25.00" in body
    assert codes[2].shown in sms.body_text and "Sam Jones" in sms.body_text
    # The codes' text is fixed now; the two left were not touched.
    assert InvitationCode.objects.filter(shown_at__isnull=False).count() == 3


def test_a_csv_file_works_the_same_and_codes_defaults_to_one(post_list, complete, codes):
    post_list(file=b"recipient;name\r\nana@example.com;Ana\r\nbo@example.com;\r\n")
    job = latest_job()
    assert job.status == ImportStatus.VALID and job.plan["codes to send"] == 2
    complete(job)
    assert dict(CodeSend.objects.values_list("recipient", "code_id")) == {
        "ana@example.com": codes[0].pk,
        "bo@example.com": codes[1].pk,
    }
    assert len(mail.outbox) == 2


def test_every_problem_is_listed_by_row_and_column_and_nothing_is_sent(post_list, staff_http, codes):
    post_list(
        "not-an-address@\n"
        "07700 900123, National Number\n"
        "ana@example.com, Ana, 0\n"
        "bo@example.com, Bo, lots\n"
        "cy@example.com, Cy, 101\n"
        "+44 7700 900123, Sam, 6\n"
        "dee@example.com\n"
        "DEE@example.com, Dee again\n"
    )
    job = latest_job()
    assert job.status == ImportStatus.INVALID
    found = problems(job)
    assert (2, "recipient", "“not-an-address@” is not a valid email address.") in found
    assert any(row == 3 and column == "recipient" and "international format" in text for row, column, text in found)
    assert (4, "codes", sends_csv.COUNT_ZERO) in found
    assert (5, "codes", sends_csv.COUNT_NOT_A_NUMBER.format(text="lots")) in found
    assert (6, "codes", "101 codes is more than one email may carry (100).") in found
    assert (7, "codes", "6 codes is more than one SMS may carry (5).") in found
    assert (9, "recipient", sends_csv.DUPLICATE.format(row=8)) in found
    page = staff_http.get(f"/t/acme/imports/{job.pk}/").content.decode()
    assert "is not a valid email address" in page and "Complete Import" not in page
    assert not CodeSend.objects.exists() and not OutboundEmail.objects.exists()


def test_asking_for_more_codes_than_are_left_names_the_row_where_they_run_out(post_list, codes):
    post_list("ana@example.com, Ana, 3\nbo@example.com, Bo, 2\ncy@example.com, Cy, 1\n")
    job = latest_job()
    assert problems(job) == [(4, "codes", sends_csv.NOT_ENOUGH.format(used=5, available=5, count=1))]


def test_more_than_the_limit_of_recipients_or_codes_is_refused_with_a_message(post_list, codes, monkeypatch):
    monkeypatch.setattr(sends_csv, "MAX_RECIPIENTS", 2)
    monkeypatch.setattr(sends_csv, "MAX_CODES", 3)
    post_list("a@example.com\nb@example.com, B, 2\nc@example.com\n")
    messages = [message for _, _, message in problems(latest_job())]
    assert sending.TOO_MANY_RECIPIENTS.format(limit=2) in messages
    assert sending.TOO_MANY_CODES.format(limit=3, asked=4) in messages


def test_an_empty_form_or_both_a_paste_and_a_file_is_refused_on_the_page(post_list, staff_http, contract, codes):
    for response in (post_list(""), post_list("a@example.com", file=b"recipient\nb@example.com\n")):
        assert response.status_code == 200
        assert "Paste the recipients or choose a CSV file" in response.content.decode()
    assert not ImportJob.objects.exists()


# Exactly once


def test_the_commit_task_run_twice_sends_each_code_once(post_list, staff, codes, django_capture_on_commit_callbacks):
    post_list("ana@example.com, Ana, 2\n+447700900123\n")
    job = latest_job()
    ImportJob.objects.filter(pk=job.pk).update(status=ImportStatus.COMMITTING)
    with django_capture_on_commit_callbacks(execute=True):
        import_commit(tenant=job.tenant, job_id=job.pk, actor=staff)
        import_commit(tenant=job.tenant, job_id=job.pk, actor=staff)

    assert CodeSend.objects.count() == 3
    assert OutboundEmail.objects.count() == 2
    assert len(mail.outbox) == 1


def test_sending_the_same_rows_again_under_the_same_key_gives_the_same_messages(tenant, contract, codes, staff):
    rows = [sending.SendRow(2, "email", "ana@example.com", "Ana", 1)]
    first = sending._queue(tenant, sending._shared_context(tenant, contract), [(rows[0], codes[:1])], "k1", staff)
    again = sending._queue(tenant, sending._shared_context(tenant, contract), [(rows[0], codes[:1])], "k1", staff)
    assert first == again and OutboundEmail.objects.count() == 1


def test_codes_sent_once_are_not_sent_again_by_the_next_list(post_list, complete, codes):
    post_list("ana@example.com, Ana, 4\n")
    complete(latest_job())
    post_list("bo@example.com, Bo, 2\n")
    job = latest_job()
    assert problems(job) == [(2, "codes", sends_csv.NOT_ENOUGH.format(used=0, available=1, count=2))]


def test_a_code_taken_between_the_check_and_the_commit_stops_the_send_whole(post_list, complete, codes):
    post_list("ana@example.com, Ana, 5\n")
    job = latest_job()
    InvitationCode.objects.filter(pk=codes[4].pk).update(status=CodeStatus.VOID)
    page = complete(job).content.decode()
    # The commit checks the rows again in its transaction: nothing sent, the problem shown.
    assert job.status == ImportStatus.INVALID and not CodeSend.objects.exists()
    assert "the rows before this one take 0 of the 4 available" in page


# Selected codes


def test_selected_codes_are_the_ones_sent(staff_http, post_list, complete, codes, contract):
    chosen = [codes[3].pk, codes[1].pk]
    page = staff_http.get(send_url(contract), {"code": chosen}).content.decode()
    assert "2 selected codes" in page and codes[3].shown in page and codes[0].shown not in page

    post_list("ana@example.com, Ana\nbo@example.com, Bo\n", code_ids=chosen)
    job = latest_job()
    assert job.params["code_ids"] == sorted(chosen) and job.status == ImportStatus.VALID
    complete(job)
    assert dict(CodeSend.objects.values_list("recipient", "code_id")) == {
        "ana@example.com": codes[1].pk,
        "bo@example.com": codes[3].pk,
    }


def test_a_selected_code_already_sent_or_void_is_a_problem(post_list, codes):
    CodeSend.objects.create(tenant=codes[0].tenant, code=codes[0], channel="email", recipient="zed@example.com")
    InvitationCode.objects.filter(pk=codes[1].pk).update(status=CodeStatus.VOID)
    post_list("ana@example.com\n", code_ids=[codes[0].pk, codes[1].pk, codes[2].pk])
    messages = [message for _, _, message in problems(latest_job())]
    assert sends_csv.ALREADY_SENT.format(code=codes[0].shown, recipient="zed@example.com") in messages
    assert sends_csv.NONE_SELECTED_LEFT.format(code=codes[1].shown, status="void") in messages


def test_another_tenants_code_ids_in_the_form_are_refused(post_list, staff_http, contract, codes, other_tenant):
    theirs = CodeFactory(tenant=other_tenant)
    other_contract_code = CodeFactory(tenant=contract.tenant)  # this tenant, another contract
    for ids in ([codes[0].pk, theirs.pk], [other_contract_code.pk], ["12abc"]):
        response = post_list("ana@example.com\n", code_ids=ids)
        assert response.status_code == 302
        assert "not codes of this contract" in staff_http.get(response.url).content.decode()
    assert not ImportJob.objects.exists() and not CodeSend.objects.exists()
    assert staff_http.get(send_url(contract), {"code": [theirs.pk]}).status_code == 302


# A code's page and resend


@pytest.fixture
def sent_code(post_list, complete, codes):
    post_list("+44 7700 900123, Sam Jones\n")
    complete(latest_job())
    return codes[0], CodeSend.objects.get()


def code_url(code, rest=""):
    return f"/t/acme/contracts/{code.contract_id}/codes/{code.pk}/{rest}"


def test_the_code_page_lists_its_sends_with_their_delivery(staff_http, sent_code):
    code, send = sent_code
    page = staff_http.get(code_url(code)).content.decode()
    assert "+447700900123" in page and "Sam Jones" in page and "SMS" in page
    assert f"/t/acme/outbox/{send.outbox_id}/" in page and "Sent" in page
    assert f"resend/?send={send.pk}" in page


def test_resend_asks_first_then_sends_a_new_message_to_the_same_recipient(
    staff_http, sent_code, monkeypatch, django_capture_on_commit_callbacks
):
    code, send = sent_code
    confirm = staff_http.get(code_url(code, f"resend/?send={send.pk}"))
    assert "Send code" in confirm.content.decode() and "+447700900123" in confirm.content.decode()
    assert CodeSend.objects.count() == 1

    heard = []
    monkeypatch.setattr(events, "_subscribers", [heard.append])
    monkeypatch.setattr(sending, "RESEND_GUARD_SECONDS", 0)
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_http.post(code_url(code, f"resend/?send={send.pk}"))

    assert response.url == code_url(code)
    again = CodeSend.objects.exclude(pk=send.pk).get()
    assert (again.recipient, again.channel, again.name) == ("+447700900123", "sms", "Sam Jones")
    assert again.outbox_id != send.outbox_id
    row = OutboundEmail.objects.get(pk=again.outbox_id)
    assert row.to_phone == "+447700900123" and code.shown in row.body_text and row.status == EmailStatus.SENT
    assert "code.resent" in [event.name for event in heard]


def test_a_double_click_on_resend_sends_once(staff_http, sent_code):
    code, send = sent_code
    staff_http.post(code_url(code, f"resend/?send={send.pk}"))  # within seconds of the first send
    assert CodeSend.objects.count() == 1
    page = staff_http.get(code_url(code)).content.decode()
    assert sending.RESENT_A_MOMENT_AGO in page


def test_a_void_code_is_not_resent(staff_http, sent_code, monkeypatch):
    code, send = sent_code
    monkeypatch.setattr(sending, "RESEND_GUARD_SECONDS", 0)
    InvitationCode.objects.filter(pk=code.pk).update(status=CodeStatus.VOID)
    response = staff_http.post(code_url(code, f"resend/?send={send.pk}"), follow=True)
    assert f"Code {code.shown} is void: it cannot be sent." in response.content.decode()
    assert CodeSend.objects.count() == 1


def test_resend_of_a_send_of_another_code_is_not_found(staff_http, sent_code, codes):
    _, send = sent_code
    assert staff_http.get(code_url(codes[1], f"resend/?send={send.pk}")).status_code == 404
    assert staff_http.post(code_url(codes[1], "resend/?send=junk")).status_code == 404


# Domain events


def test_a_send_publishes_one_summary_event(post_list, complete, codes, monkeypatch):
    post_list("ana@example.com, Ana, 2\n+447700900123\n")
    heard = []
    monkeypatch.setattr(events, "_subscribers", [heard.append])
    complete(latest_job())
    [summary] = [event for event in heard if event.name == "codes.sent"]
    assert summary.payload["codes"] == 3 and summary.payload["recipients"] == 2
    assert summary.payload["codes_by_channel"] == {"email": 2, "sms": 1}
    assert "3 codes of Acme staff sent to 2 recipients (2 by email, 1 by SMS)" in summary.summary


def test_the_workspaces_own_words_are_used_for_each_recipient(post_list, complete, codes, tenant, mailoutbox):
    from messaging.models import EmailTemplateOverride

    EmailTemplateOverride.objects.create(
        tenant=tenant,
        key=sending.EMAIL_KIND,
        subject="Codes for {{ name }}",
        body_text="{% for item in codes %}{{ item.code }} {% endfor %}",
        body_html="<p>{{ name }}: {{ codes_text }}</p>",
    )
    post_list("ana@example.com, Ana\nbo@example.com, Bo <b>\n")
    complete(latest_job())
    by_address = {message.to[0]: message for message in mailoutbox}
    assert by_address["ana@example.com"].subject == "Codes for Ana"
    assert by_address["bo@example.com"].subject == "Codes for Bo <b>"
    assert codes[1].shown in by_address["bo@example.com"].body
    html = by_address["bo@example.com"].alternatives[0][0]
    assert "<p>Bo &lt;b&gt;: " in html and html.startswith("<!doctype html>") and "Acme Training" in html


def test_a_code_restricted_to_a_domain_goes_only_to_an_address_there(tenant, contract, price, staff):
    """The restricted code goes to the one recipient at its domain, wherever that recipient is in
    the list; an SMS recipient takes the unrestricted codes."""
    plain = [CodeFactory(tenant=tenant, price=price, code=f"ACME{n:06d}PL") for n in range(2)]
    acme_only = CodeFactory(tenant=tenant, price=price, code="ACME000000RD", restricted_domain="acme.example")
    rows = [
        sending.SendRow(2, "email", "ana@elsewhere.example", "Ana", 1),
        sending.SendRow(3, "sms", "+447700900123", "Sam", 1),
        sending.SendRow(4, "email", "bo@team.acme.example", "Bo", 1),
    ]
    sending.codes_send(
        tenant=tenant,
        contract=contract,
        sends=rows,
        code_ids=[acme_only.pk, *(code.pk for code in plain)],
        actor=staff,
        key="domains",
    )
    sent_to = dict(CodeSend.objects.values_list("code_id", "recipient"))
    assert sent_to[acme_only.pk] == "bo@team.acme.example"
    assert {sent_to[code.pk] for code in plain} == {"ana@elsewhere.example", "+447700900123"}


def test_a_restricted_code_nobody_in_the_list_can_use_refuses_the_send(tenant, contract, price, staff):
    acme_only = CodeFactory(tenant=tenant, price=price, code="ACME000000RD", restricted_domain="acme.example")
    with pytest.raises(ValidationError) as refused:
        sending.codes_send(
            tenant=tenant,
            contract=contract,
            sends=[sending.SendRow(2, "email", "ana@elsewhere.example", "Ana", 1)],
            code_ids=[acme_only.pk],
            actor=staff,
            key="nobody",
        )
    assert "only for email addresses at acme.example" in refused.value.messages[0]
    assert not CodeSend.objects.exists() and not OutboundEmail.objects.exists()
