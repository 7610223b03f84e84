"""A customer's seat invitations (My Account → an order's Details → Email invitations) can also go by
SMS: a mobile number after an address (typed, or a CSV's phone column) sends the same private accept
link by text too. The invite stays bound to its address; a bad number names its line and nothing is
written; a re-invite texts again; many at once stay set-based."""

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from messaging.models import Channel, EmailStatus, OutboundEmail
from messaging.private import MASK
from messaging.sms.backends import OutboxBackend
from regcodes.forms_portal import MAX_CSV_ADDRESSES, PHONE_WITHOUT_ADDRESS, TWO_PHONES, InviteLearnersForm
from regcodes.models import LearnerInvite
from regcodes.services import invite_again, invite_for_token, invites_send

from ..conftest import signed_in
from ..factories import ProductFactory, ProductSessionFactory, UserFactory, seat_invite, seat_order
from .test_portal_pages import field_errors, invite_links, stats, url
from .test_services import assert_conserved, flashes, plain, snapshot

pytestmark = pytest.mark.django_db

INVITATION = "regcodes.learner_invitation"
NOT_INTERNATIONAL = "is not a phone number in international format"


@pytest.fixture
def buyer(tenant):
    return UserFactory(email="buyer@customer.example", first_name="Bea", last_name="Buyer")


@pytest.fixture
def order(tenant, buyer):
    course = ProductSessionFactory(
        tenant=tenant, product=ProductFactory(tenant=tenant, name="First aid at work"), name="Spring run"
    )
    return seat_order(course, buyer, quantity=5)


@pytest.fixture
def http(buyer):
    return signed_in(buyer)


@pytest.fixture
def texted(settings, monkeypatch):
    """The SMS handed to the provider, as delivered (with the real link in place of the mask)."""
    settings.SMS_URL = "outbox://"
    delivered = []

    def send(backend, message):
        delivered.append(message)
        return "outbox"

    monkeypatch.setattr(OutboxBackend, "send", send)
    return delivered


def sms_rows(tenant):
    return OutboundEmail.objects.filter(tenant=tenant, channel=Channel.SMS, template_key=INVITATION).order_by("id")


def email_rows(tenant):
    return OutboundEmail.objects.filter(tenant=tenant, channel=Channel.EMAIL, template_key=INVITATION).order_by("id")


def link_of(row: OutboundEmail) -> str:
    [link] = row.private_values.values()
    return link


def csv_upload(text: str) -> SimpleUploadedFile:
    return SimpleUploadedFile("learners.csv", text.encode(), content_type="text/csv")


# Typed into the box ---------------------------------------------------------------------------------------------


def test_typed_numbers_send_the_same_link_by_sms_and_the_pending_table_shows_them(
    tenant, order, buyer, http, texted, django_capture_on_commit_callbacks
):
    typed = "ivy@example.com, +44 (0)7700 900123\r\njoe@example.com\nKai@Example.com +49 151 1234 5678\n"
    with django_capture_on_commit_callbacks() as sends:
        response = http.post(url(order, "invites"), {"addresses": typed, "message": "See you on Monday!"})

    assert response.status_code == 302
    page = http.get(response["Location"])
    assert "3 invitations sent (2 also by SMS)." in flashes(page)
    assert stats(page) == (2, 3, 0)
    invites = {i.email: i for i in LearnerInvite.objects.filter(tenant=tenant, code__order=order)}
    assert {email: i.phone for email, i in invites.items()} == {
        "ivy@example.com": "+447700900123",
        "joe@example.com": "",
        "kai@example.com": "+4915112345678",
    }
    # Everyone is emailed; the two with a number are texted too, from the buyer, and nobody else is.
    assert sorted(email_rows(tenant).values_list("to_email", flat=True)) == sorted(invites)
    texts = {row.to_phone: row for row in sms_rows(tenant)}
    assert set(texts) == {"+447700900123", "+4915112345678"}
    assert {row.created_by_id for row in texts.values()} == {buyer.pk}

    # The SMS carries the same link as that person's email; the stored copy shows a mask, not the link.
    for email, phone in [("ivy@example.com", "+447700900123"), ("kai@example.com", "+4915112345678")]:
        row = texts[phone]
        link = link_of(email_rows(tenant).get(to_email=email))
        assert link_of(row) == link and link not in row.body_text and MASK in row.shown_text
        assert "First aid at work" in row.body_text and "Bea Buyer" in row.body_text
        assert "See you on Monday!" not in row.body_text  # the message is the email's, an SMS stays short
        token = link.rstrip("/").rsplit("/", 1)[-1]
        assert invite_for_token(tenant=tenant, token=token) == invites[email]
    links = {phone: link_of(row) for phone, row in texts.items()}

    # After commit, each number is sent its text with the real link in it.
    for send in sends:
        send()
    assert sorted(m.to for m in texted) == sorted(links)
    for message in texted:
        assert links[message.to] in message.text
    assert set(sms_rows(tenant).values_list("status", flat=True)) == {EmailStatus.SENT}

    # The pending table shows each number next to its address, and the link to copy.
    text = plain(page)
    assert "Mobile" in text
    assert "ivy@example.com +447700900123" in text and "kai@example.com +4915112345678" in text
    assert "joe@example.com —" in text
    assert set(links.values()) < set(invite_links(page))
    assert_conserved(order)


def test_without_any_number_nothing_goes_by_sms(tenant, order, http, texted):
    response = http.post(url(order, "invites"), {"addresses": "ivy@example.com, joe@example.com"})

    assert response.status_code == 302
    assert "2 invitations sent." in flashes(http.get(response["Location"]))
    assert email_rows(tenant).count() == 2
    assert not sms_rows(tenant).exists()


BAD_LINES = [
    (
        "ivy@example.com\njoe@example.com, 07700 900123",
        f"Line 2: “07700 900123” {NOT_INTERNATIONAL}",
    ),
    ("ivy@example.com, call me", "These are not email addresses: call, me."),
    ("ivy@example.com\n+44 7700 900123", PHONE_WITHOUT_ADDRESS.format(line=2, phone="+44 7700 900123")),
    ("+44 7700 900123, ivy@example.com", PHONE_WITHOUT_ADDRESS.format(line=1, phone="+44 7700 900123")),
    (
        "ivy@example.com +44 7700 900123, +44 7700 900124",
        TWO_PHONES.format(line=1, email="ivy@example.com"),
    ),
    ("ivy@example.com, +12", f"Line 1: “+12” {NOT_INTERNATIONAL}"),
]


@pytest.mark.parametrize(
    ("typed", "expected"), BAD_LINES, ids=["national", "words", "own-line", "before", "two", "too-short"]
)
def test_a_bad_number_names_its_line_and_nothing_is_written(tenant, order, http, texted, typed, expected):
    before = snapshot(tenant)

    page = http.post(url(order, "invites"), {"addresses": typed, "message": "Hi"})

    assert page.status_code == 200
    [error] = field_errors(page, "addresses")
    assert error.startswith(expected), error
    assert stats(page) == (5, 0, 0)
    assert snapshot(tenant) == before
    assert not texted


def test_every_bad_line_is_named_at_once(tenant, order, http):
    typed = "a@example.com, 07700 900123\nb@example.com, +44 7700 900123\nc@example.com, 555"

    page = http.post(url(order, "invites"), {"addresses": typed})

    errors = field_errors(page, "addresses")
    assert [error.split(":")[0] for error in errors] == ["Line 1", "Line 3"]
    assert not LearnerInvite.objects.filter(tenant=tenant).exists()


# From a CSV ---------------------------------------------------------------------------------------------------


def test_a_csv_phone_column_sends_the_rows_with_a_number_by_sms_too(tenant, order, http, texted):
    upload = csv_upload("email,first_name,phone\nivy@example.com,Ivy,+44 7700 900123\njoe@example.com,Joe,\n")

    response = http.post(url(order, "invites"), {"addresses": "kai@example.com, +4915112345678", "csv_file": upload})

    assert response.status_code == 302
    assert "3 invitations sent (2 also by SMS)." in flashes(http.get(response["Location"]))
    phones = dict(LearnerInvite.objects.filter(tenant=tenant).values_list("email", "phone"))
    assert phones == {"ivy@example.com": "+447700900123", "joe@example.com": "", "kai@example.com": "+4915112345678"}
    assert sorted(sms_rows(tenant).values_list("to_phone", flat=True)) == ["+447700900123", "+4915112345678"]


def test_a_bad_number_in_the_csv_names_its_row_and_nothing_is_written(tenant, order, http, texted):
    upload = csv_upload("email,phone\nivy@example.com,+44 7700 900123\njoe@example.com,0151 1234 5678\n")
    before = snapshot(tenant)

    page = http.post(url(order, "invites"), {"addresses": "", "csv_file": upload})

    assert page.status_code == 200
    [error] = field_errors(page, "csv_file")
    assert error.startswith("Row 3, column phone: “0151 1234 5678”") and NOT_INTERNATIONAL in error
    assert snapshot(tenant) == before
    assert not texted


def test_a_csv_of_ten_thousand_rows_with_numbers_is_still_taken_whole():
    rows = "\n".join(f"learner{n}@example.com,+4477009{n:05d}" for n in range(MAX_CSV_ADDRESSES))
    form = InviteLearnersForm({"addresses": "", "message": ""}, {"csv_file": csv_upload(f"email,phone\n{rows}\n")})

    assert form.is_valid(), form.errors
    assert len(form.cleaned_data["invitees"]) == MAX_CSV_ADDRESSES
    assert form.cleaned_data["invitees"][-1].phone == f"+4477009{MAX_CSV_ADDRESSES - 1:05d}"


# The service, re-invites, many at once ------------------------------------------------------------------------


def test_the_service_refuses_a_bad_number_naming_its_address_and_writes_nothing(tenant, order, buyer):
    before = snapshot(tenant)

    with pytest.raises(ValidationError) as refused:
        invites_send(
            tenant=tenant,
            order=order,
            emails=["ivy@example.com", "joe@example.com"],
            phones={"Joe@Example.com": "not a number"},
            actor=buyer,
        )

    assert refused.value.messages[0].startswith("The mobile number of Joe@Example.com: “not a number”")
    assert snapshot(tenant) == before


def test_a_re_invite_of_the_same_address_texts_the_same_number_again_with_the_new_link(tenant, order, http, texted):
    first, _ = seat_invite(order, "ivy@example.com", phones={"ivy@example.com": "+44 7700 900123"})

    response = http.post(url(order, "invite_again", seat_invite_id=first.pk), {"email": "", "phone": ""})

    assert response.status_code == 302
    [flash] = flashes(http.get(response["Location"]))
    assert flash.startswith("Invitation sent to ivy@example.com and by SMS to +447700900123;")
    again = LearnerInvite.objects.exclude(pk=first.pk).get(tenant=tenant)
    assert again.phone == "+447700900123"
    first_sms, second_sms = sms_rows(tenant)
    assert first_sms.to_phone == second_sms.to_phone == "+447700900123"
    assert link_of(second_sms) == link_of(
        email_rows(tenant).get(idempotency_key__endswith=f"regcode-invite:{again.pk}")
    )
    assert link_of(second_sms) != link_of(first_sms)


def test_a_re_invite_to_someone_else_texts_only_a_number_given_for_them(tenant, order, buyer, texted):
    first, _ = seat_invite(order, "ivy@example.com", phones={"ivy@example.com": "+44 7700 900123"})

    other = invite_again(tenant=tenant, invite=first, email="zoe@example.com", actor=buyer)
    assert other.phone == "" and sms_rows(tenant).count() == 1  # Ivy's number is not Zoe's

    third = invite_again(tenant=tenant, invite=first, email="max@example.com", phone="+33 6 12 34 56 78", actor=buyer)
    assert third.phone == "+33612345678"
    assert list(sms_rows(tenant).values_list("to_phone", flat=True)) == ["+447700900123", "+33612345678"]


def test_a_bad_number_on_the_re_invite_page_is_shown_and_nothing_is_sent(tenant, order, http, texted):
    first, _ = seat_invite(order, "ivy@example.com")
    before = snapshot(tenant)

    page = http.post(url(order, "invite_again", seat_invite_id=first.pk), {"email": "", "phone": "07700 900123"})

    assert page.status_code == 200
    assert NOT_INTERNATIONAL in field_errors(page, "phone")[0]
    assert snapshot(tenant) == before


def test_many_invitations_with_numbers_are_one_sms_each_in_queries_that_do_not_grow(tenant, order, buyer):
    big = seat_order(order.product_session, buyer, quantity=300)

    def people(count, prefix):
        emails = [f"{prefix}{n}@example.com" for n in range(count)]
        return emails, {email: f"+44 7700 9{n:05d}" for n, email in enumerate(emails)}

    few_emails, few_phones = people(3, "few")
    many_emails, many_phones = people(200, "many")
    with CaptureQueriesContext(connection) as few:
        first = invites_send(tenant=tenant, order=big, emails=few_emails, phones=few_phones, actor=buyer)
    with CaptureQueriesContext(connection) as many:
        invites = invites_send(tenant=tenant, order=big, emails=many_emails, phones=many_phones, actor=buyer)

    assert len(many) == len(few)
    assert [i.phone for i in invites] == [f"+4477009{n:05d}" for n in range(200)]
    keys = set(sms_rows(tenant).values_list("idempotency_key", flat=True))
    assert sms_rows(tenant).count() == len(keys) == 203
    assert keys == {f"{tenant.pk}:regcode-invite:{i.pk}:sms" for i in first + invites}
