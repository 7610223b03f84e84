"""Email invitations to many addresses at once (the "Email invitations" step of My Account): the same
refusals as one invitation, exactly one seat and one email per address with that address's own link,
a number of queries that does not grow with the number of addresses, and delivery to a real SMTP
server after commit.
"""

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from messaging.models import EmailStatus, EmailTemplateOverride, OutboundEmail
from messaging.private import MASK
from regcodes.models import CodeStatus, LearnerInvite, LearnerInviteStatus, RegistrationCode
from regcodes.services import (
    ALREADY_HAS_ACCESS,
    ALREADY_INVITED,
    NOT_ENOUGH_SEATS,
    NewLearner,
    invite_for_token,
    invites_send,
    learners_assign,
)

from ..factories import ProductFactory, ProductSessionFactory, UserFactory, seat_order
from ..smtp import SmtpServer
from .test_services import assert_conserved, snapshot

pytestmark = pytest.mark.django_db

INVITATION = "regcodes.learner_invitation"


@pytest.fixture
def buyer(tenant):
    return UserFactory(email="buyer@customer.example", first_name="Bea", last_name="Buyer")


@pytest.fixture
def course(tenant):
    return ProductSessionFactory(tenant=tenant, product=ProductFactory(tenant=tenant, name="First aid at work"))


@pytest.fixture
def smtp(settings):
    with SmtpServer() as server:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", server.port, 5
        settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
        yield server


def addresses(count, prefix="learner"):
    return [f"{prefix}{n}@example.com" for n in range(count)]


def token_in(text: str) -> str:
    return next(w for w in text.split() if "/seats/invite/" in w).rstrip("/").rsplit("/", 1)[-1]


def test_each_of_many_addresses_gets_one_seat_and_one_email_with_its_own_link(
    tenant, course, buyer, smtp, django_capture_on_commit_callbacks
):
    order = seat_order(course, buyer, quantity=260)
    people = addresses(250)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        invites = invites_send(tenant=tenant, order=order, emails=people, message="See you!", actor=buyer)

    assert len(callbacks) == 3  # the emails go out in chunks, after commit
    assert [i.email for i in invites] == people
    assert len({i.code_id for i in invites}) == 250
    assert assert_conserved(order) == {"available": 10, "invited": 250, "claimed": 0}
    assert set(LearnerInvite.objects.filter(tenant=tenant).values_list("status", "invited_by")) == {
        (LearnerInviteStatus.OPEN, buyer.pk)
    }
    emails = OutboundEmail.objects.filter(tenant=tenant, template_key=INVITATION)
    assert emails.count() == 250
    assert set(emails.values_list("status", flat=True)) == {EmailStatus.SENT}
    keys = set(emails.values_list("idempotency_key", flat=True))
    assert keys == {f"{tenant.pk}:regcode-invite:{i.pk}" for i in invites}

    # Each address received one email, whose link opens its own invite, and the stored copy masks it.
    received = {m["To"]: m for m in smtp.messages}
    assert len(smtp.messages) == len(received) == 250
    for invite in invites:
        message = received[invite.email]
        assert "Bea Buyer" in message["Subject"] and "First aid at work" in message["Subject"]
        text = message.get_body(("plain",)).get_content()
        assert "See you!" in text
        assert invite_for_token(tenant=tenant, token=token_in(text)) == invite
    stored = emails.get(to_email=people[0])
    assert MASK in stored.shown_text and "/seats/invite/" not in stored.body_text + stored.body_html


def test_the_queries_do_not_grow_with_the_number_of_addresses(tenant, course, buyer):
    order = seat_order(course, buyer, quantity=300)
    with CaptureQueriesContext(connection) as few:
        invites_send(tenant=tenant, order=order, emails=addresses(3, "few"), actor=buyer)
    with CaptureQueriesContext(connection) as many:
        invites_send(tenant=tenant, order=order, emails=addresses(200, "many"), actor=buyer)
    assert len(many) == len(few)


def test_the_tenants_own_invitation_template_is_used(tenant, course, buyer):
    EmailTemplateOverride.objects.create(
        tenant=tenant,
        key=INVITATION,
        subject="A seat on {{ course }} from {{ from_name }}",
        body_text="Take it: {{ link }}",
        body_html="<a href='{{ link }}'>Take it</a>",
    )
    order = seat_order(course, buyer, quantity=3)
    invites_send(tenant=tenant, order=order, emails=addresses(2), actor=buyer)
    emails = OutboundEmail.objects.filter(tenant=tenant, template_key=INVITATION)
    assert set(emails.values_list("subject", flat=True)) == {"A seat on First aid at work from Bea Buyer"}
    texts = [e.body_text for e in emails]
    assert all(t.startswith("Take it: private-") for t in texts) and texts[0] != texts[1]


@pytest.mark.parametrize(
    "problem",
    ["pending", "holder", "twice", "too_many"],
)
def test_one_refused_address_among_many_refuses_all_and_changes_nothing(tenant, course, buyer, problem):
    order = seat_order(course, buyer, quantity=20)
    invites_send(tenant=tenant, order=order, emails=["pending@example.com"], actor=buyer)
    learners_assign(tenant=tenant, order=order, learners=[NewLearner("holder@example.com")], actor=buyer)
    people = addresses(10)
    people.insert(
        5,
        {
            "pending": "Pending@Example.com",
            "holder": "HOLDER@example.com",
            "twice": "Learner3@example.com",
            "too_many": "extra@example.com",
        }[problem],
    )
    if problem == "too_many":
        people += addresses(8, "more")
    before = snapshot(tenant)

    with pytest.raises(ValidationError) as refused:
        invites_send(tenant=tenant, order=order, emails=people, actor=buyer)

    assert refused.value.messages == [
        {
            "pending": ALREADY_INVITED.format(emails="pending@example.com"),
            "holder": ALREADY_HAS_ACCESS.format(email="holder@example.com"),
            "twice": ALREADY_INVITED.format(emails="learner3@example.com"),
            "too_many": NOT_ENOUGH_SEATS.format(remaining=18, s="s", asked=19),
        }[problem]
    ]
    assert snapshot(tenant) == before
    assert RegistrationCode.objects.filter(order=order, status=CodeStatus.INVITED).count() == 1
