"""Registration codes (issue 5) on PostgreSQL: orders of seats and their codes, handing seats out (create or
pick learners, email invitations, re-invite, withdraw, accept), removing and extending access, the
separation of customers and tenants, and the public page behind an invitation link (through the Django
test client).

``assert_conserved`` runs after every change: available + invited + claimed = seats bought, a claimed code
has exactly one active access (its learner's), an invited code has an open invite, an available code has
neither. Every refusal is checked to change nothing (``snapshot``).
"""

import html
import random
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import partial
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth import authenticate
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.test import Client as HttpClient
from django.urls import resolve

from accounts.models import User
from messaging.models import OutboundEmail
from regcodes import services
from regcodes.forms import PASSWORDS_DIFFER
from regcodes.models import (
    CodeStatus,
    CourseAccess,
    LearnerInvite,
    LearnerInviteStatus,
    RegistrationCode,
    SeatOrder,
    SeatOrderStatus,
)
from regcodes.public import ACCEPTED, UNKNOWN_LINK
from regcodes.services import (
    ACCESS_ALREADY_REMOVED,
    ALREADY_HAS_ACCESS,
    ALREADY_INVITED,
    ENDS_BEFORE_START,
    INVITE_GONE,
    INVITE_TAKEN,
    INVITE_USED,
    INVITE_WITHDRAWN,
    NOT_ENOUGH_SEATS,
    ONE_SEAT_ONLY,
    PRODUCT_INACTIVE,
    WRONG_LEARNER,
    NewLearner,
    access_change_dates,
    access_remove,
    invite_accept,
    invite_again,
    invite_for_token,
    invite_withdraw,
    invites_send,
    learners_assign,
)
from tenancy.urlresolvers import tenant_reverse

from ..conftest import signed_in
from ..factories import (
    DEFAULT_PASSWORD,
    ProductFactory,
    ProductSessionFactory,
    TenantFactory,
    UserFactory,
    seat_invite,
    seat_order,
)

pytestmark = pytest.mark.django_db

INVITATION = "regcodes.learner_invitation"
LOGIN_DETAILS = "regcodes.learner_login_details"
GOOD_PASSWORD = "violet-marmot-47-lantern"


# Fixtures and helpers ---------------------------------------------------------------------------------------


@pytest.fixture
def buyer(tenant):
    return UserFactory(email="buyer@customer.example", first_name="Bea", last_name="Buyer")


@pytest.fixture
def course(tenant):
    return ProductSessionFactory(
        tenant=tenant, product=ProductFactory(tenant=tenant, name="First aid at work"), access_days=90
    )


@pytest.fixture
def order(course, buyer):
    return seat_order(course, buyer, quantity=5)


def assert_conserved(order) -> dict:
    """Seats conserved, and every code's status agrees with its access and invites."""
    counts = services.seats(tenant=order.tenant, order=order)
    assert sum(counts.values()) == order.quantity, counts
    for code in RegistrationCode.objects.filter(order=order):
        active = list(CourseAccess.objects.filter(code=code, revoked_at__isnull=True))
        open_invites = LearnerInvite.objects.filter(code=code, status=LearnerInviteStatus.OPEN).count()
        if code.status == CodeStatus.CLAIMED:
            assert len(active) == 1, (code, active)
            assert active[0].learner_id == code.learner_id
            assert active[0].product_session_id == order.product_session_id
            assert open_invites == 0, code
        elif code.status == CodeStatus.INVITED:
            assert active == [] and code.learner_id is None
            assert open_invites >= 1, code
        else:
            assert active == [] and code.learner_id is None
            assert open_invites == 0, code
    return counts


def snapshot(tenant) -> dict:
    """Everything a refused call must leave as it was."""
    return {
        "users": sorted(User.objects.values_list("email", flat=True)),
        "codes": sorted(RegistrationCode.objects.filter(tenant=tenant).values_list("pk", "status", "learner_id")),
        "access": sorted(CourseAccess.objects.filter(tenant=tenant).values_list("pk", "learner_id", "revoked_at")),
        "invites": sorted(LearnerInvite.objects.filter(tenant=tenant).values_list("pk", "status")),
        "emails": OutboundEmail.objects.filter(tenant=tenant).count(),
        "orders": SeatOrder.objects.count(),
    }


def emails(tenant, key, **filters):
    return OutboundEmail.objects.filter(tenant=tenant, template_key=key, **filters)


def invite_email(invite) -> OutboundEmail:
    return OutboundEmail.objects.get(
        tenant=invite.tenant, idempotency_key=f"{invite.tenant.pk}:regcode-invite:{invite.pk}"
    )


def token_of(invite) -> str:
    [link] = invite_email(invite).private_values.values()
    return link.rstrip("/").rsplit("/", 1)[-1]


def accept_url(tenant, token) -> str:
    return tenant_reverse(tenant, "seats:accept", seat_token=token)


def access_of(user, course):
    return CourseAccess.objects.filter(learner=user, product_session=course, revoked_at__isnull=True)


def plain(response) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.content.decode())).split())


def flashes(response) -> list[str]:
    return [html.unescape(m) for m in re.findall(r'<p class="flash flash-\w+">(.*?)</p>', response.content.decode())]


def date_in(zone: str):
    return datetime.now(ZoneInfo(zone)).date()


# Orders ------------------------------------------------------------------------------------------------------


def test_a_paid_order_awaits_offline_payment_with_instructions_naming_the_order_number(tenant, course, buyer):
    order = seat_order(course, buyer, quantity=3)

    order.refresh_from_db()
    assert order.status == SeatOrderStatus.AWAITING_PAYMENT
    assert order.paid_at is None
    assert order.payment_provider == "offline"
    assert order.number == f"R-{order.pk:06d}"
    assert order.number in order.payment_instructions
    assert "300.00" in order.payment_instructions
    assert (order.quantity, order.unit_price, order.total) == (3, Decimal("100.00"), Decimal("300.00"))
    assert order.buyer == buyer and order.tenant == tenant
    assert order.client.email == "buyer@customer.example"
    assert assert_conserved(order) == {"available": 3, "invited": 0, "claimed": 0}


def test_a_free_order_is_paid_at_once(tenant, buyer):
    course = ProductSessionFactory(tenant=tenant, price=Decimal("0"))

    order = seat_order(course, buyer, quantity=4)

    order.refresh_from_db()
    assert order.status == SeatOrderStatus.PAID
    assert order.paid_at is not None
    assert order.total == 0
    assert order.payment_instructions == ""
    assert order.codes.count() == 4


def test_an_order_of_a_code_generating_session_has_exactly_one_unique_code_per_seat(tenant, course, buyer):
    order = seat_order(course, buyer, quantity=25)
    other = seat_order(course, buyer, quantity=2)

    codes = list(order.codes.values_list("code", flat=True))
    assert len(codes) == 25
    assert len(set(codes)) == 25
    assert all(len(code) == services.CODE_WIDTH for code in codes)
    assert not set(codes) & set(other.codes.values_list("code", flat=True))
    assert RegistrationCode.objects.filter(order=order, tenant=tenant, status=CodeStatus.AVAILABLE).count() == 25
    assert assert_conserved(order) == {"available": 25, "invited": 0, "claimed": 0}


@pytest.mark.parametrize("generates", [True, False])
def test_a_single_seat_is_the_buyers_own_and_leaves_nothing_to_hand_out(tenant, buyer, generates):
    course = ProductSessionFactory(tenant=tenant, generates_codes=generates)

    order = seat_order(course, buyer, quantity=1)

    assert assert_conserved(order) == {"available": 0, "invited": 0, "claimed": 1}
    assert CourseAccess.objects.filter(learner=buyer, product_session=course, revoked_at__isnull=True).exists()
    before = snapshot(tenant)
    with pytest.raises(ValidationError) as refused:
        learners_assign(tenant=tenant, order=order, learners=[NewLearner("x@example.com")], actor=buyer)
    assert refused.value.messages == [NOT_ENOUGH_SEATS.format(remaining=0, s="s", asked=1)]
    assert snapshot(tenant) == before


@pytest.mark.parametrize("quantity", [2, 6])
def test_a_session_without_the_switch_is_sold_one_seat_per_order(tenant, buyer, quantity):
    course = ProductSessionFactory(tenant=tenant, generates_codes=False)
    before = snapshot(tenant)

    with pytest.raises(ValidationError) as refused:
        seat_order(course, buyer, quantity=quantity)

    assert refused.value.message_dict == {"quantity": [ONE_SEAT_ONLY]}
    assert snapshot(tenant) == before


def test_an_inactive_course_is_not_sold(tenant, buyer):
    course = ProductSessionFactory(tenant=tenant, product=ProductFactory(tenant=tenant, is_active=False))

    with pytest.raises(ValidationError) as refused:
        seat_order(course, buyer, quantity=3)

    assert refused.value.messages == [PRODUCT_INACTIVE]
    assert not SeatOrder.objects.exists()
    assert not RegistrationCode.objects.exists()


def test_another_tenants_product_session_is_refused(tenant, other_tenant, buyer):
    theirs = ProductSessionFactory(tenant=other_tenant)

    with pytest.raises(ValidationError) as refused:
        services.seat_order_create(tenant=tenant, product_session=theirs, buyer=buyer, quantity=3)

    assert refused.value.messages == [PRODUCT_INACTIVE]
    assert not SeatOrder.objects.exists()
    assert not RegistrationCode.objects.exists()


# Create learners ---------------------------------------------------------------------------------------------


def test_a_new_learner_gets_a_login_with_the_password_given_and_immediate_access(tenant, order, course, buyer):
    [access] = learners_assign(
        tenant=tenant,
        order=order,
        learners=[NewLearner(" New.Learner@Example.com ", " Nia ", " Newman ", GOOD_PASSWORD)],
        actor=buyer,
    )

    user = User.objects.get(email="new.learner@example.com")
    assert (user.first_name, user.last_name) == ("Nia", "Newman")
    assert authenticate(username="new.learner@example.com", password=GOOD_PASSWORD) == user
    assert access.learner == user and access.product_session == course and access.is_active
    assert access.starts_on == services.today(tenant)
    assert access.ends_on == access.starts_on + timedelta(days=90)
    code = access.code
    code.refresh_from_db()
    assert code.order_id == order.pk and code.status == CodeStatus.CLAIMED and code.learner == user
    assert assert_conserved(order) == {"available": 4, "invited": 0, "claimed": 1}

    [sent] = emails(tenant, LOGIN_DETAILS)
    assert sent.to_email == "new.learner@example.com"
    assert sent.created_by == buyer
    assert "First aid at work" in sent.subject
    [link] = sent.private_values.values()
    assert link.startswith("http://testserver/accounts/password/reset/")
    assert link not in sent.body_text  # the link waits in private_values only
    match = resolve(urlsplit(link).path)
    assert match.view_name == "accounts:password_reset_confirm"
    assert default_token_generator.check_token(user, match.kwargs["token"])
    assert "/t/acme/account/" in sent.body_text


def test_a_new_learner_without_a_password_has_none_until_they_choose_one_from_the_email(tenant, order, buyer):
    learners_assign(tenant=tenant, order=order, learners=[NewLearner("rand@example.com", "Ran", "Dom")], actor=buyer)

    user = User.objects.get(email="rand@example.com")
    assert not user.has_usable_password() and not user.email_verified
    assert authenticate(username="rand@example.com", password="") is None
    assert authenticate(username="rand@example.com", password=DEFAULT_PASSWORD) is None
    [sent] = emails(tenant, LOGIN_DETAILS, to_email="rand@example.com")
    assert any("/accounts/password/reset/" in value for value in sent.private_values.values())
    assert access_of(user, order.product_session).count() == 1


def test_an_existing_login_is_used_as_it_is(tenant, order, buyer):
    existing = UserFactory(email="known@example.com", first_name="Kim", last_name="Known")
    hashed = existing.password

    [access] = learners_assign(
        tenant=tenant,
        order=order,
        learners=[NewLearner("KNOWN@example.com", "Other", "Name", "a-different-password-99")],
        actor=buyer,
    )

    existing.refresh_from_db()
    assert access.learner == existing
    assert existing.password == hashed
    assert (existing.first_name, existing.last_name) == ("Kim", "Known")
    assert authenticate(username="known@example.com", password=DEFAULT_PASSWORD) == existing
    assert User.objects.filter(email__iexact="known@example.com").count() == 1
    [sent] = emails(tenant, LOGIN_DETAILS)
    assert sent.to_email == "known@example.com"
    assert not any(sent.private_values.values())  # no set-password link for an existing login
    assert "password" not in sent.body_text.lower()
    assert_conserved(order)


def test_several_learners_get_one_login_details_email_each(tenant, order, buyer):
    UserFactory(email="old@example.com")
    learners = [NewLearner("a@example.com"), NewLearner("old@example.com"), NewLearner("b@example.com")]

    granted = learners_assign(tenant=tenant, order=order, learners=learners, actor=buyer)

    # Seats are given in address order (the order locks are taken in).
    assert [a.learner.email for a in granted] == ["a@example.com", "b@example.com", "old@example.com"]
    assert len({a.code_id for a in granted}) == 3
    assert sorted(emails(tenant, LOGIN_DETAILS).values_list("to_email", flat=True)) == [
        "a@example.com",
        "b@example.com",
        "old@example.com",
    ]
    with_link = {e.to_email for e in emails(tenant, LOGIN_DETAILS) if any(e.private_values.values())}
    assert with_link == {"a@example.com", "b@example.com"}
    assert assert_conserved(order) == {"available": 2, "invited": 0, "claimed": 3}


def test_more_learners_than_seats_left_are_refused_and_nothing_changes(tenant, course, buyer):
    order = seat_order(course, buyer, quantity=3)
    learners_assign(tenant=tenant, order=order, learners=[NewLearner("first@example.com")], actor=buyer)
    UserFactory(email="exists@example.com")
    before = snapshot(tenant)

    for asked in (3, 4):
        with pytest.raises(ValidationError) as refused:
            learners_assign(
                tenant=tenant,
                order=order,
                learners=[NewLearner(f"n{i}@example.com") for i in range(asked - 1)] + [NewLearner("exists@e.com")],
                actor=buyer,
            )
        assert refused.value.messages == [NOT_ENOUGH_SEATS.format(remaining=2, s="s", asked=asked)]
    assert snapshot(tenant) == before
    assert not User.objects.filter(email__startswith="n").exists()

    # One seat left: the singular.
    learners_assign(tenant=tenant, order=order, learners=[NewLearner("second@example.com")], actor=buyer)
    with pytest.raises(ValidationError) as refused:
        learners_assign(
            tenant=tenant, order=order, learners=[NewLearner("x@example.com"), NewLearner("y@example.com")], actor=buyer
        )
    assert refused.value.messages == [NOT_ENOUGH_SEATS.format(remaining=1, s="", asked=2)]
    assert refused.value.messages[0].startswith("Only 1 seat left")
    assert assert_conserved(order) == {"available": 1, "invited": 0, "claimed": 2}


def test_a_learner_who_already_has_access_is_refused_and_nothing_changes(tenant, course, order, buyer):
    learners_assign(tenant=tenant, order=order, learners=[NewLearner("has@example.com")], actor=buyer)
    before = snapshot(tenant)

    with pytest.raises(ValidationError) as refused:
        learners_assign(
            tenant=tenant,
            order=order,
            learners=[NewLearner("fresh@example.com", password=GOOD_PASSWORD), NewLearner("HAS@example.com")],
            actor=buyer,
        )

    assert refused.value.messages == [ALREADY_HAS_ACCESS.format(email="has@example.com")]
    assert snapshot(tenant) == before
    assert not User.objects.filter(email="fresh@example.com").exists()
    assert assert_conserved(order) == {"available": 4, "invited": 0, "claimed": 1}

    # The same rule through another customer's order of the same session.
    other_order = seat_order(course, UserFactory(email="other-buyer@example.com"), quantity=2)
    before = snapshot(tenant)
    with pytest.raises(ValidationError) as refused:
        learners_assign(tenant=tenant, order=other_order, learners=[NewLearner("has@example.com")], actor=buyer)
    assert refused.value.messages == [ALREADY_HAS_ACCESS.format(email="has@example.com")]
    assert snapshot(tenant) == before


def test_the_same_learner_twice_in_one_call_is_refused_whole(tenant, order, buyer):
    before = snapshot(tenant)

    with pytest.raises(ValidationError) as refused:
        learners_assign(
            tenant=tenant,
            order=order,
            learners=[NewLearner("twice@example.com"), NewLearner("Twice@example.com")],
            actor=buyer,
        )

    assert refused.value.messages == [ALREADY_HAS_ACCESS.format(email="twice@example.com")]
    assert snapshot(tenant) == before


# Email invitations -------------------------------------------------------------------------------------------


def test_each_invite_reserves_a_seat_and_sends_one_email_with_the_message(tenant, order, buyer):
    invites = invites_send(
        tenant=tenant,
        order=order,
        emails=["  Ivy@Example.COM ", "jo@example.com"],
        message="  See you on Monday!  ",
        actor=buyer,
    )

    assert [i.email for i in invites] == ["ivy@example.com", "jo@example.com"]
    assert all(i.status == LearnerInviteStatus.OPEN and i.invited_by == buyer for i in invites)
    assert all(i.message == "See you on Monday!" for i in invites)
    assert len({i.code_id for i in invites}) == 2
    assert set(
        RegistrationCode.objects.filter(pk__in=[i.code_id for i in invites]).values_list("status", flat=True)
    ) == {CodeStatus.INVITED}
    assert assert_conserved(order) == {"available": 3, "invited": 2, "claimed": 0}
    assert not CourseAccess.objects.exists()
    assert not User.objects.filter(email__in=["ivy@example.com", "jo@example.com"]).exists()

    assert sorted(emails(tenant, INVITATION).values_list("to_email", flat=True)) == [
        "ivy@example.com",
        "jo@example.com",
    ]
    for invite in invites:
        sent = invite_email(invite)
        assert sent.to_email == invite.email
        assert "See you on Monday!" in sent.body_text
        assert "Bea Buyer" in sent.subject and "First aid at work" in sent.subject
        [link] = sent.private_values.values()
        assert link == "http://testserver" + accept_url(tenant, token_of(invite))
        assert link not in sent.body_text
        assert invite_for_token(tenant=tenant, token=token_of(invite)) == invite


def test_more_invites_than_seats_left_are_refused_and_nothing_changes(tenant, course, buyer):
    order = seat_order(course, buyer, quantity=3)
    invites_send(tenant=tenant, order=order, emails=["one@example.com"], actor=buyer)
    before = snapshot(tenant)

    with pytest.raises(ValidationError) as refused:
        invites_send(tenant=tenant, order=order, emails=[f"x{i}@example.com" for i in range(3)], actor=buyer)

    assert refused.value.messages == [NOT_ENOUGH_SEATS.format(remaining=2, s="s", asked=3)]
    assert snapshot(tenant) == before
    assert assert_conserved(order) == {"available": 2, "invited": 1, "claimed": 0}


def test_a_reinvite_to_another_person_keeps_both_open_and_the_first_to_accept_wins(tenant, order, course, buyer):
    first, first_token = seat_invite(order, "first@example.com", message="Hi")
    second = invite_again(tenant=tenant, invite=first, email="Second@Example.com", actor=buyer)
    second_token = token_of(second)
    assert second_token != first_token

    assert second.code_id == first.code_id and second.email == "second@example.com" and second.message == "Hi"
    first.refresh_from_db()
    assert first.status == second.status == LearnerInviteStatus.OPEN
    assert assert_conserved(order) == {"available": 4, "invited": 1, "claimed": 0}
    assert sorted(emails(tenant, INVITATION).values_list("to_email", flat=True)) == [
        "first@example.com",
        "second@example.com",
    ]
    assert HttpClient().get(accept_url(tenant, first_token)).status_code == 200

    winner = UserFactory(email="second@example.com")
    access = invite_accept(tenant=tenant, invite=second, user=winner)

    assert access.learner == winner
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == LearnerInviteStatus.INVALID and first.closed_at is not None
    assert second.status == LearnerInviteStatus.ACCEPTED
    assert assert_conserved(order) == {"available": 4, "invited": 0, "claimed": 1}

    page = HttpClient().get(accept_url(tenant, first_token))
    assert page.status_code == 410
    assert INVITE_GONE.format(why=INVITE_TAKEN) in plain(page)
    loser = UserFactory(email="first@example.com")
    before = snapshot(tenant)
    with pytest.raises(ValidationError) as refused:
        invite_accept(tenant=tenant, invite=first, user=loser)
    assert refused.value.messages == [INVITE_GONE.format(why=INVITE_TAKEN)]
    assert snapshot(tenant) == before
    assert not access_of(loser, course).exists()


def test_a_reinvite_to_the_same_person_makes_a_new_link_and_both_work(tenant, order, buyer):
    first, first_token = seat_invite(order, "same@example.com")
    again = invite_again(tenant=tenant, invite=first, actor=buyer)

    assert again.email == "same@example.com" and again.pk != first.pk
    assert token_of(again) != first_token
    assert emails(tenant, INVITATION, to_email="same@example.com").count() == 2
    assert assert_conserved(order) == {"available": 4, "invited": 1, "claimed": 0}

    user = UserFactory(email="same@example.com")
    invite_accept(tenant=tenant, invite=first, user=user)  # the older link still works
    again.refresh_from_db()
    assert again.status == LearnerInviteStatus.INVALID
    assert assert_conserved(order) == {"available": 4, "invited": 0, "claimed": 1}


def test_a_reinvite_after_the_seat_was_taken_is_refused(tenant, order, buyer):
    invite, _ = seat_invite(order, "taker@example.com")
    invite_accept(tenant=tenant, invite=invite, user=UserFactory(email="taker@example.com"))
    before = snapshot(tenant)

    with pytest.raises(ValidationError) as refused:
        invite_again(tenant=tenant, invite=invite, email="late@example.com", actor=buyer)

    assert refused.value.messages == [INVITE_GONE.format(why=INVITE_USED)]
    assert snapshot(tenant) == before


def test_withdrawing_returns_the_seat_only_when_no_other_invite_for_it_is_open(tenant, order, buyer):
    first, first_token = seat_invite(order, "first@example.com")
    second = invite_again(tenant=tenant, invite=first, email="second@example.com", actor=buyer)

    invite_withdraw(tenant=tenant, invite=first, actor=buyer)

    first.refresh_from_db()
    assert first.status == LearnerInviteStatus.WITHDRAWN and first.closed_at is not None
    assert RegistrationCode.objects.get(pk=first.code_id).status == CodeStatus.INVITED
    assert assert_conserved(order) == {"available": 4, "invited": 1, "claimed": 0}
    page = HttpClient().get(accept_url(tenant, first_token))
    assert page.status_code == 410
    assert INVITE_GONE.format(why=INVITE_WITHDRAWN) in plain(page)

    before = snapshot(tenant)
    invite_withdraw(tenant=tenant, invite=first, actor=buyer)  # again: nothing happens
    assert snapshot(tenant) == before

    invite_withdraw(tenant=tenant, invite=second, actor=buyer)

    assert RegistrationCode.objects.get(pk=first.code_id).status == CodeStatus.AVAILABLE
    assert assert_conserved(order) == {"available": 5, "invited": 0, "claimed": 0}
    with pytest.raises(ValidationError) as refused:
        invite_accept(tenant=tenant, invite=second, user=UserFactory(email="second@example.com"))
    assert refused.value.messages == [INVITE_GONE.format(why=INVITE_WITHDRAWN)]
    assert assert_conserved(order) == {"available": 5, "invited": 0, "claimed": 0}


def test_withdrawing_an_accepted_invite_changes_nothing(tenant, order, buyer):
    invite, _ = seat_invite(order, "kept@example.com")
    invite_accept(tenant=tenant, invite=invite, user=UserFactory(email="kept@example.com"))
    before = snapshot(tenant)

    invite_withdraw(tenant=tenant, invite=invite, actor=buyer)

    assert snapshot(tenant) == before
    assert assert_conserved(order) == {"available": 4, "invited": 0, "claimed": 1}


# Accepting ---------------------------------------------------------------------------------------------------


def test_accepting_as_another_address_is_refused(tenant, order):
    invite, _ = seat_invite(order, "meant@example.com")
    stranger = UserFactory(email="stranger@example.com")
    before = snapshot(tenant)

    with pytest.raises(ValidationError) as refused:
        invite_accept(tenant=tenant, invite=invite, user=stranger)

    assert refused.value.messages == [WRONG_LEARNER.format(email="meant@example.com")]
    assert snapshot(tenant) == before
    assert assert_conserved(order) == {"available": 4, "invited": 1, "claimed": 0}


def test_accepting_gives_access_from_today_in_the_tenant_time_zone(buyer):
    # A zone whose date differs from UTC's right now (one of the two always does).
    zone = next(z for z in ("Pacific/Kiritimati", "Pacific/Pago_Pago") if date_in(z) != datetime.now(UTC).date())
    far = TenantFactory(slug="far", time_zone=zone)
    course = ProductSessionFactory(tenant=far, access_days=30)
    order = seat_order(course, buyer, quantity=2)
    invite, _ = seat_invite(order, "Far.Learner@example.com")
    user = UserFactory(email="far.learner@example.com")

    access = invite_accept(tenant=far, invite=invite, user=user)

    local_today = date_in(zone)
    assert (access.starts_on, access.ends_on) == (local_today, local_today + timedelta(days=30))
    access.refresh_from_db()
    assert (access.starts_on, access.ends_on) == (local_today, local_today + timedelta(days=30))
    assert access.learner == user and access.product_session == course and access.tenant == far
    invite.refresh_from_db()
    assert invite.status == LearnerInviteStatus.ACCEPTED and invite.closed_at is not None
    code = RegistrationCode.objects.get(pk=invite.code_id)
    assert code.status == CodeStatus.CLAIMED and code.learner == user and code.claimed_at is not None
    assert assert_conserved(order) == {"available": 1, "invited": 0, "claimed": 1}


def test_accepting_twice_is_refused(tenant, order, course):
    invite, _ = seat_invite(order, "twice@example.com")
    user = UserFactory(email="twice@example.com")
    invite_accept(tenant=tenant, invite=invite, user=user)
    before = snapshot(tenant)

    with pytest.raises(ValidationError) as refused:
        invite_accept(tenant=tenant, invite=invite, user=user)

    assert refused.value.messages == [INVITE_GONE.format(why=INVITE_USED)]
    assert snapshot(tenant) == before
    assert access_of(user, course).count() == 1


def test_accepting_when_the_learner_already_has_the_course_is_refused_and_the_seat_stays_invited(
    tenant, order, course, buyer
):
    invite, _ = seat_invite(order, "dup@example.com")
    learners_assign(tenant=tenant, order=order, learners=[NewLearner("dup@example.com")], actor=buyer)
    before = snapshot(tenant)

    with pytest.raises(ValidationError) as refused:
        invite_accept(tenant=tenant, invite=invite, user=User.objects.get(email="dup@example.com"))

    assert refused.value.messages == [ALREADY_HAS_ACCESS.format(email="dup@example.com")]
    assert snapshot(tenant) == before
    assert assert_conserved(order) == {"available": 3, "invited": 1, "claimed": 1}


def test_inviting_someone_who_has_the_course_is_refused(tenant, order, buyer):
    learners_assign(tenant=tenant, order=order, learners=[NewLearner("dup@example.com")], actor=buyer)
    before = snapshot(tenant)

    with pytest.raises(ValidationError) as refused:
        invites_send(tenant=tenant, order=order, emails=["DUP@example.com"], actor=buyer)

    assert refused.value.messages == [ALREADY_HAS_ACCESS.format(email="dup@example.com")]
    assert snapshot(tenant) == before


# Removing and changing access ------------------------------------------------------------------------------------


def test_removing_access_frees_the_seat_once_and_it_can_go_to_someone_else(tenant, order, course, buyer, staff):
    [access] = learners_assign(tenant=tenant, order=order, learners=[NewLearner("gone@example.com")], actor=buyer)
    learner = access.learner

    removed = access_remove(tenant=tenant, access=access, actor=staff)

    assert removed.revoked_at is not None and removed.revoked_by == staff and not removed.is_active
    access.refresh_from_db()
    assert access.revoked_at is not None
    code = RegistrationCode.objects.get(pk=access.code_id)
    assert (code.status, code.learner, code.claimed_at) == (CodeStatus.AVAILABLE, None, None)
    assert not access_of(learner, course).exists()
    assert assert_conserved(order) == {"available": 5, "invited": 0, "claimed": 0}

    before = snapshot(tenant)
    with pytest.raises(ValidationError) as refused:
        access_remove(tenant=tenant, access=access, actor=staff)
    assert refused.value.messages == [ACCESS_ALREADY_REMOVED]
    assert snapshot(tenant) == before

    granted = learners_assign(
        tenant=tenant, order=order, learners=[NewLearner(f"next{i}@example.com") for i in range(5)], actor=buyer
    )
    assert code.pk in {a.code_id for a in granted}  # the freed code went to someone else
    assert CourseAccess.objects.filter(code=code).count() == 2
    assert CourseAccess.objects.filter(code=code, revoked_at__isnull=True).get().learner.email.startswith("next")
    assert assert_conserved(order) == {"available": 0, "invited": 0, "claimed": 5}
    assert not access_of(learner, course).exists()


def test_a_removed_learner_can_be_given_a_seat_again(tenant, order, course, buyer):
    [access] = learners_assign(tenant=tenant, order=order, learners=[NewLearner("back@example.com")], actor=buyer)
    access_remove(tenant=tenant, access=access, actor=buyer)

    invite, _ = seat_invite(order, "back@example.com")
    again = invite_accept(tenant=tenant, invite=invite, user=access.learner)

    assert again.is_active and again.pk != access.pk
    assert access_of(access.learner, course).get() == again
    assert assert_conserved(order) == {"available": 4, "invited": 0, "claimed": 1}


def test_access_dates_can_be_extended_but_not_reversed_nor_changed_once_removed(tenant, order, buyer):
    [access] = learners_assign(tenant=tenant, order=order, learners=[NewLearner("dates@example.com")], actor=buyer)
    start, end = access.starts_on, access.ends_on

    changed = access_change_dates(tenant=tenant, access=access, starts_on=start, ends_on=end + timedelta(days=200))

    access.refresh_from_db()
    assert changed.ends_on == access.ends_on == end + timedelta(days=200)
    assert access.starts_on == start

    with pytest.raises(ValidationError) as refused:
        access_change_dates(tenant=tenant, access=access, starts_on=start, ends_on=start - timedelta(days=1))
    assert refused.value.message_dict == {"ends_on": [ENDS_BEFORE_START]}
    access.refresh_from_db()
    assert access.ends_on == end + timedelta(days=200)

    same_day = access_change_dates(tenant=tenant, access=access, starts_on=start, ends_on=start)
    assert same_day.ends_on == start

    access_remove(tenant=tenant, access=access, actor=buyer)
    with pytest.raises(ValidationError) as refused:
        access_change_dates(tenant=tenant, access=access, starts_on=start, ends_on=end + timedelta(days=400))
    assert refused.value.messages == [ACCESS_ALREADY_REMOVED]
    access.refresh_from_db()
    assert access.ends_on == start


# Conservation over many steps -----------------------------------------------------------------------------------


def test_a_scripted_sequence_keeps_seats_conserved_at_every_step(tenant, order, course, buyer, staff):
    steps = []

    def step(label):
        counts = assert_conserved(order)
        steps.append((label, counts["available"], counts["invited"], counts["claimed"]))

    a, b = learners_assign(
        tenant=tenant, order=order, learners=[NewLearner("a@example.com"), NewLearner("b@example.com")], actor=buyer
    )
    step("assign 2")
    i1, i2 = invites_send(tenant=tenant, order=order, emails=["c@example.com", "d@example.com"], actor=buyer)
    step("invite 2")
    i3 = invite_again(tenant=tenant, invite=i1, email="e@example.com", actor=buyer)
    step("re-invite")
    invite_withdraw(tenant=tenant, invite=i2, actor=buyer)
    step("withdraw the only invite")
    invite_withdraw(tenant=tenant, invite=i1, actor=buyer)
    step("withdraw one of two")
    invite_accept(tenant=tenant, invite=i3, user=UserFactory(email="e@example.com"))
    step("accept")
    access_remove(tenant=tenant, access=a, actor=staff)
    step("remove")
    learners_assign(tenant=tenant, order=order, learners=[NewLearner("a@example.com")], actor=buyer)
    step("re-assign the removed learner")
    access_remove(tenant=tenant, access=b, actor=staff)
    [i4] = invites_send(tenant=tenant, order=order, emails=["b@example.com"], actor=buyer)
    step("remove and invite back")
    invite_accept(tenant=tenant, invite=i4, user=b.learner)
    step("accept again")
    learners_assign(
        tenant=tenant, order=order, learners=[NewLearner("f@example.com"), NewLearner("g@example.com")], actor=buyer
    )
    step("fill")

    assert steps == [
        ("assign 2", 3, 0, 2),
        ("invite 2", 1, 2, 2),
        ("re-invite", 1, 2, 2),
        ("withdraw the only invite", 2, 1, 2),
        ("withdraw one of two", 2, 1, 2),
        ("accept", 2, 0, 3),
        ("remove", 3, 0, 2),
        ("re-assign the removed learner", 2, 0, 3),
        ("remove and invite back", 2, 1, 2),
        ("accept again", 2, 0, 3),
        ("fill", 0, 0, 5),
    ]
    assert CourseAccess.objects.filter(product_session=course, revoked_at__isnull=True).count() == 5


KNOWN_REFUSALS = re.compile(
    "|".join(
        [
            r"Only \d+ seats? left in this order; you asked for \d+\. Nothing was changed\.",
            re.escape(ALREADY_HAS_ACCESS).replace(re.escape("{email}"), r"\S+"),
            re.escape(ALREADY_INVITED).replace(re.escape("{emails}"), r"[^ ]+(, [^ ]+)*"),
            re.escape(INVITE_GONE.format(why=INVITE_TAKEN)),
            re.escape(INVITE_GONE.format(why=INVITE_USED)),
            re.escape(INVITE_GONE.format(why=INVITE_WITHDRAWN)),
            re.escape(ACCESS_ALREADY_REMOVED),
        ]
    )
)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_random_walk_of_every_action_keeps_seats_conserved_and_refusals_change_nothing(
    tenant, course, buyer, staff, seed
):
    rnd = random.Random(seed)
    order = seat_order(course, buyer, quantity=4)
    people = [f"p{i}@example.com" for i in range(7)]
    refused = done = 0

    def user_for(email):
        return User.objects.find_by_email(email) or UserFactory(email=email)

    def some(queryset):
        rows = list(queryset)
        return rnd.choice(rows) if rows else None

    for _ in range(80):
        action = rnd.choice(["assign", "invite", "again", "withdraw", "accept", "accept-closed", "remove", "re-remove"])
        invites = LearnerInvite.objects.filter(code__order=order)
        open_invites = invites.filter(status=LearnerInviteStatus.OPEN)
        accesses = CourseAccess.objects.filter(code__order=order)
        if action == "assign":
            learners = [NewLearner(e) for e in rnd.sample(people, rnd.choice([1, 1, 2]))]
            call = partial(learners_assign, tenant=tenant, order=order, learners=learners, actor=buyer)
        elif action == "invite":
            addresses = rnd.sample(people, rnd.choice([1, 1, 2]))
            call = partial(invites_send, tenant=tenant, order=order, emails=addresses, actor=buyer)
        elif action == "again" and (invite := some(open_invites)):
            call = partial(invite_again, tenant=tenant, invite=invite, email=rnd.choice(people), actor=buyer)
        elif action == "withdraw" and (invite := some(open_invites)):
            call = partial(invite_withdraw, tenant=tenant, invite=invite, actor=buyer)
        elif action == "accept" and (invite := some(open_invites)):
            call = partial(invite_accept, tenant=tenant, invite=invite, user=user_for(invite.email))
        elif action == "accept-closed" and (invite := some(invites.exclude(status=LearnerInviteStatus.OPEN))):
            call = partial(invite_accept, tenant=tenant, invite=invite, user=user_for(invite.email))
        elif action == "remove" and (access := some(accesses.filter(revoked_at__isnull=True))):
            call = partial(access_remove, tenant=tenant, access=access, actor=staff)
        elif action == "re-remove" and (access := some(accesses.filter(revoked_at__isnull=False))):
            call = partial(access_remove, tenant=tenant, access=access, actor=staff)
        else:
            continue
        before = snapshot(tenant)
        try:
            call()
            done += 1
        except ValidationError as exc:
            refused += 1
            [message] = exc.messages
            assert KNOWN_REFUSALS.fullmatch(message), (action, message)
            assert snapshot(tenant) == before, action
        assert_conserved(order)
        for email in people:  # nobody ever holds two seats of the course
            user = User.objects.find_by_email(email)
            assert user is None or access_of(user, course).count() <= 1
    assert done >= 10 and refused >= 3, (done, refused)


# Customers and tenants kept apart ----------------------------------------------------------------------------------


def test_one_customers_actions_never_touch_another_customers_codes(tenant, course, buyer, staff):
    mine = seat_order(course, buyer, quantity=3)
    other_buyer = UserFactory(email="other@customer.example")
    theirs = seat_order(course, other_buyer, quantity=4)
    their_invite, _ = seat_invite(theirs, "their-invitee@example.com")
    [their_access] = learners_assign(
        tenant=tenant, order=theirs, learners=[NewLearner("their-learner@example.com")], actor=other_buyer
    )
    their_codes = sorted(
        RegistrationCode.objects.filter(order=theirs).values_list("pk", "code", "status", "learner_id")
    )

    granted = learners_assign(
        tenant=tenant, order=mine, learners=[NewLearner("m1@example.com"), NewLearner("m2@example.com")], actor=buyer
    )
    [my_invite] = invites_send(tenant=tenant, order=mine, emails=["their-invitee@example.com"], actor=buyer)
    with pytest.raises(ValidationError) as refused:  # theirs has seats left, mine does not: no borrowing
        learners_assign(tenant=tenant, order=mine, learners=[NewLearner("m3@example.com")], actor=buyer)
    assert refused.value.messages == [NOT_ENOUGH_SEATS.format(remaining=0, s="s", asked=1)]
    invite_withdraw(tenant=tenant, invite=my_invite, actor=buyer)
    access_remove(tenant=tenant, access=granted[0], actor=buyer)

    assert {a.code.order_id for a in granted} == {mine.pk}
    assert my_invite.code.order_id == mine.pk
    their_invite.refresh_from_db()
    assert their_invite.status == LearnerInviteStatus.OPEN
    assert access_of(their_access.learner, course).exists()
    assert (
        sorted(RegistrationCode.objects.filter(order=theirs).values_list("pk", "code", "status", "learner_id"))
        == their_codes
    )
    assert assert_conserved(theirs) == {"available": 2, "invited": 1, "claimed": 1}
    assert assert_conserved(mine) == {"available": 2, "invited": 0, "claimed": 1}

    # Accepting their invitation takes one of their codes, never one of mine.
    access = invite_accept(tenant=tenant, invite=their_invite, user=UserFactory(email="their-invitee@example.com"))
    assert access.code.order_id == theirs.pk
    assert assert_conserved(mine) == {"available": 2, "invited": 0, "claimed": 1}


def test_another_tenants_invites_and_orders_are_unknown_here(tenant, other_tenant, buyer):
    here = seat_order(ProductSessionFactory(tenant=tenant), buyer, quantity=2)
    there = seat_order(ProductSessionFactory(tenant=other_tenant), buyer, quantity=2)
    their_invite, their_token = seat_invite(there, "learner@example.com")
    UserFactory(email="learner@example.com")
    before = snapshot(other_tenant)

    assert invite_for_token(tenant=tenant, token=their_token) is None
    for client in (HttpClient(), signed_in(User.objects.get(email="learner@example.com"))):
        for method in (client.get, client.post):
            page = method(accept_url(tenant, their_token))
            assert page.status_code == 404
            assert UNKNOWN_LINK in plain(page)
    with pytest.raises(ObjectDoesNotExist):
        learners_assign(tenant=tenant, order=there, learners=[NewLearner("x@example.com")], actor=buyer)
    with pytest.raises(ObjectDoesNotExist):
        invites_send(tenant=tenant, order=there, emails=["x@example.com"], actor=buyer)
    with pytest.raises(ObjectDoesNotExist):
        invite_accept(tenant=tenant, invite=their_invite, user=User.objects.get(email="learner@example.com"))
    with pytest.raises(ObjectDoesNotExist):
        invite_withdraw(tenant=tenant, invite=their_invite, actor=buyer)
    with pytest.raises(ObjectDoesNotExist):
        invite_again(tenant=tenant, invite=their_invite, email="x@example.com", actor=buyer)
    [their_access] = learners_assign(
        tenant=other_tenant, order=there, learners=[NewLearner("theirs@example.com")], actor=buyer
    )
    before = snapshot(other_tenant)
    with pytest.raises(ObjectDoesNotExist):
        access_remove(tenant=tenant, access=their_access, actor=buyer)
    with pytest.raises(ObjectDoesNotExist):
        access_change_dates(
            tenant=tenant, access=their_access, starts_on=their_access.starts_on, ends_on=their_access.ends_on
        )
    assert snapshot(other_tenant) == before
    assert assert_conserved(here) == {"available": 2, "invited": 0, "claimed": 0}
    # The link works in its own tenant.
    assert HttpClient().get(accept_url(other_tenant, their_token)).status_code == 200


# The invitation page ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("token", ["nope", "x" * 3000, "%00", "ünïcode", "..%2F..%2Fetc"])
def test_an_unknown_link_is_404(tenant, order, token):
    seat_invite(order, "someone@example.com")

    for method in (HttpClient().get, HttpClient().post):
        page = method(f"/t/{tenant.slug}/seats/invite/{token}/")
        assert page.status_code == 404
        if "regcodes/invite_closed.html" in [t.name for t in page.templates]:  # "../" never reaches the view
            assert UNKNOWN_LINK in plain(page)


def test_anonymous_with_no_account_sees_the_setup_form(tenant, order):
    invite, token = seat_invite(order, "newbie@example.com", message="Welcome aboard")

    page = HttpClient().get(accept_url(tenant, token))

    assert page.status_code == 200
    text = plain(page)
    assert "Set up your account" in text
    assert "newbie@example.com" in text and "First aid at work" in text and "Welcome aboard" in text
    for field in ("first_name", "last_name", "password1", "password2"):
        assert f'name="{field}"' in page.content.decode()
    assert "Sign in to accept" not in text


def test_setting_up_an_account_signs_in_takes_the_seat_and_lands_in_my_account(tenant, order, course):
    invite, token = seat_invite(order, "newbie@example.com")
    client = HttpClient()

    response = client.post(
        accept_url(tenant, token),
        {"first_name": "Nel", "last_name": "Newbie", "password1": GOOD_PASSWORD, "password2": GOOD_PASSWORD},
    )

    assert response.status_code == 302
    assert response["Location"] == "/t/acme/account/" == tenant_reverse(tenant, "portal:home")
    user = User.objects.get(email="newbie@example.com")
    assert (user.first_name, user.last_name) == ("Nel", "Newbie")
    assert authenticate(username="newbie@example.com", password=GOOD_PASSWORD) == user
    assert int(client.session["_auth_user_id"]) == user.pk
    invite.refresh_from_db()
    assert invite.status == LearnerInviteStatus.ACCEPTED
    assert access_of(user, course).count() == 1
    assert assert_conserved(order) == {"available": 4, "invited": 0, "claimed": 1}

    home = client.get(response["Location"])
    assert home.status_code == 200
    assert ACCEPTED.format(course="First aid at work") in flashes(home)

    again = client.get(accept_url(tenant, token))
    assert again.status_code == 410
    assert INVITE_GONE.format(why=INVITE_USED) in plain(again)


def test_setup_form_errors_are_shown_and_take_nothing(tenant, order):
    invite, token = seat_invite(order, "newbie@example.com")

    page = HttpClient().post(
        accept_url(tenant, token),
        {"first_name": "Nel", "last_name": "Newbie", "password1": GOOD_PASSWORD, "password2": GOOD_PASSWORD + "x"},
    )

    assert page.status_code == 200
    assert PASSWORDS_DIFFER in plain(page)
    assert not User.objects.filter(email="newbie@example.com").exists()
    invite.refresh_from_db()
    assert invite.status == LearnerInviteStatus.OPEN


def test_with_an_existing_account_the_page_asks_to_sign_in_and_comes_back(tenant, order, course):
    invite, token = seat_invite(order, "member@example.com")
    user = UserFactory(email="member@example.com")
    url = accept_url(tenant, token)
    client = HttpClient()

    page = client.get(url)

    assert page.status_code == 200
    assert "Sign in to accept" in plain(page)
    assert 'name="password1"' not in page.content.decode()
    [href] = re.findall(r'<a class="button" href="([^"]+)">Sign in to accept</a>', page.content.decode())
    href = html.unescape(href)
    assert urlsplit(href).path == "/accounts/login/"
    assert parse_qs(urlsplit(href).query) == {"next": [url]}

    # Posting without signing in takes nothing and makes nothing.
    before = snapshot(tenant)
    posted = client.post(url, {"first_name": "X", "last_name": "Y", "password1": "p", "password2": "p"})
    assert posted.status_code == 200
    assert snapshot(tenant) == before

    signed = client.post(href, {"username": "member@example.com", "password": DEFAULT_PASSWORD})
    assert signed.status_code == 302 and signed["Location"] == url
    page = client.get(url)
    assert "Accept my seat" in plain(page)
    taken = client.post(url)
    assert taken.status_code == 302 and taken["Location"] == "/t/acme/account/"
    assert access_of(user, course).count() == 1
    invite.refresh_from_db()
    assert invite.status == LearnerInviteStatus.ACCEPTED


def test_signed_in_as_another_address_the_page_says_so_and_post_takes_nothing(tenant, order, course):
    invite, token = seat_invite(order, "meant@example.com")
    other = UserFactory(email="other@example.com")
    client = signed_in(other)

    page = client.get(accept_url(tenant, token))

    assert page.status_code == 200
    text = plain(page)
    assert "This invitation was sent to meant@example.com, and you are signed in as other@example.com" in text
    assert "Accept my seat" not in text
    before = snapshot(tenant)
    posted = client.post(accept_url(tenant, token))
    assert posted.status_code == 409
    assert WRONG_LEARNER.format(email="meant@example.com") in plain(posted)
    assert snapshot(tenant) == before
    assert not access_of(other, course).exists()
    assert assert_conserved(order) == {"available": 4, "invited": 1, "claimed": 0}


@pytest.mark.parametrize("closed_by", ["taken", "withdrawn", "used"])
def test_a_closed_invite_shows_410_with_the_reason(tenant, order, buyer, closed_by):
    invite, token = seat_invite(order, "closed@example.com")
    user = UserFactory(email="closed@example.com")
    if closed_by == "taken":
        other = invite_again(tenant=tenant, invite=invite, email="quick@example.com", actor=buyer)
        invite_accept(tenant=tenant, invite=other, user=UserFactory(email="quick@example.com"))
        reason = INVITE_TAKEN
    elif closed_by == "withdrawn":
        invite_withdraw(tenant=tenant, invite=invite, actor=buyer)
        reason = INVITE_WITHDRAWN
    else:
        invite_accept(tenant=tenant, invite=invite, user=user)
        reason = INVITE_USED
    before = snapshot(tenant)

    for client in (HttpClient(), signed_in(user)):
        for method in (client.get, client.post):
            page = method(accept_url(tenant, token))
            assert page.status_code == 410
            assert INVITE_GONE.format(why=reason) in plain(page)
    assert snapshot(tenant) == before


JUNK_POSTS = [
    {},
    {"first_name": "", "last_name": "", "password1": "", "password2": ""},
    {"first_name": "Ann", "last_name": "Lee", "password1": "short", "password2": "short"},
    {"first_name": "Ann", "last_name": "Lee", "password1": "12345678901", "password2": "12345678901"},
    {"first_name": "Ann\x00", "last_name": "Lee", "password1": GOOD_PASSWORD, "password2": GOOD_PASSWORD},
    {"first_name": "Ann\nLee", "last_name": "Lee\t", "password1": GOOD_PASSWORD, "password2": GOOD_PASSWORD},
    {"first_name": "A" * 5000, "last_name": "Lee", "password1": GOOD_PASSWORD, "password2": GOOD_PASSWORD},
    {"first_name": ["Ann", "Bo"], "last_name": "Lee", "password1": GOOD_PASSWORD, "password2": [GOOD_PASSWORD, "x"]},
    {"first_name": "Ann", "last_name": "Lee", "password1": GOOD_PASSWORD},
    {"first_name": "Ann", "last_name": "Lee", "password1": "password", "password2": "password"},
]


def test_junk_posts_never_500_and_take_nothing(tenant, order):
    invite, token = seat_invite(order, "newbie@example.com")
    url = accept_url(tenant, token)
    before = snapshot(tenant)
    client = HttpClient()

    for data in JUNK_POSTS:
        page = client.post(url, data)
        assert page.status_code == 200, data
        assert "Set up your account" in plain(page)
    for body, content_type in [
        (b"\xff\xfe\x00garbage=%%%", "application/x-www-form-urlencoded"),
        (b'{"first_name": "Ann"}', "application/json"),
        (b"--nope\r\nnot multipart", "multipart/form-data; boundary=nope"),
        ("&".join(f"f{i}=x" for i in range(1500)).encode(), "application/x-www-form-urlencoded"),
    ]:
        page = client.post(url, body, content_type=content_type)
        assert page.status_code in (200, 400), (body[:30], page.status_code)

    assert snapshot(tenant) == before
    invite.refresh_from_db()
    assert invite.status == LearnerInviteStatus.OPEN


def test_the_setup_form_refuses_a_password_like_the_invited_address(tenant, order):
    invite, token = seat_invite(order, "newbie.learner@example.com")

    page = HttpClient().post(
        accept_url(tenant, token),
        {
            "first_name": "Nel",
            "last_name": "Newbie",
            "password1": "newbie.learner@example.com",
            "password2": "newbie.learner@example.com",
        },
    )

    assert page.status_code == 200
    assert not User.objects.filter(email="newbie.learner@example.com").exists()
