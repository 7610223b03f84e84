"""Registration codes under real concurrency on PostgreSQL: each attempt runs in its own thread with its own
database connection, all released at once by a barrier.

What is proven (issue 5, docs/concurrency.md): of learners accepting invites for the same code at once exactly
one gets it and the others are told someone else was first; handing seats out from many requests at once
never gives more than were bought; removing an access twice at once removes it once. After every race the
order's seats are checked: available + invited + claimed = seats bought, a claimed code has exactly one
active access, and nobody holds two seats of one course.
"""

import threading
import time
from functools import partial

import pytest
from django.core.exceptions import ValidationError

from accounts.models import User
from messaging.models import OutboundEmail
from regcodes import services
from regcodes.models import CodeStatus, CourseAccess, LearnerInvite, LearnerInviteStatus, RegistrationCode
from regcodes.services import (
    ACCESS_ALREADY_REMOVED,
    INVITE_GONE,
    INVITE_TAKEN,
    INVITE_USED,
    INVITE_WITHDRAWN,
    NOT_ENOUGH_SEATS,
    NewLearner,
    access_remove,
    invite_accept,
    invite_again,
    invite_withdraw,
    invites_send,
    learners_assign,
)

from ..factories import ProductSessionFactory, UserFactory, seat_order
from ..races import race

pytestmark = pytest.mark.django_db(transaction=True)

TAKEN = [INVITE_GONE.format(why=INVITE_TAKEN)]


# Helpers -------------------------------------------------------------------------------------------------


def meeting_after(real, meeting, timeout=3):
    """``real``, then wait until the other thread of the race has done its own: both then hold what they
    wrote and have passed every check before either commits (the unlucky interleaving, every run). If the
    other never arrives (it is kept waiting on a lock), go on after ``timeout`` seconds."""

    def wrapper(*args, **kwargs):
        result = real(*args, **kwargs)
        try:
            meeting.wait(timeout=timeout)
        except threading.BrokenBarrierError:
            pass
        return result

    return wrapper


def refusals(outcomes):
    return [o for o in outcomes if isinstance(o, Exception)]


def unexpected(outcomes):
    """Outcomes that are neither a result nor a ValidationError (a deadlock, a 500 waiting to happen)."""
    return [o for o in outcomes if isinstance(o, Exception) and not isinstance(o, ValidationError)]


def assert_conserved(order) -> dict:
    counts = services.seats(tenant=order.tenant, order=order)
    assert sum(counts.values()) == order.quantity, counts
    for code in RegistrationCode.objects.filter(order=order):
        active = list(CourseAccess.objects.filter(code=code, revoked_at__isnull=True))
        if code.status == CodeStatus.CLAIMED:
            assert len(active) == 1 and active[0].learner_id == code.learner_id, (code, active)
        else:
            assert active == [] and code.learner_id is None, (code, active)
            if code.status == CodeStatus.INVITED:
                assert LearnerInvite.objects.filter(code=code, status=LearnerInviteStatus.OPEN).exists()
    return counts


def assert_one_seat_each(course):
    """Nobody holds two active seats of one course."""
    learners = list(
        CourseAccess.objects.filter(product_session=course, revoked_at__isnull=True).values_list("learner", flat=True)
    )
    assert len(learners) == len(set(learners)), learners


def invite_pair(order, buyer, first="first@example.com", second="second@example.com"):
    """Two open invites for the same code, and the logins of their two addresses."""
    [one] = invites_send(tenant=order.tenant, order=order, emails=[first], actor=buyer)
    two = invite_again(tenant=order.tenant, invite=one, email=second, actor=buyer)
    return (one, UserFactory(email=first)), (two, UserFactory(email=second))


def accept(tenant, invite, user):
    return lambda: invite_accept(tenant=tenant, invite=invite, user=user)


@pytest.fixture
def buyer(tenant):
    return UserFactory(email="buyer@customer.example", first_name="Bea", last_name="Buyer")


@pytest.fixture
def course(tenant):
    return ProductSessionFactory(tenant=tenant)


# 1. Two invites for one code accepted at the same moment ------------------------------------------------


def assert_one_took_the_code(order, pairs, outcomes):
    winners = [o for o in outcomes if isinstance(o, CourseAccess)]
    assert len(winners) == 1, outcomes
    [(invite, _), *_] = pairs
    code = RegistrationCode.objects.get(pk=invite.code_id)
    assert code.status == CodeStatus.CLAIMED and code.learner_id == winners[0].learner_id
    assert CourseAccess.objects.filter(code=code).count() == 1
    statuses = sorted(LearnerInvite.objects.filter(code=code).values_list("status", flat=True))
    assert statuses == sorted([LearnerInviteStatus.ACCEPTED] + [LearnerInviteStatus.INVALID] * (len(pairs) - 1))
    for (_, user), outcome in zip(pairs, outcomes, strict=True):
        has = CourseAccess.objects.filter(learner=user, revoked_at__isnull=True).exists()
        assert has == isinstance(outcome, CourseAccess)
    assert assert_conserved(order)["claimed"] == 1


@pytest.mark.parametrize("round_", range(3))
def test_two_learners_accepting_invites_for_the_same_code_at_once_one_gets_it(tenant, course, buyer, round_):
    order = seat_order(course, buyer, quantity=2)
    pairs = invite_pair(order, buyer)

    outcomes = race(tenant, [accept(tenant, invite, user) for invite, user in pairs])

    assert_one_took_the_code(order, pairs, outcomes)


def test_the_learner_who_loses_the_code_is_told_someone_else_was_first(tenant, course, buyer, monkeypatch):
    """Forced: the first to lock its invite waits (a second) for the other to reach its own lock."""
    order = seat_order(course, buyer, quantity=2)
    pairs = invite_pair(order, buyer)
    meeting = threading.Barrier(2)
    real_problem = services.invite_problem
    monkeypatch.setattr(services, "invite_problem", meeting_after(real_problem, meeting, timeout=1))

    outcomes = race(tenant, [accept(tenant, invite, user) for invite, user in pairs])

    assert unexpected(outcomes) == []
    assert [o.messages for o in refusals(outcomes)] == [TAKEN]
    assert_one_took_the_code(order, pairs, outcomes)


def test_four_invites_for_one_code_accepted_at_once_one_gets_it(tenant, course, buyer):
    order = seat_order(course, buyer, quantity=3)
    pairs = list(invite_pair(order, buyer, "a@example.com", "b@example.com"))
    first = pairs[0][0]
    for email in ("c@example.com", "d@example.com"):
        invite = invite_again(tenant=tenant, invite=first, email=email, actor=buyer)
        pairs.append((invite, UserFactory(email=email)))

    outcomes = race(tenant, [accept(tenant, invite, user) for invite, user in pairs])

    assert_one_took_the_code(order, pairs, outcomes)  # the losers' refusals: see the test above
    assert_one_seat_each(course)


def test_one_invite_accepted_by_its_learner_four_times_at_once_gives_one_seat(tenant, course, buyer):
    order = seat_order(course, buyer, quantity=2)
    [invite] = invites_send(tenant=tenant, order=order, emails=["clicker@example.com"], actor=buyer)
    user = UserFactory(email="clicker@example.com")

    outcomes = race(tenant, [accept(tenant, invite, user)] * 4)

    assert sum(isinstance(o, CourseAccess) for o in outcomes) == 1
    assert unexpected(outcomes) == []
    assert {tuple(o.messages) for o in refusals(outcomes)} == {(INVITE_GONE.format(why=INVITE_USED),)}
    assert CourseAccess.objects.filter(learner=user).count() == 1
    assert assert_conserved(order) == {"available": 1, "invited": 0, "claimed": 1}


def holding(real, seconds):
    """``real``, then keep what it locked for ``seconds`` before going on."""

    def wrapper(*args, **kwargs):
        result = real(*args, **kwargs)
        time.sleep(seconds)
        return result

    return wrapper


def later(attempt, seconds):
    def wrapper():
        time.sleep(seconds)
        return attempt()

    return wrapper


@pytest.mark.parametrize("customer_action", ["withdraw", "re-invite"])
def test_a_customer_withdrawing_or_reinviting_while_the_learner_accepts_ends_one_way_or_the_other(
    tenant, course, buyer, monkeypatch, customer_action
):
    """Forced: the customer's request locks the order, and holds it while the learner's accept starts."""
    order = seat_order(course, buyer, quantity=2)
    [invite] = invites_send(tenant=tenant, order=order, emails=["late@example.com"], actor=buyer)
    user = UserFactory(email="late@example.com")
    monkeypatch.setattr(services, "_lock_order", holding(services._lock_order, 0.6))
    if customer_action == "withdraw":
        customer = partial(invite_withdraw, tenant=tenant, invite=invite, actor=buyer)
    else:
        customer = partial(invite_again, tenant=tenant, invite=invite, email="friend@example.com", actor=buyer)

    outcomes = race(tenant, [later(accept(tenant, invite, user), 0.2), customer])

    assert unexpected(outcomes) == []
    invite.refresh_from_db()
    if isinstance(outcomes[0], CourseAccess):
        assert invite.status == LearnerInviteStatus.ACCEPTED
        assert assert_conserved(order) == {"available": 1, "invited": 0, "claimed": 1}
        if customer_action == "re-invite" and isinstance(outcomes[1], LearnerInvite):
            outcomes[1].refresh_from_db()
            assert outcomes[1].status == LearnerInviteStatus.INVALID
    elif customer_action == "withdraw":
        assert outcomes[0].messages == [INVITE_GONE.format(why=INVITE_WITHDRAWN)]
        assert invite.status == LearnerInviteStatus.WITHDRAWN
        assert not CourseAccess.objects.exists()
        assert assert_conserved(order) == {"available": 2, "invited": 0, "claimed": 0}
    else:
        pytest.fail(f"the learner's accept was refused: {outcomes}")


# 2. Handing out seats from many requests at once ------------------------------------------------------------


def test_many_assignments_and_invitations_at_once_hand_out_exactly_the_seats_bought(tenant, course, buyer):
    order = seat_order(course, buyer, quantity=6)
    attempts = []
    for n in range(7):
        learners = [NewLearner(f"learner{n}@example.com", "Lea", f"Rner{n}")]
        attempts.append(lambda ls=learners: learners_assign(tenant=tenant, order=order, learners=ls, actor=buyer))
    for n in range(7):
        addresses = [f"invitee{n}@example.com"]
        attempts.append(lambda a=addresses: invites_send(tenant=tenant, order=order, emails=a, actor=buyer))

    outcomes = race(tenant, attempts)

    assert unexpected(outcomes) == []
    won = [o for o in outcomes if isinstance(o, list)]
    assert len(won) == 6
    assert {tuple(o.messages) for o in refusals(outcomes)} == {(NOT_ENOUGH_SEATS.format(remaining=0, s="s", asked=1),)}
    assigned = [o[0] for o in won if isinstance(o[0], CourseAccess)]
    invited = [o[0] for o in won if isinstance(o[0], LearnerInvite)]
    assert assert_conserved(order) == {"available": 0, "invited": len(invited), "claimed": len(assigned)}
    assert len({x.code_id for x in assigned + invited}) == 6
    # Only the winners got a login and an email; the refused left nothing behind.
    winners = sorted(x.learner.email for x in assigned)
    assert sorted(User.objects.filter(email__startswith="learner").values_list("email", flat=True)) == winners
    sent = OutboundEmail.objects.filter(tenant=tenant)
    assert sorted(sent.filter(template_key="regcodes.learner_login_details").values_list("to_email", flat=True)) == (
        winners
    )
    assert sorted(sent.filter(template_key="regcodes.learner_invitation").values_list("to_email", flat=True)) == sorted(
        x.email for x in invited
    )


def test_requests_of_several_seats_at_once_never_hand_out_more_than_remain(tenant, course, buyer):
    order = seat_order(course, buyer, quantity=7)
    learners_assign(tenant=tenant, order=order, learners=[NewLearner("early@example.com")], actor=buyer)
    sizes = [3, 2, 2, 1, 3, 2, 1, 2]
    attempts = []
    for n, size in enumerate(sizes):
        if n % 2:
            addresses = [f"inv{n}-{i}@example.com" for i in range(size)]
            attempts.append(lambda a=addresses: invites_send(tenant=tenant, order=order, emails=a, actor=buyer))
        else:
            learners = [NewLearner(f"lea{n}-{i}@example.com") for i in range(size)]
            attempts.append(lambda ls=learners: learners_assign(tenant=tenant, order=order, learners=ls, actor=buyer))

    outcomes = race(tenant, attempts)

    assert unexpected(outcomes) == []
    handed = sum(len(o) for o in outcomes if isinstance(o, list))
    assert 6 - max(sizes) < handed <= 6  # a refusal only when fewer remained than were asked
    for size, outcome in zip(sizes, outcomes, strict=True):
        if isinstance(outcome, ValidationError):
            [message] = outcome.messages
            remaining = int(message.split()[1])
            assert message == NOT_ENOUGH_SEATS.format(remaining=remaining, s="" if remaining == 1 else "s", asked=size)
            assert remaining < size
        else:
            assert len(outcome) == size  # all or nothing
    counts = assert_conserved(order)
    assert counts["available"] == 6 - handed
    assert_one_seat_each(course)


def test_removing_and_reassigning_at_once_keeps_seats_conserved(tenant, course, buyer, staff):
    order = seat_order(course, buyer, quantity=5)
    granted = learners_assign(
        tenant=tenant, order=order, learners=[NewLearner(f"first{i}@example.com") for i in range(5)], actor=buyer
    )
    attempts = [lambda a=a: access_remove(tenant=tenant, access=a, actor=staff) for a in granted[:3]]
    attempts += [
        lambda n=n: learners_assign(
            tenant=tenant, order=order, learners=[NewLearner(f"next{n}@example.com")], actor=buyer
        )
        for n in range(4)
    ]
    attempts += [
        lambda n=n: invites_send(tenant=tenant, order=order, emails=[f"inv{n}@example.com"], actor=buyer)
        for n in range(2)
    ]
    # One of the removed learners is put back at the same time.
    attempts.append(
        lambda: learners_assign(tenant=tenant, order=order, learners=[NewLearner("first0@example.com")], actor=buyer)
    )

    outcomes = race(tenant, attempts)

    assert unexpected(outcomes) == []
    assert all(isinstance(o, CourseAccess) for o in outcomes[:3]), outcomes[:3]
    handed = sum(len(o) for o in outcomes[3:] if isinstance(o, list))
    assert handed <= 3
    for outcome in refusals(outcomes[3:]):
        [message] = outcome.messages
        assert message.startswith("Only ") or message == services.ALREADY_HAS_ACCESS.format(email="first0@example.com")
    counts = assert_conserved(order)
    assert counts["claimed"] + counts["invited"] == 2 + handed
    assert counts["available"] == 3 - handed
    assert_one_seat_each(course)


def test_removing_the_same_access_five_times_at_once_removes_it_once(tenant, course, buyer, staff):
    order = seat_order(course, buyer, quantity=3)
    [access] = learners_assign(tenant=tenant, order=order, learners=[NewLearner("gone@example.com")], actor=buyer)

    outcomes = race(tenant, [lambda: access_remove(tenant=tenant, access=access, actor=staff)] * 5)

    assert sum(isinstance(o, CourseAccess) for o in outcomes) == 1
    assert unexpected(outcomes) == []
    assert [o.messages for o in refusals(outcomes)] == [[ACCESS_ALREADY_REMOVED]] * 4
    access.refresh_from_db()
    assert access.revoked_at is not None and access.revoked_by == staff
    assert assert_conserved(order) == {"available": 3, "invited": 0, "claimed": 0}
    # The freed seat is handed out once more, to one learner.
    learners_assign(tenant=tenant, order=order, learners=[NewLearner("next@example.com")], actor=buyer)
    assert assert_conserved(order) == {"available": 2, "invited": 0, "claimed": 1}


# 3. One learner, one seat of a course ------------------------------------------------------------------------


def test_two_customers_assigning_the_same_learner_at_once_use_one_seat(tenant, course, monkeypatch):
    """Forced as below: each would wait after its claim for the other; it never gets that far, since locking
    the order also locks its product session row, so the second waits and then sees the first's access."""
    first_buyer, second_buyer = UserFactory(email="one@customer.example"), UserFactory(email="two@customer.example")
    first, second = seat_order(course, first_buyer, quantity=2), seat_order(course, second_buyer, quantity=2)
    learner = UserFactory(email="shared@example.com")
    monkeypatch.setattr(services, "_claim", meeting_after(services._claim, threading.Barrier(2), timeout=1))

    outcomes = race(
        tenant,
        [
            lambda: learners_assign(
                tenant=tenant, order=first, learners=[NewLearner(learner.email)], actor=first_buyer
            ),
            lambda: learners_assign(
                tenant=tenant, order=second, learners=[NewLearner(learner.email)], actor=second_buyer
            ),
        ],
    )

    assert unexpected(outcomes) == []
    assert sum(isinstance(o, list) for o in outcomes) == 1
    assert [o.messages for o in refusals(outcomes)] == [[services.ALREADY_HAS_ACCESS.format(email=learner.email)]]
    assert CourseAccess.objects.filter(learner=learner, revoked_at__isnull=True).count() == 1
    assert assert_conserved(first)["claimed"] + assert_conserved(second)["claimed"] == 1


@pytest.mark.parametrize("second_way", ["second-invite", "direct-assign"])
def test_one_learner_given_the_same_course_twice_at_once_uses_one_seat(tenant, course, monkeypatch, second_way):
    """Two invitations to the same course from two customers, or one invitation while a customer assigns the
    same learner directly. The "already has access" check is a plain SELECT; it holds because both paths lock
    the product session row first (``select_for_update`` over ``select_related`` locks every joined row). The
    patch makes each wait after its claim for the other, so dropping that lock would fail here every run."""
    first_buyer, second_buyer = UserFactory(email="one@customer.example"), UserFactory(email="two@customer.example")
    first, second = seat_order(course, first_buyer, quantity=2), seat_order(course, second_buyer, quantity=2)
    learner = UserFactory(email="shared@example.com")
    [invite] = invites_send(tenant=tenant, order=first, emails=[learner.email], actor=first_buyer)
    if second_way == "second-invite":
        [other] = invites_send(tenant=tenant, order=second, emails=[learner.email], actor=second_buyer)
        other_way = accept(tenant, other, learner)
    else:

        def other_way():
            return learners_assign(
                tenant=tenant, order=second, learners=[NewLearner(learner.email)], actor=second_buyer
            )

    monkeypatch.setattr(services, "_claim", meeting_after(services._claim, threading.Barrier(2), timeout=1))

    outcomes = race(tenant, [accept(tenant, invite, learner), other_way])

    assert unexpected(outcomes) == []
    assert len(refusals(outcomes)) == 1
    assert CourseAccess.objects.filter(learner=learner, revoked_at__isnull=True).count() == 1
    assert_one_seat_each(course)
    assert assert_conserved(first)["claimed"] + assert_conserved(second)["claimed"] == 1
