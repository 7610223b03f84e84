"""sessions_roster services on PostgreSQL: sessions and their spot counter, discount codes, cart and
checkout, invitations (holding spots, resend, cancel, links, proof of address), the waitlist, payments
and cancellations, the sweep of expired holds, and tenant isolation.

Every action that sends an email is checked to send it exactly once; ``assert_counter_true`` checks
after each sequence that ``Session.spots_taken`` equals what really holds a spot.
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone

from messaging.models import OutboundEmail
from sessions_roster.models import (
    HOLDING_REGISTRATION,
    DiscountCode,
    InvitationStatus,
    Order,
    OrderStatus,
    Registration,
    RegistrationStatus,
    Session,
    SessionInvitation,
    WaitlistEntry,
    WaitlistStatus,
)
from sessions_roster.services import notify
from sessions_roster.services.checkout import (
    ALREADY_CANCELLED,
    ALREADY_REGISTERED_FOR,
    CART_EMPTY,
    LOCKED_EMAIL,
    NOT_AWAITING_PAYMENT,
    NOT_OPEN_YET,
    OFFER_LAPSED,
    PROOF_NEEDED,
    SESSION_FULL_NOW,
    SESSION_GONE,
    STARTED,
    Attendee,
    CartLine,
    CheckoutError,
    cart_quote,
    order_checkout,
    order_mark_paid,
    registration_cancel,
)
from sessions_roster.services.discounts import (
    DISCOUNT_CODE_TAKEN,
    DISCOUNT_EXPIRED,
    DISCOUNT_MAX_BELOW_USES,
    DISCOUNT_NOT_FOR_SESSION,
    DISCOUNT_NOT_FOR_THESE,
    DISCOUNT_NOT_YET,
    DISCOUNT_PERCENT_TOO_HIGH,
    DISCOUNT_UNKNOWN,
    DISCOUNT_UNTIL_BEFORE_FROM,
    DISCOUNT_USED_UP,
    DiscountRefused,
    discount_find,
    discount_save,
    discount_split,
)
from sessions_roster.services.holds import holds_expire
from sessions_roster.services.invitations import (
    ALREADY_INVITED,
    EXPIRY_AFTER_START,
    EXPIRY_IN_PAST,
    LINK_CANCELLED,
    LINK_EXPIRED,
    LINK_SESSION_STARTED,
    LINK_UNKNOWN,
    LINK_USED,
    NOT_PENDING,
    PROOF_EXPIRED,
    PROOF_NONE,
    PROOF_RESEND_SECONDS,
    PROOF_SENT_A_MOMENT_AGO,
    PROOF_TOO_MANY,
    PROOF_WRONG,
    RESEND_GUARD_SECONDS,
    SENT_A_MOMENT_AGO,
    SESSION_FULL,
    InvitationClosed,
    invitation_cancel,
    invitation_for_token,
    invitation_open,
    invitation_resend,
    invitation_send,
    proof_check,
    proof_send,
    proves_address,
)
from sessions_roster.services.sessions import (
    CAPACITY_BELOW_TAKEN,
    EDITABLE_FIELDS,
    ENDS_BEFORE_START,
    OPENS_AFTER_START,
    SESSION_IN_USE,
    session_create,
    session_delete,
    session_update,
)
from sessions_roster.services.waitlist import (
    ALREADY_REGISTERED,
    ALREADY_WAITING,
    ENTRY_CLOSED,
    SESSION_STARTED,
    WAITLIST_NOT_FULL,
    offer_for_token,
    waitlist_join,
    waitlist_remove,
)
from sessions_roster.tasks import expire_holds
from tenancy import tokens

from ..factories import (
    DiscountFactory,
    SessionFactory,
    UserFactory,
    offer_token,
    session_invite,
    session_register,
    waitlist_add,
)

pytestmark = pytest.mark.django_db


# Helpers ---------------------------------------------------------------------------------------


def assert_counter_true(session: Session) -> None:
    """The spot counter equals what holds a spot, and never passes the capacity."""
    session.refresh_from_db()
    holding = Registration.objects.filter(session=session, status__in=HOLDING_REGISTRATION).count()
    invited = SessionInvitation.objects.filter(session=session, status=InvitationStatus.PENDING).count()
    offered = WaitlistEntry.objects.filter(session=session, status=WaitlistStatus.OFFERED).count()
    assert session.spots_taken == holding + invited + offered, (
        f"spots_taken={session.spots_taken}, registrations={holding}, invitations={invited}, offers={offered}"
    )
    assert session.spots_taken <= session.capacity


def fresh(row):
    row.refresh_from_db()
    return row


def emails(key: str, to: str | None = None):
    """Outbox rows of one kind of sessions_roster email (``key`` without the app prefix)."""
    rows = OutboundEmail.objects.filter(template_key=f"sessions_roster.{key}")
    return rows.filter(to_email=to) if to else rows


def private_value(email: OutboundEmail, name: str) -> str:
    """The real value behind a placeholder (it waits in ``private_values`` until delivery, which the
    tests never reach: they roll back, so on-commit sending never runs)."""
    [value] = [value for placeholder, value in email.private_values.items() if placeholder.endswith(f"-{name}")]
    return value


def emailed_token(email: OutboundEmail) -> str:
    return private_value(email, "link").rstrip("/").rsplit("/", 1)[-1]


def checkout(tenant, lines, email="pat@example.com", *, discount="", proven=frozenset(), user=None) -> Order:
    if isinstance(lines, Session):
        lines = [CartLine(lines.pk)]
    return order_checkout(
        tenant=tenant,
        lines=lines,
        attendee=Attendee("Pat", "Buyer", email),
        discount_text=discount,
        user=user,
        proven_invitations=proven,
    )


def fill(session: Session) -> list[Order]:
    """Register people until the session is full."""
    session.refresh_from_db()
    return [session_register(session) for _ in range(session.spots_left)]


def edit_fields(session: Session, **changes) -> dict:
    return {**{name: getattr(session, name) for name in EDITABLE_FIELDS}, **changes}


def backdate_sent(invitation: SessionInvitation, seconds: int) -> None:
    SessionInvitation.objects.filter(pk=invitation.pk).update(sent_at=timezone.now() - timedelta(seconds=seconds))


def make_due(invitation: SessionInvitation) -> None:
    SessionInvitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() - timedelta(minutes=1))


def make_offer_due(entry: WaitlistEntry) -> None:
    WaitlistEntry.objects.filter(pk=entry.pk).update(offer_expires_at=timezone.now() - timedelta(minutes=1))


def full_session_with_waitlist(tenant, *people, capacity=1, **session_fields):
    """A full session (one registration per spot) and the given people waiting, in order."""
    session = SessionFactory(tenant=tenant, capacity=capacity, **session_fields)
    orders = fill(session)
    entries = [waitlist_add(session, email=email, first_name=email.split("@")[0]) for email in people]
    return session, orders, entries


def registration_of(order: Order) -> Registration:
    [registration] = order.registrations.all()
    return registration


def soon(**delta):
    return timezone.now() + timedelta(**delta)


def ago(**delta):
    return timezone.now() - timedelta(**delta)


# Sessions: create, update, delete ---------------------------------------------------------------


def session_fields(**changes) -> dict:
    start = soon(days=10).replace(microsecond=0)
    return {
        "title": "Pottery for beginners",
        "description": "Clay and wheels.",
        "location": "Studio 2",
        "starts_at": start,
        "ends_at": start + timedelta(hours=2),
        "price": Decimal("40.00"),
        "registration_opens_at": None,
        "is_listed": True,
        "offer_hold_hours": 24,
        **changes,
    }


def test_session_create_stores_the_session_with_a_link_key_and_no_spot_taken(tenant):
    session = session_create(tenant=tenant, capacity=12, **session_fields())

    session = fresh(session)
    assert session.tenant == tenant and session.title == "Pottery for beginners"
    assert session.capacity == 12 and session.spots_taken == 0 and session.spots_left == 12
    assert len(session.key) >= 12
    assert session.registration_open and not session.is_full
    assert session_create(tenant=tenant, capacity=3, **session_fields()).key != session.key


@pytest.mark.parametrize("hours", [0, -1], ids=["ends-when-it-starts", "ends-before-it-starts"])
def test_session_create_refuses_a_session_that_does_not_end_after_it_starts(tenant, hours):
    fields = session_fields()
    fields["ends_at"] = fields["starts_at"] + timedelta(hours=hours)

    with pytest.raises(ValidationError) as refused:
        session_create(tenant=tenant, capacity=5, **fields)

    assert refused.value.message_dict == {"ends_at": [ENDS_BEFORE_START]}
    assert not Session.objects.filter(tenant=tenant).exists()


@pytest.mark.parametrize("hours", [0, 1], ids=["opens-at-the-start", "opens-after-the-start"])
def test_session_create_refuses_registration_that_opens_at_or_after_the_start(tenant, hours):
    fields = session_fields()
    fields["registration_opens_at"] = fields["starts_at"] + timedelta(hours=hours)

    with pytest.raises(ValidationError) as refused:
        session_create(tenant=tenant, capacity=5, **fields)

    assert refused.value.message_dict == {"registration_opens_at": [OPENS_AFTER_START]}
    assert not Session.objects.filter(tenant=tenant).exists()


def test_session_update_changes_every_editable_field(tenant):
    session = SessionFactory(tenant=tenant, capacity=5)
    start = soon(days=20).replace(microsecond=0)
    changes = {
        "title": "Advanced glazing",
        "description": "Bring an apron.",
        "location": "Studio 9",
        "starts_at": start,
        "ends_at": start + timedelta(hours=3),
        "price": Decimal("55.50"),
        "registration_opens_at": start - timedelta(days=2),
        "is_listed": False,
        "offer_hold_hours": 6,
    }

    session_update(tenant=tenant, session=session, capacity=9, **edit_fields(session, **changes))

    session = fresh(session)
    assert {name: getattr(session, name) for name in EDITABLE_FIELDS} == changes
    assert session.capacity == 9


def test_session_update_refuses_an_end_before_the_start_and_changes_nothing(tenant):
    session = SessionFactory(tenant=tenant, capacity=5, title="Before")
    fields = edit_fields(session, title="After", ends_at=session.starts_at - timedelta(hours=1))

    with pytest.raises(ValidationError) as refused:
        session_update(tenant=tenant, session=session, capacity=5, **fields)

    assert refused.value.message_dict == {"ends_at": [ENDS_BEFORE_START]}
    assert fresh(session).title == "Before"


def test_session_update_refuses_registration_opening_after_the_start(tenant):
    session = SessionFactory(tenant=tenant)
    fields = edit_fields(session, registration_opens_at=session.starts_at + timedelta(minutes=1))

    with pytest.raises(ValidationError) as refused:
        session_update(tenant=tenant, session=session, capacity=5, **fields)

    assert refused.value.message_dict == {"registration_opens_at": [OPENS_AFTER_START]}
    assert fresh(session).registration_opens_at is None


def test_the_capacity_cannot_go_below_the_spots_taken_and_the_message_says_how_many(tenant):
    session = SessionFactory(tenant=tenant, capacity=5)
    session_register(session)
    session_invite(session, "held@example.com")

    with pytest.raises(ValidationError) as refused:
        session_update(tenant=tenant, session=session, capacity=1, **edit_fields(session))

    assert refused.value.message_dict == {"capacity": [CAPACITY_BELOW_TAKEN.format(taken=2)]}
    assert fresh(session).capacity == 5
    session_update(tenant=tenant, session=session, capacity=2, **edit_fields(session))  # exactly the spots taken
    assert fresh(session).capacity == 2 and session.is_full
    assert_counter_true(session)


def test_raising_the_capacity_offers_the_new_spots_to_the_waitlist_at_once(tenant):
    session, _, (first, second, third) = full_session_with_waitlist(
        tenant, "ann@example.com", "ben@example.com", "cas@example.com"
    )

    session = session_update(tenant=tenant, session=session, capacity=3, **edit_fields(session))

    assert [fresh(e).status for e in (first, second, third)] == [
        WaitlistStatus.OFFERED,
        WaitlistStatus.OFFERED,
        WaitlistStatus.WAITING,
    ]
    assert session.spots_taken == 3 and session.spots_left == 0  # the offers hold the new spots
    assert emails("waitlist_offer", "ann@example.com").count() == 1
    assert emails("waitlist_offer", "ben@example.com").count() == 1
    assert not emails("waitlist_offer", "cas@example.com").exists()
    assert emailed_token(emails("waitlist_offer", "ann@example.com").get()) == offer_token(first)
    assert_counter_true(session)


def test_raising_the_capacity_with_nobody_waiting_makes_spots_public(tenant):
    session = SessionFactory(tenant=tenant, capacity=1)
    fill(session)

    session = session_update(tenant=tenant, session=session, capacity=4, **edit_fields(session))

    assert session.spots_taken == 1 and session.spots_left == 3
    assert not emails("waitlist_offer").exists()
    assert_counter_true(session)


def test_a_session_nobody_is_in_can_be_deleted_and_leaves_its_discount_codes_alone(tenant):
    session = SessionFactory(tenant=tenant)
    code = DiscountFactory(tenant=tenant)
    code.sessions.add(session)

    session_delete(tenant=tenant, session=session)

    assert not Session.objects.filter(pk=session.pk).exists()
    assert DiscountCode.objects.filter(pk=code.pk).exists() and not fresh(code).sessions.exists()


@pytest.mark.parametrize("holder", ["registration", "cancelled registration", "invitation", "waitlist"])
def test_a_session_with_registrations_invitations_or_a_waitlist_cannot_be_deleted(tenant, holder):
    session = SessionFactory(tenant=tenant, capacity=1)
    if holder == "registration":
        session_register(session)
    elif holder == "cancelled registration":
        registration_cancel(tenant=tenant, registration=registration_of(session_register(session)), actor=None)
    elif holder == "invitation":
        session_invite(session)
    else:
        fill(session)
        waitlist_add(session)

    with pytest.raises(ValidationError) as refused:
        session_delete(tenant=tenant, session=session)

    assert refused.value.messages == [SESSION_IN_USE]
    assert Session.objects.filter(pk=session.pk).exists()


# The spot counter -------------------------------------------------------------------------------


def test_the_counter_stays_true_through_a_long_mix_of_actions(tenant, staff):
    session = SessionFactory(tenant=tenant, capacity=3, price=Decimal("10.00"))
    assert_counter_true(session)

    paid_order = session_register(session, "one@example.com")
    assert_counter_true(session)
    invitation, _ = session_invite(session, "two@example.com")
    assert_counter_true(session)
    session_register(session, "three@example.com", invitation=None)
    assert_counter_true(session)
    assert fresh(session).is_full

    waiting = [waitlist_add(session, email=f"w{n}@example.com") for n in range(3)]
    extra, _ = session_invite(session, "four@example.com", raise_capacity=True)
    assert_counter_true(session)
    assert fresh(session).capacity == 4

    invitation_cancel(tenant=tenant, invitation=invitation, actor=staff)  # spot → w0
    assert_counter_true(session)
    order_mark_paid(tenant=tenant, order=paid_order, actor=staff)
    assert_counter_true(session)
    registration_cancel(tenant=tenant, registration=registration_of(paid_order), actor=staff)  # spot → w1
    assert_counter_true(session)
    checkout(tenant, [CartLine(session.pk, entry_id=waiting[0].pk)], "w0@example.com")
    assert_counter_true(session)
    make_offer_due(waiting[1])
    assert holds_expire(tenant=tenant) == 1  # w1 lapses, spot → w2
    assert_counter_true(session)
    waitlist_remove(tenant=tenant, entry=waiting[2])  # nobody left waiting: the spot becomes public
    assert_counter_true(session)
    checkout(tenant, [CartLine(session.pk, invitation_id=extra.pk)], "four@example.com")
    assert_counter_true(session)
    checkout(tenant, session, "five@example.com")
    assert_counter_true(session)
    assert fresh(session).is_full


# Discount codes: saving -------------------------------------------------------------------------


def discount_fields(**changes) -> dict:
    return {
        "code": "spring10",
        "kind": "percent",
        "value": Decimal("10"),
        "valid_from": None,
        "valid_until": None,
        "max_uses": None,
        "is_active": True,
        **changes,
    }


def test_discount_save_stores_the_code_trimmed_and_in_capitals_with_its_sessions(tenant):
    session = SessionFactory(tenant=tenant)

    discount = discount_save(tenant=tenant, sessions=[session], **discount_fields(code="  spring10 "))

    discount = fresh(discount)
    assert discount.code == "SPRING10" and discount.tenant == tenant and discount.uses == 0
    assert list(discount.sessions.all()) == [session]


def test_a_code_already_used_in_the_workspace_is_refused_whatever_its_case(tenant):
    DiscountFactory(tenant=tenant, code="SPRING10")

    with pytest.raises(ValidationError) as refused:
        discount_save(tenant=tenant, **discount_fields(code="Spring10"))

    assert refused.value.message_dict == {"code": [DISCOUNT_CODE_TAKEN]}
    assert DiscountCode.objects.filter(tenant=tenant).count() == 1


def test_the_same_code_is_free_in_another_workspace_and_a_code_can_be_saved_again_unchanged(tenant, other_tenant):
    DiscountFactory(tenant=other_tenant, code="SPRING10")
    discount = discount_save(tenant=tenant, **discount_fields())

    discount_save(tenant=tenant, discount=discount, **discount_fields(code="spring10", value=Decimal("15")))

    assert fresh(discount).value == Decimal("15")


def test_a_percentage_above_100_is_refused_but_100_and_a_large_fixed_amount_are_fine(tenant):
    with pytest.raises(ValidationError) as refused:
        discount_save(tenant=tenant, **discount_fields(value=Decimal("100.01")))
    assert refused.value.message_dict == {"value": [DISCOUNT_PERCENT_TOO_HIGH]}

    discount_save(tenant=tenant, **discount_fields(code="ALL", value=Decimal("100")))
    discount_save(tenant=tenant, **discount_fields(code="BIG", kind="fixed", value=Decimal("250")))
    assert set(DiscountCode.objects.filter(tenant=tenant).values_list("code", flat=True)) == {"ALL", "BIG"}


@pytest.mark.parametrize("hours", [0, -5], ids=["same-moment", "before"])
def test_valid_until_at_or_before_valid_from_is_refused(tenant, hours):
    start = soon(days=1)

    with pytest.raises(ValidationError) as refused:
        discount_save(tenant=tenant, **discount_fields(valid_from=start, valid_until=start + timedelta(hours=hours)))

    assert refused.value.message_dict == {"valid_until": [DISCOUNT_UNTIL_BEFORE_FROM]}


def test_max_uses_cannot_go_below_the_uses_counted_so_far(tenant):
    discount = DiscountFactory(tenant=tenant, code="FEW", max_uses=10)
    DiscountCode.objects.filter(pk=discount.pk).update(uses=3)

    with pytest.raises(ValidationError) as refused:
        discount_save(tenant=tenant, discount=discount, **discount_fields(code="FEW", max_uses=2))

    assert refused.value.message_dict == {"max_uses": [DISCOUNT_MAX_BELOW_USES.format(uses=3)]}
    assert fresh(discount).max_uses == 10
    discount_save(tenant=tenant, discount=discount, **discount_fields(code="FEW", max_uses=3))
    assert fresh(discount).max_uses == 3


def test_saving_a_code_never_overwrites_the_uses_counted_meanwhile(tenant):
    discount = DiscountFactory(tenant=tenant, code="BUSY")  # this copy says 0 uses
    DiscountCode.objects.filter(pk=discount.pk).update(uses=4)  # checkouts counted 4 meanwhile

    discount_save(tenant=tenant, discount=discount, **discount_fields(code="BUSY", value=Decimal("20")))

    assert fresh(discount).uses == 4 and discount.value == Decimal("20")


def test_sessions_of_another_workspace_are_never_attached_to_a_code(tenant, other_tenant):
    mine = SessionFactory(tenant=tenant)
    theirs = SessionFactory(tenant=other_tenant)

    discount = discount_save(tenant=tenant, sessions=[mine, theirs], **discount_fields())

    assert list(fresh(discount).sessions.all()) == [mine]


# Discount codes: finding one --------------------------------------------------------------------


def local(tenant, moment) -> str:
    return f"{timezone.localtime(moment, tenant.zone):%-d %B %Y, %H:%M}"


def test_discount_find_accepts_the_code_in_any_case_with_spaces_around(tenant):
    discount = DiscountFactory(tenant=tenant, code="WELCOME", valid_from=ago(days=1), valid_until=soon(days=1))

    assert discount_find(tenant=tenant, text="  welcome ") == discount


def test_discount_find_refuses_an_unknown_code(tenant):
    DiscountFactory(tenant=tenant, code="WELCOME")

    with pytest.raises(DiscountRefused) as refused:
        discount_find(tenant=tenant, text="WELCOME2")

    assert str(refused.value) == DISCOUNT_UNKNOWN


def test_discount_find_refuses_an_inactive_code(tenant):
    DiscountFactory(tenant=tenant, code="OLD", is_active=False)

    with pytest.raises(DiscountRefused) as refused:
        discount_find(tenant=tenant, text="old")

    assert str(refused.value) == DISCOUNT_UNKNOWN


def test_discount_find_refuses_a_code_not_valid_yet_and_says_from_when(tenant):
    starts = soon(days=3)
    DiscountFactory(tenant=tenant, code="LATER", valid_from=starts)

    with pytest.raises(DiscountRefused) as refused:
        discount_find(tenant=tenant, text="later")

    assert str(refused.value) == DISCOUNT_NOT_YET.format(when=local(tenant, starts))


def test_discount_find_refuses_an_expired_code_and_says_since_when(tenant):
    ended = ago(hours=1)
    DiscountFactory(tenant=tenant, code="GONE", valid_until=ended)

    with pytest.raises(DiscountRefused) as refused:
        discount_find(tenant=tenant, text="gone")

    assert str(refused.value) == DISCOUNT_EXPIRED.format(when=local(tenant, ended))


def test_discount_find_refuses_a_used_up_code_but_not_one_with_a_use_left(tenant):
    discount = DiscountFactory(tenant=tenant, code="TWICE", max_uses=2)
    DiscountCode.objects.filter(pk=discount.pk).update(uses=1)
    assert discount_find(tenant=tenant, text="twice") == discount

    DiscountCode.objects.filter(pk=discount.pk).update(uses=2)
    with pytest.raises(DiscountRefused) as refused:
        discount_find(tenant=tenant, text="twice")

    assert str(refused.value) == DISCOUNT_USED_UP


# Discount codes: the math -----------------------------------------------------------------------


def amounts(split) -> list[tuple[Decimal, Decimal]]:
    return [(line.discount, line.amount) for line in split]


@pytest.mark.parametrize(
    ("percent", "price", "off"),
    [
        ("10", "10.05", "1.01"),  # 1.005 rounds half up
        ("12.5", "0.20", "0.03"),  # 0.025 rounds half up
        ("33.33", "10.00", "3.33"),  # 3.333 rounds down
        ("15", "19.99", "3.00"),  # 2.9985
        ("100", "40.00", "40.00"),
    ],
)
def test_a_percentage_comes_off_each_line_rounded_half_up_to_cents(tenant, percent, price, off):
    discount = DiscountFactory(tenant=tenant, kind="percent", value=Decimal(percent))

    split = discount_split(discount, [(1, Decimal(price)), (2, Decimal(price))])

    assert amounts(split) == [(Decimal(off), Decimal(price) - Decimal(off))] * 2


def test_a_fixed_amount_comes_off_once_per_order_spread_over_the_lines_in_order(tenant):
    discount = DiscountFactory(tenant=tenant, kind="fixed", value=Decimal("15.00"))

    split = discount_split(discount, [(1, Decimal("10.00")), (2, Decimal("20.00")), (3, Decimal("30.00"))])

    assert amounts(split) == [
        (Decimal("10.00"), Decimal("0.00")),
        (Decimal("5.00"), Decimal("15.00")),
        (Decimal("0"), Decimal("30.00")),
    ]
    assert sum(line.discount for line in split) == Decimal("15.00")


def test_a_fixed_amount_larger_than_the_order_never_takes_a_line_below_zero(tenant):
    discount = DiscountFactory(tenant=tenant, kind="fixed", value=Decimal("100.00"))

    split = discount_split(discount, [(1, Decimal("20.00")), (2, Decimal("0.00"))])

    assert amounts(split) == [(Decimal("20.00"), Decimal("0.00")), (Decimal("0.00"), Decimal("0.00"))]


def test_a_code_restricted_to_some_sessions_only_comes_off_those(tenant):
    eligible, other = SessionFactory(tenant=tenant), SessionFactory(tenant=tenant)
    percent = DiscountFactory(tenant=tenant, kind="percent", value=Decimal("50"))
    fixed = DiscountFactory(tenant=tenant, kind="fixed", value=Decimal("5.00"))
    percent.sessions.add(eligible)
    fixed.sessions.add(eligible)
    prices = [(other.pk, Decimal("20.00")), (eligible.pk, Decimal("20.00"))]

    assert amounts(discount_split(percent, prices)) == [
        (Decimal("0"), Decimal("20.00")),
        (Decimal("10.00"), Decimal("10.00")),
    ]
    assert amounts(discount_split(fixed, prices)) == [
        (Decimal("0"), Decimal("20.00")),
        (Decimal("5.00"), Decimal("15.00")),
    ]


def test_no_discount_takes_nothing_off():
    assert amounts(discount_split(None, [(1, Decimal("12.00"))])) == [(Decimal("0"), Decimal("12.00"))]


# Cart quote -------------------------------------------------------------------------------------


def test_cart_quote_shows_subtotal_discount_and_total_and_takes_nothing(tenant):
    first = SessionFactory(tenant=tenant, price=Decimal("40.00"))
    second = SessionFactory(tenant=tenant, price=Decimal("25.50"))
    discount = DiscountFactory(tenant=tenant, code="TENOFF", kind="percent", value=Decimal("10"), max_uses=1)

    quote = cart_quote(tenant=tenant, lines=[CartLine(first.pk), CartLine(second.pk)], discount_text="tenoff")

    assert quote.discount == discount and quote.discount_problem == ""
    assert [(line.session, line.price, line.discount, line.amount) for line in quote.lines] == [
        (first, Decimal("40.00"), Decimal("4.00"), Decimal("36.00")),
        (second, Decimal("25.50"), Decimal("2.55"), Decimal("22.95")),
    ]
    assert (quote.subtotal, quote.discount_amount, quote.total) == (
        Decimal("65.50"),
        Decimal("6.55"),
        Decimal("58.95"),
    )
    assert fresh(first).spots_taken == 0 and fresh(discount).uses == 0
    assert not Order.objects.exists()


def test_cart_quote_without_a_code_charges_the_full_price(tenant):
    session = SessionFactory(tenant=tenant, price=Decimal("30.00"))

    quote = cart_quote(tenant=tenant, lines=[CartLine(session.pk)])

    assert quote.discount is None and quote.discount_problem == ""
    assert (quote.subtotal, quote.discount_amount, quote.total) == (Decimal("30.00"), 0, Decimal("30.00"))


def test_cart_quote_says_when_the_code_does_not_apply_to_the_cart_and_charges_the_full_price(tenant):
    in_cart, elsewhere = SessionFactory(tenant=tenant, price=Decimal("30.00")), SessionFactory(tenant=tenant)
    discount = DiscountFactory(tenant=tenant, code="ELSEWHERE")
    discount.sessions.add(elsewhere)

    quote = cart_quote(tenant=tenant, lines=[CartLine(in_cart.pk)], discount_text="elsewhere")

    assert quote.discount_problem == DISCOUNT_NOT_FOR_THESE
    assert quote.discount is None and quote.total == Decimal("30.00")


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"code": "NOPE"}, DISCOUNT_UNKNOWN),
        ({"is_active": False}, DISCOUNT_UNKNOWN),
        ({"max_uses": 0}, DISCOUNT_USED_UP),
    ],
    ids=["unknown", "inactive", "used-up"],
)
def test_cart_quote_shows_why_a_code_cannot_be_used(tenant, fields, problem):
    session = SessionFactory(tenant=tenant)
    DiscountFactory(tenant=tenant, **{"code": "TRYME", **fields})

    quote = cart_quote(tenant=tenant, lines=[CartLine(session.pk)], discount_text="tryme")

    assert quote.discount_problem == problem and quote.discount_amount == 0


def test_cart_quote_knows_which_invitation_or_offer_holds_a_line(tenant):
    invited_to = SessionFactory(tenant=tenant)
    invitation, _ = session_invite(invited_to)
    offered_in, _, (entry,) = full_session_with_waitlist(tenant, "wait@example.com")
    registration_cancel(tenant=tenant, registration=Registration.objects.get(session=offered_in), actor=None)

    quote = cart_quote(
        tenant=tenant,
        lines=[CartLine(invited_to.pk, invitation_id=invitation.pk), CartLine(offered_in.pk, entry_id=entry.pk)],
    )

    assert [line.held_by for line in quote.lines] == [invitation, entry]


# Checkout ---------------------------------------------------------------------------------------


def test_a_zero_total_is_paid_and_confirmed_at_once(tenant):
    session = SessionFactory(tenant=tenant, price=Decimal("0"))

    order = checkout(tenant, session, "Pat@Example.com")

    order = fresh(order)
    assert order.status == OrderStatus.PAID and order.paid_at is not None
    assert order.total == 0 and order.payment_provider == "" and order.payment_instructions == ""
    assert order.email == "pat@example.com" and order.client.email == "pat@example.com"
    registration = registration_of(order)
    assert registration.status == RegistrationStatus.CONFIRMED and registration.session == session
    assert emails("order_confirmation", "pat@example.com").count() == 1
    assert "Your registration is confirmed." in emails("order_confirmation").get().body_text
    assert fresh(session).spots_taken == 1
    assert_counter_true(session)


def test_a_discount_that_brings_the_total_to_zero_confirms_at_once(tenant):
    session = SessionFactory(tenant=tenant, price=Decimal("20.00"))
    DiscountFactory(tenant=tenant, code="FREE", kind="fixed", value=Decimal("50.00"))

    order = checkout(tenant, session, discount="free")

    assert (order.subtotal, order.discount_amount, order.total) == (Decimal("20.00"), Decimal("20.00"), 0)
    assert order.status == OrderStatus.PAID
    assert registration_of(order).status == RegistrationStatus.CONFIRMED
    assert registration_of(order).amount == 0


def test_a_total_to_pay_awaits_payment_with_offline_instructions_quoting_the_order_number(tenant):
    session = SessionFactory(tenant=tenant, price=Decimal("20.00"))

    order = checkout(tenant, session)

    order = fresh(order)
    assert order.status == OrderStatus.AWAITING_PAYMENT and order.paid_at is None
    assert order.payment_provider == "offline"
    assert order.number in order.payment_instructions
    assert f"20.00 {tenant.currency}" in order.payment_instructions
    assert registration_of(order).status == RegistrationStatus.AWAITING_PAYMENT
    [email] = emails("order_confirmation", "pat@example.com")
    assert order.number in email.body_text and order.payment_instructions in email.body_text
    assert_counter_true(session)


def test_checkout_records_the_discount_math_on_the_order_and_each_registration(tenant):
    first = SessionFactory(tenant=tenant, price=Decimal("40.00"))
    second = SessionFactory(tenant=tenant, price=Decimal("10.00"))
    DiscountFactory(tenant=tenant, code="FIFTEEN", kind="fixed", value=Decimal("15.00"))

    order = checkout(tenant, [CartLine(first.pk), CartLine(second.pk)], discount="fifteen")

    assert (order.subtotal, order.discount_amount, order.total) == (
        Decimal("50.00"),
        Decimal("15.00"),
        Decimal("35.00"),
    )
    assert order.discount_code.code == "FIFTEEN"
    lines = {r.session_id: (r.price, r.discount, r.amount) for r in order.registrations.all()}
    assert lines == {
        first.pk: (Decimal("40.00"), Decimal("15.00"), Decimal("25.00")),
        second.pk: (Decimal("10.00"), Decimal("0.00"), Decimal("10.00")),
    }
    assert emails("order_confirmation").count() == 1


def test_the_checkout_spreads_a_fixed_discount_over_the_lines_as_the_quote_showed(tenant):
    first = SessionFactory(tenant=tenant, price=Decimal("10.00"))
    second = SessionFactory(tenant=tenant, price=Decimal("20.00"))
    DiscountFactory(tenant=tenant, code="FIFTEEN", kind="fixed", value=Decimal("15.00"))
    cart = [CartLine(second.pk), CartLine(first.pk)]  # added to the cart in this order

    quote = cart_quote(tenant=tenant, lines=cart, discount_text="fifteen")
    order = checkout(tenant, cart, discount="fifteen")

    assert order.total == quote.total
    shown = {line.session.pk: line.discount for line in quote.lines}
    assert {r.session_id: r.discount for r in order.registrations.all()} == shown


def test_checkout_of_a_full_session_is_refused_and_writes_nothing(tenant):
    open_one = SessionFactory(tenant=tenant, capacity=5)  # claimed first: its spot must be given back
    full = SessionFactory(tenant=tenant, capacity=1)
    fill(full)
    discount = DiscountFactory(tenant=tenant, code="TEN")
    orders, outbox = Order.objects.count(), OutboundEmail.objects.count()

    with pytest.raises(CheckoutError) as refused:
        checkout(tenant, [CartLine(open_one.pk), CartLine(full.pk)], "late@example.com", discount="ten")

    assert str(refused.value) == SESSION_FULL_NOW.format(title=full.title)
    assert Order.objects.count() == orders and OutboundEmail.objects.count() == outbox
    assert not Registration.objects.filter(email="late@example.com").exists()
    assert fresh(open_one).spots_taken == 0 and fresh(full).spots_taken == 1
    assert fresh(discount).uses == 0
    assert_counter_true(open_one)
    assert_counter_true(full)


def test_a_spot_held_by_an_invitation_cannot_be_bought_by_someone_else(tenant):
    session = SessionFactory(tenant=tenant, capacity=1)
    session_invite(session, "invited@example.com")

    with pytest.raises(CheckoutError) as refused:
        checkout(tenant, session, "public@example.com")

    assert str(refused.value) == SESSION_FULL_NOW.format(title=session.title)
    assert_counter_true(session)


def test_before_registration_opens_a_plain_line_is_refused_saying_when_it_opens(tenant):
    opens = soon(days=2)
    session = SessionFactory(tenant=tenant, registration_opens_at=opens)

    with pytest.raises(CheckoutError) as refused:
        checkout(tenant, session)

    assert str(refused.value) == NOT_OPEN_YET.format(title=session.title, when=notify.local_time(tenant, opens))
    assert not Order.objects.exists() and fresh(session).spots_taken == 0


def test_before_registration_opens_the_invitee_can_register_through_the_invitation(tenant):
    session = SessionFactory(tenant=tenant, registration_opens_at=soon(days=2))
    invitation, _ = session_invite(session, "early@example.com")

    order = checkout(tenant, [CartLine(session.pk, invitation_id=invitation.pk)], "early@example.com")

    registration = registration_of(order)
    assert registration.invitation == invitation
    assert fresh(invitation).status == InvitationStatus.ACCEPTED and invitation.closed_at is not None
    assert fresh(session).spots_taken == 1  # the invitation's spot, not a new one
    assert_counter_true(session)


def test_a_session_that_has_started_is_refused(tenant):
    session = SessionFactory(tenant=tenant, starts_at=ago(minutes=5))

    with pytest.raises(CheckoutError) as refused:
        checkout(tenant, session)

    assert str(refused.value) == STARTED.format(title=session.title)
    assert not Order.objects.exists() and fresh(session).spots_taken == 0


def test_the_same_email_cannot_register_twice_for_a_session_whatever_its_case(tenant):
    session = SessionFactory(tenant=tenant)
    checkout(tenant, session, "pat@example.com")

    with pytest.raises(CheckoutError) as refused:
        checkout(tenant, session, " PAT@example.COM ")

    assert str(refused.value) == ALREADY_REGISTERED_FOR.format(email="pat@example.com", title=session.title)
    assert Order.objects.count() == 1 and fresh(session).spots_taken == 1
    assert emails("order_confirmation", "pat@example.com").count() == 1


def test_after_a_cancellation_the_same_email_can_register_again(tenant):
    session = SessionFactory(tenant=tenant)
    registration_cancel(tenant=tenant, registration=registration_of(checkout(tenant, session)), actor=None)

    checkout(tenant, session)

    assert Registration.objects.filter(session=session, email="pat@example.com").count() == 2
    assert_counter_true(session)


def test_a_discount_use_is_counted_once_per_order_however_many_lines_it_applies_to(tenant):
    first, second = SessionFactory(tenant=tenant), SessionFactory(tenant=tenant)
    discount = DiscountFactory(tenant=tenant, code="MULTI", max_uses=5)

    order = checkout(tenant, [CartLine(first.pk), CartLine(second.pk)], discount="multi")

    assert fresh(discount).uses == 1
    assert all(r.discount == Decimal("2.00") for r in order.registrations.all())


def test_a_code_used_up_between_the_quote_and_the_checkout_is_refused_and_nothing_is_written(tenant):
    session = SessionFactory(tenant=tenant)
    discount = DiscountFactory(tenant=tenant, code="LASTONE", max_uses=1)
    assert cart_quote(tenant=tenant, lines=[CartLine(session.pk)], discount_text="lastone").discount == discount
    checkout(tenant, session, "quicker@example.com", discount="lastone")  # someone else takes the last use
    outbox = OutboundEmail.objects.count()

    with pytest.raises(CheckoutError) as refused:
        checkout(tenant, session, "slower@example.com", discount="lastone")

    assert str(refused.value) == DISCOUNT_USED_UP
    assert fresh(discount).uses == 1
    assert not Order.objects.filter(email="slower@example.com").exists()
    assert OutboundEmail.objects.count() == outbox
    assert fresh(session).spots_taken == 1
    assert_counter_true(session)


def test_checkout_with_a_code_that_does_not_apply_to_the_cart_is_refused_and_writes_nothing(tenant):
    session, elsewhere = SessionFactory(tenant=tenant), SessionFactory(tenant=tenant)
    discount = DiscountFactory(tenant=tenant, code="NARROW")
    discount.sessions.add(elsewhere)

    with pytest.raises(CheckoutError) as refused:
        checkout(tenant, session, discount="narrow")

    assert str(refused.value) == DISCOUNT_NOT_FOR_THESE
    assert not Order.objects.exists() and fresh(session).spots_taken == 0 and fresh(discount).uses == 0


def test_an_empty_cart_is_refused(tenant):
    with pytest.raises(CheckoutError) as refused:
        checkout(tenant, [])

    assert str(refused.value) == CART_EMPTY
    assert not Order.objects.exists()


def test_several_lines_for_one_session_become_one_registration(tenant):
    session = SessionFactory(tenant=tenant, price=Decimal("20.00"))

    order = checkout(tenant, [CartLine(session.pk), CartLine(session.pk), CartLine(session.pk)])

    assert order.registrations.count() == 1 and order.total == Decimal("20.00")
    assert fresh(session).spots_taken == 1
    assert_counter_true(session)


def test_a_line_holding_a_spot_wins_over_a_plain_line_for_the_same_session(tenant):
    session = SessionFactory(tenant=tenant, capacity=1)
    invitation, _ = session_invite(session, "held@example.com")

    order = checkout(
        tenant,
        [CartLine(session.pk), CartLine(session.pk, invitation_id=invitation.pk)],
        "held@example.com",
    )

    assert registration_of(order).invitation == invitation
    assert fresh(session).spots_taken == 1
    assert_counter_true(session)


def test_a_signed_in_buyer_is_remembered_on_the_order(tenant):
    user = UserFactory(email="member@example.com")
    session = SessionFactory(tenant=tenant)

    order = checkout(tenant, session, "member@example.com", user=user)

    assert fresh(order).user == user


# Invitations: sending ---------------------------------------------------------------------------


def test_an_invitation_holds_a_spot_and_sends_one_email_with_its_link(tenant, staff):
    session = SessionFactory(tenant=tenant, capacity=3)

    invitation = invitation_send(tenant=tenant, session=session, email=" Guest@Example.com ", actor=staff)

    invitation = fresh(invitation)
    assert invitation.status == InvitationStatus.PENDING and invitation.email == "guest@example.com"
    assert invitation.times_sent == 1 and invitation.sent_at is not None and invitation.created_by == staff
    assert fresh(session).spots_taken == 1 and session.spots_left == 2
    [email] = emails("invitation", "guest@example.com")
    token = emailed_token(email)
    assert token == tokens.link_token("sessions_roster.invitation", invitation.token_salt)
    assert invitation.token_hash == tokens.token_hash(token) and token not in email.body_text
    assert invitation_for_token(tenant=tenant, token=token) == invitation
    assert_counter_true(session)


def test_inviting_to_a_full_session_is_refused_with_the_full_code_and_writes_nothing(tenant):
    session = SessionFactory(tenant=tenant, capacity=1)
    fill(session)

    with pytest.raises(ValidationError) as refused:
        invitation_send(tenant=tenant, session=session, email="late@example.com")

    assert refused.value.code == "full" and refused.value.messages == [SESSION_FULL]
    assert not SessionInvitation.objects.exists() and not emails("invitation").exists()
    assert fresh(session).capacity == 1
    assert_counter_true(session)


def test_inviting_to_a_full_session_with_raise_capacity_adds_one_spot_for_the_invitee(tenant):
    session = SessionFactory(tenant=tenant, capacity=2)
    fill(session)

    invitation = invitation_send(tenant=tenant, session=session, email="vip@example.com", raise_capacity=True)

    assert fresh(invitation).raised_capacity
    session = fresh(session)
    assert session.capacity == 3 and session.spots_taken == 3 and session.spots_left == 0
    assert emails("invitation", "vip@example.com").count() == 1
    assert_counter_true(session)


def test_raise_capacity_does_not_raise_it_when_a_spot_is_free(tenant):
    session = SessionFactory(tenant=tenant, capacity=2)

    invitation = invitation_send(tenant=tenant, session=session, email="vip@example.com", raise_capacity=True)

    assert not fresh(invitation).raised_capacity and fresh(session).capacity == 2


def test_someone_already_registered_cannot_be_invited(tenant):
    session = SessionFactory(tenant=tenant)
    checkout(tenant, session, "pat@example.com")

    with pytest.raises(ValidationError) as refused:
        invitation_send(tenant=tenant, session=session, email="PAT@example.com")

    assert refused.value.message_dict == {"email": [ALREADY_REGISTERED]}
    assert not SessionInvitation.objects.exists()
    assert_counter_true(session)


def test_someone_already_invited_cannot_be_invited_again_but_can_after_a_cancel(tenant):
    session = SessionFactory(tenant=tenant)
    invitation, _ = session_invite(session, "twice@example.com")

    with pytest.raises(ValidationError) as refused:
        invitation_send(tenant=tenant, session=session, email="Twice@Example.com")

    assert refused.value.message_dict == {"email": [ALREADY_INVITED]}
    assert fresh(session).spots_taken == 1 and emails("invitation").count() == 1
    invitation_cancel(tenant=tenant, invitation=invitation, actor=None)
    session_invite(session, "twice@example.com")
    assert emails("invitation", "twice@example.com").count() == 2
    assert_counter_true(session)


@pytest.mark.parametrize(
    ("when", "message"),
    [("past", EXPIRY_IN_PAST), ("now", EXPIRY_IN_PAST), ("after start", EXPIRY_AFTER_START)],
)
def test_an_expiry_in_the_past_or_after_the_session_starts_is_refused(tenant, when, message):
    session = SessionFactory(tenant=tenant)
    expires = {
        "past": ago(minutes=1),
        "now": timezone.now(),
        "after start": session.starts_at + timedelta(minutes=1),
    }[when]

    with pytest.raises(ValidationError) as refused:
        invitation_send(tenant=tenant, session=session, email="x@example.com", expires_at=expires)

    assert refused.value.message_dict == {"expires_at": [message]}
    assert not SessionInvitation.objects.exists() and fresh(session).spots_taken == 0


def test_an_expiry_before_the_start_is_kept(tenant):
    session = SessionFactory(tenant=tenant)
    expires = session.starts_at - timedelta(hours=1)

    invitation, _ = session_invite(session, expires_at=expires)

    assert fresh(invitation).expires_at == expires


def test_a_discount_code_that_does_not_apply_to_the_session_is_refused(tenant, other_tenant):
    session, elsewhere = SessionFactory(tenant=tenant), SessionFactory(tenant=tenant)
    narrow = DiscountFactory(tenant=tenant)
    narrow.sessions.add(elsewhere)
    foreign = DiscountFactory(tenant=other_tenant)

    for discount in (narrow, foreign):
        with pytest.raises(ValidationError) as refused:
            invitation_send(tenant=tenant, session=session, email="x@example.com", discount_code=discount)
        assert refused.value.message_dict == {"discount_code": [DISCOUNT_NOT_FOR_SESSION]}

    assert not SessionInvitation.objects.exists() and fresh(session).spots_taken == 0


def test_an_inactive_discount_code_cannot_go_with_an_invitation(tenant):
    session = SessionFactory(tenant=tenant)
    discount = DiscountFactory(tenant=tenant, is_active=False)

    with pytest.raises(ValidationError) as refused:
        invitation_send(tenant=tenant, session=session, email="x@example.com", discount_code=discount)

    assert refused.value.message_dict == {"discount_code": [DISCOUNT_UNKNOWN]}


def test_an_invitation_with_a_discount_names_it_in_the_email(tenant):
    session = SessionFactory(tenant=tenant)
    discount = DiscountFactory(tenant=tenant, code="FRIENDS25", value=Decimal("25"))
    discount.sessions.add(session)

    invitation, _ = session_invite(session, "friend@example.com", discount_code=discount)

    assert fresh(invitation).discount_code == discount
    assert "FRIENDS25" in emails("invitation", "friend@example.com").get().body_text


def test_nobody_can_be_invited_to_a_session_that_has_started(tenant):
    session = SessionFactory(tenant=tenant, starts_at=ago(minutes=1))

    with pytest.raises(ValidationError) as refused:
        invitation_send(tenant=tenant, session=session, email="x@example.com")

    assert refused.value.messages == [SESSION_STARTED]
    assert not SessionInvitation.objects.exists()


# Invitations: resend and cancel -----------------------------------------------------------------


def test_resend_sends_a_new_email_with_the_same_link(tenant, staff):
    session = SessionFactory(tenant=tenant)
    invitation, token = session_invite(session, "again@example.com")
    backdate_sent(invitation, RESEND_GUARD_SECONDS + 1)

    invitation_resend(tenant=tenant, invitation=invitation, actor=staff)

    first, second = emails("invitation", "again@example.com").order_by("id")
    assert emailed_token(first) == emailed_token(second) == token
    assert fresh(invitation).times_sent == 2 and invitation.sent_at > ago(seconds=5)
    assert second.created_by == staff
    assert fresh(session).spots_taken == 1  # a resend holds no second spot
    assert_counter_true(session)


def test_resend_a_moment_after_sending_is_refused_and_sends_nothing(tenant):
    session = SessionFactory(tenant=tenant)
    invitation, _ = session_invite(session, "again@example.com")
    backdate_sent(invitation, RESEND_GUARD_SECONDS - 2)

    with pytest.raises(ValidationError) as refused:
        invitation_resend(tenant=tenant, invitation=invitation, actor=None)

    assert refused.value.messages == [SENT_A_MOMENT_AGO]
    assert emails("invitation").count() == 1 and fresh(invitation).times_sent == 1


@pytest.mark.parametrize("closed_by", ["cancel", "registration"])
def test_resend_of_an_invitation_no_longer_pending_is_refused(tenant, closed_by):
    session = SessionFactory(tenant=tenant)
    invitation, _ = session_invite(session, "closed@example.com")
    if closed_by == "cancel":
        invitation_cancel(tenant=tenant, invitation=invitation, actor=None)
    else:
        checkout(tenant, [CartLine(session.pk, invitation_id=invitation.pk)], "closed@example.com")
    backdate_sent(invitation, RESEND_GUARD_SECONDS + 1)

    with pytest.raises(ValidationError) as refused:
        invitation_resend(tenant=tenant, invitation=invitation, actor=None)

    assert refused.value.messages == [NOT_PENDING.format(action="resent")]
    assert emails("invitation").count() == 1


def test_resend_of_an_invitation_past_its_expiry_is_refused(tenant):
    session = SessionFactory(tenant=tenant)
    invitation, _ = session_invite(session, "late@example.com", expires_at=soon(days=1))
    make_due(invitation)
    backdate_sent(invitation, RESEND_GUARD_SECONDS + 1)

    with pytest.raises(ValidationError) as refused:
        invitation_resend(tenant=tenant, invitation=invitation, actor=None)

    assert refused.value.messages == [NOT_PENDING.format(action="resent")]
    assert emails("invitation").count() == 1
    assert_counter_true(session)


def test_resend_of_an_invitation_past_its_expiry_expires_it_and_frees_its_spot(tenant):
    session = SessionFactory(tenant=tenant)
    invitation, _ = session_invite(session, "late@example.com", expires_at=soon(days=1))
    make_due(invitation)
    backdate_sent(invitation, RESEND_GUARD_SECONDS + 1)

    with pytest.raises(ValidationError):
        invitation_resend(tenant=tenant, invitation=invitation, actor=None)

    assert fresh(invitation).status == InvitationStatus.EXPIRED
    assert fresh(session).spots_taken == 0


def test_cancel_stops_the_link_and_frees_the_spot_for_the_public(tenant, staff):
    session = SessionFactory(tenant=tenant, capacity=1)
    invitation, token = session_invite(session, "gone@example.com")

    invitation_cancel(tenant=tenant, invitation=invitation, actor=staff)

    invitation = fresh(invitation)
    assert invitation.status == InvitationStatus.CANCELLED and invitation.closed_at is not None
    assert invitation.cancelled_by == staff
    assert fresh(session).spots_taken == 0 and session.spots_left == 1
    with pytest.raises(InvitationClosed):
        invitation_open(tenant=tenant, token=token)
    checkout(tenant, session, "public@example.com")  # the freed spot can be bought
    assert_counter_true(session)


def test_cancel_offers_the_freed_spot_to_the_first_person_waiting(tenant):
    session = SessionFactory(tenant=tenant, capacity=2)
    invitation, _ = session_invite(session, "invited@example.com")
    fill(session)
    first = waitlist_add(session, "first@example.com")
    second = waitlist_add(session, "second@example.com")

    invitation_cancel(tenant=tenant, invitation=invitation, actor=None)

    assert fresh(first).status == WaitlistStatus.OFFERED and fresh(second).status == WaitlistStatus.WAITING
    assert fresh(session).spots_left == 0
    [offer] = emails("waitlist_offer")
    assert offer.to_email == "first@example.com" and emailed_token(offer) == offer_token(first)
    assert_counter_true(session)


def test_cancel_twice_is_refused(tenant):
    session = SessionFactory(tenant=tenant)
    invitation, _ = session_invite(session)
    invitation_cancel(tenant=tenant, invitation=invitation, actor=None)

    with pytest.raises(ValidationError) as refused:
        invitation_cancel(tenant=tenant, invitation=invitation, actor=None)

    assert refused.value.messages == [NOT_PENDING.format(action="cancelled")]
    assert fresh(session).spots_taken == 0
    assert_counter_true(session)


# Invitations: opening a link --------------------------------------------------------------------


def test_a_pending_invitation_link_opens(tenant):
    session = SessionFactory(tenant=tenant)
    invitation, token = session_invite(session)

    assert invitation_open(tenant=tenant, token=token) == invitation


@pytest.mark.parametrize("token", ["A" * 43, "not-a-token", "", "x" * 200])
def test_an_unknown_link_is_not_found(tenant, token):
    SessionFactory(tenant=tenant)

    with pytest.raises(InvitationClosed) as closed:
        invitation_open(tenant=tenant, token=token)

    assert str(closed.value) == LINK_UNKNOWN and closed.value.status == 404


def test_a_cancelled_link_is_gone(tenant):
    session = SessionFactory(tenant=tenant)
    invitation, token = session_invite(session)
    invitation_cancel(tenant=tenant, invitation=invitation, actor=None)

    with pytest.raises(InvitationClosed) as closed:
        invitation_open(tenant=tenant, token=token)

    assert str(closed.value) == LINK_CANCELLED and closed.value.status == 410


def test_a_link_expired_by_the_sweep_is_gone(tenant):
    session = SessionFactory(tenant=tenant)
    invitation, token = session_invite(session, expires_at=soon(hours=1))
    make_due(invitation)
    assert holds_expire(tenant=tenant) == 1

    with pytest.raises(InvitationClosed) as closed:
        invitation_open(tenant=tenant, token=token)

    assert str(closed.value) == LINK_EXPIRED and closed.value.status == 410


def test_a_link_past_its_expiry_but_not_swept_yet_is_expired_on_opening_and_frees_its_spot(tenant):
    session = SessionFactory(tenant=tenant, capacity=1)
    invitation, token = session_invite(session, expires_at=soon(hours=1))
    entry = waitlist_add(session, "next@example.com")  # the invitation fills the session; the spot goes here
    make_due(invitation)

    with pytest.raises(InvitationClosed) as closed:
        invitation_open(tenant=tenant, token=token)

    assert str(closed.value) == LINK_EXPIRED and closed.value.status == 410
    assert fresh(invitation).status == InvitationStatus.EXPIRED and invitation.closed_at is not None
    assert fresh(entry).status == WaitlistStatus.OFFERED
    assert emails("waitlist_offer", "next@example.com").count() == 1
    assert_counter_true(session)


def test_a_used_link_cannot_be_used_twice(tenant):
    session = SessionFactory(tenant=tenant)
    invitation, token = session_invite(session, "once@example.com")
    checkout(tenant, [CartLine(session.pk, invitation_id=invitation.pk)], "once@example.com")

    with pytest.raises(InvitationClosed) as closed:
        invitation_open(tenant=tenant, token=token)
    assert str(closed.value) == LINK_USED and closed.value.status == 410

    with pytest.raises(CheckoutError) as refused:
        checkout(tenant, [CartLine(session.pk, invitation_id=invitation.pk)], "someone-else@example.com")
    assert str(refused.value) == LINK_USED
    assert_counter_true(session)


@pytest.mark.parametrize(("closed_by", "message"), [("cancel", LINK_CANCELLED), ("sweep", LINK_EXPIRED)])
def test_checkout_through_a_closed_invitation_is_refused(tenant, closed_by, message):
    session = SessionFactory(tenant=tenant)
    invitation, _ = session_invite(session, "closed@example.com", expires_at=soon(hours=1))
    if closed_by == "cancel":
        invitation_cancel(tenant=tenant, invitation=invitation, actor=None)
    else:
        make_due(invitation)
        holds_expire(tenant=tenant)

    with pytest.raises(CheckoutError) as refused:
        checkout(tenant, [CartLine(session.pk, invitation_id=invitation.pk)], "closed@example.com")

    assert str(refused.value) == message
    assert not Order.objects.exists()
    assert_counter_true(session)


def test_checkout_through_an_invitation_past_its_expiry_is_refused(tenant):
    session = SessionFactory(tenant=tenant)
    invitation, _ = session_invite(session, "late@example.com", expires_at=soon(hours=1))
    make_due(invitation)

    with pytest.raises(CheckoutError) as refused:
        checkout(tenant, [CartLine(session.pk, invitation_id=invitation.pk)], "late@example.com")

    assert str(refused.value) == LINK_EXPIRED
    assert not Order.objects.exists()
    assert_counter_true(session)


def test_checkout_through_an_invitation_past_its_expiry_frees_its_spot_as_the_message_says(tenant):
    session = SessionFactory(tenant=tenant)
    invitation, _ = session_invite(session, "late@example.com", expires_at=soon(hours=1))
    make_due(invitation)

    with pytest.raises(CheckoutError):
        checkout(tenant, [CartLine(session.pk, invitation_id=invitation.pk)], "late@example.com")

    assert fresh(invitation).status == InvitationStatus.EXPIRED
    assert fresh(session).spots_taken == 0


def test_a_link_to_a_session_that_has_started_is_gone(tenant):
    session = SessionFactory(tenant=tenant)
    _, token = session_invite(session)
    Session.objects.filter(pk=session.pk).update(starts_at=ago(minutes=1))

    with pytest.raises(InvitationClosed) as closed:
        invitation_open(tenant=tenant, token=token)

    assert str(closed.value) == LINK_SESSION_STARTED and closed.value.status == 410


def test_an_invitation_for_another_session_cannot_hold_a_line(tenant):
    session, other = SessionFactory(tenant=tenant), SessionFactory(tenant=tenant)
    invitation, _ = session_invite(other, "x@example.com")

    with pytest.raises(CheckoutError) as refused:
        checkout(tenant, [CartLine(session.pk, invitation_id=invitation.pk)], "x@example.com")

    assert str(refused.value) == SESSION_GONE
    assert fresh(invitation).status == InvitationStatus.PENDING


# Invitations locked to the invited address ------------------------------------------------------


@pytest.fixture
def locked(tenant):
    session = SessionFactory(tenant=tenant, capacity=1, title="Private class")
    invitation, _ = session_invite(session, "locked@example.com", lock_to_email=True)
    return invitation


def locked_line(invitation) -> list[CartLine]:
    return [CartLine(invitation.session_id, invitation_id=invitation.pk)]


def test_a_locked_invitation_needs_proof_of_the_address(tenant, locked):
    with pytest.raises(CheckoutError) as refused:
        checkout(tenant, locked_line(locked), "locked@example.com")

    assert str(refused.value) == PROOF_NEEDED.format(title="Private class")
    assert fresh(locked).status == InvitationStatus.PENDING and not Order.objects.exists()
    assert_counter_true(locked.session)


def test_a_proven_locked_invitation_cannot_register_another_address(tenant, locked):
    with pytest.raises(CheckoutError) as refused:
        checkout(tenant, locked_line(locked), "forwarded@example.com", proven=frozenset([locked.pk]))

    assert str(refused.value) == LOCKED_EMAIL.format(title="Private class", email="locked@example.com")
    assert fresh(locked).status == InvitationStatus.PENDING and not Order.objects.exists()
    assert_counter_true(locked.session)


def test_a_proven_locked_invitation_registers_the_invited_address(tenant, locked):
    order = checkout(tenant, locked_line(locked), "Locked@Example.com", proven=frozenset([locked.pk]))

    assert registration_of(order).email == "locked@example.com"
    assert fresh(locked).status == InvitationStatus.ACCEPTED
    assert_counter_true(locked.session)


def test_proof_of_another_invitation_does_not_count(tenant, locked):
    other, _ = session_invite(SessionFactory(tenant=tenant), "locked@example.com", lock_to_email=True)

    with pytest.raises(CheckoutError) as refused:
        checkout(tenant, locked_line(locked), "locked@example.com", proven=frozenset([other.pk]))

    assert str(refused.value) == PROOF_NEEDED.format(title="Private class")


def test_signing_in_with_the_invited_address_proves_it(tenant, locked):
    assert proves_address(invitation=locked, user=UserFactory(email="LOCKED@example.com"))
    assert not proves_address(invitation=locked, user=UserFactory(email="someone@example.com"))
    assert not proves_address(invitation=locked, user=None)


def proof_code(invitation) -> str:
    email = emails("email_proof", invitation.email).order_by("-id").first()
    return private_value(email, "code")


def other_code(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def backdate_proof(invitation, seconds: int) -> None:
    SessionInvitation.objects.filter(pk=invitation.pk).update(
        proof_expires_at=fresh(invitation).proof_expires_at - timedelta(seconds=seconds)
    )


def test_the_emailed_code_proves_the_address_once(tenant, locked):
    proof_send(tenant=tenant, invitation=locked)

    [email] = emails("email_proof", "locked@example.com")
    code = proof_code(locked)
    assert len(code) == 6 and code.isdigit() and code not in email.body_text + email.subject
    assert fresh(locked).proof_hash and code not in locked.proof_hash

    proof_check(tenant=tenant, invitation=locked, typed=f" {code[:3]} {code[3:]} ")  # spaces forgiven

    with pytest.raises(ValidationError) as refused:
        proof_check(tenant=tenant, invitation=locked, typed=code)
    assert refused.value.messages == [PROOF_NONE]


def test_a_code_is_needed_before_checking_one(tenant, locked):
    with pytest.raises(ValidationError) as refused:
        proof_check(tenant=tenant, invitation=locked, typed="123456")

    assert refused.value.messages == [PROOF_NONE]


def test_a_wrong_code_is_refused_and_counted_and_the_right_one_still_works(tenant, locked):
    proof_send(tenant=tenant, invitation=locked)
    code = proof_code(locked)

    with pytest.raises(ValidationError) as refused:
        proof_check(tenant=tenant, invitation=locked, typed=other_code(code))

    assert refused.value.messages == [PROOF_WRONG]
    assert fresh(locked).proof_attempts == 1
    proof_check(tenant=tenant, invitation=locked, typed=code)


def test_after_too_many_wrong_codes_even_the_right_one_is_refused(tenant, locked):
    proof_send(tenant=tenant, invitation=locked)
    code = proof_code(locked)
    for _ in range(settings.EMAIL_PROOF_ATTEMPTS):
        with pytest.raises(ValidationError, match=PROOF_WRONG):
            proof_check(tenant=tenant, invitation=locked, typed=other_code(code))

    with pytest.raises(ValidationError) as refused:
        proof_check(tenant=tenant, invitation=locked, typed=code)

    assert refused.value.messages == [PROOF_TOO_MANY]
    assert fresh(locked).proof_attempts == settings.EMAIL_PROOF_ATTEMPTS


def test_an_expired_code_is_refused(tenant, locked):
    proof_send(tenant=tenant, invitation=locked)
    SessionInvitation.objects.filter(pk=locked.pk).update(proof_expires_at=ago(seconds=1))

    with pytest.raises(ValidationError) as refused:
        proof_check(tenant=tenant, invitation=locked, typed=proof_code(locked))

    assert refused.value.messages == [PROOF_EXPIRED]


def test_asking_for_a_code_twice_within_30_seconds_sends_one_email(tenant, locked):
    proof_send(tenant=tenant, invitation=locked)

    with pytest.raises(ValidationError) as refused:
        proof_send(tenant=tenant, invitation=locked)

    assert refused.value.messages == [PROOF_SENT_A_MOMENT_AGO]
    assert emails("email_proof").count() == 1


def test_a_new_code_after_30_seconds_replaces_the_old_one(tenant, locked):
    proof_send(tenant=tenant, invitation=locked)
    old = proof_code(locked)
    backdate_proof(locked, PROOF_RESEND_SECONDS + 1)

    proof_send(tenant=tenant, invitation=locked)

    assert emails("email_proof", "locked@example.com").count() == 2
    new = proof_code(locked)
    if new != old:  # one chance in a million they are the same
        with pytest.raises(ValidationError, match=PROOF_WRONG):
            proof_check(tenant=tenant, invitation=locked, typed=old)
    proof_check(tenant=tenant, invitation=locked, typed=new)


def test_a_new_code_resets_the_wrong_tries(tenant, locked):
    proof_send(tenant=tenant, invitation=locked)
    SessionInvitation.objects.filter(pk=locked.pk).update(proof_attempts=settings.EMAIL_PROOF_ATTEMPTS)
    backdate_proof(locked, PROOF_RESEND_SECONDS + 1)

    proof_send(tenant=tenant, invitation=locked)

    assert fresh(locked).proof_attempts == 0
    proof_check(tenant=tenant, invitation=locked, typed=proof_code(locked))


# Waitlist ---------------------------------------------------------------------------------------


def test_joining_the_waitlist_of_a_session_with_spots_left_is_refused(tenant):
    session = SessionFactory(tenant=tenant, capacity=2)
    session_register(session)

    with pytest.raises(ValidationError) as refused:
        waitlist_add(session)

    assert refused.value.messages == [WAITLIST_NOT_FULL]
    assert not WaitlistEntry.objects.exists() and not emails("waitlist_joined").exists()


def test_joining_a_full_session_waitlist_sends_one_email_with_the_place_in_line(tenant):
    session, _, (first,) = full_session_with_waitlist(tenant, "first@example.com")

    second = waitlist_join(
        tenant=tenant, session=session, first_name="Sam", last_name="Second", email=" Second@Example.com "
    )

    assert fresh(first).status == WaitlistStatus.WAITING and fresh(second).status == WaitlistStatus.WAITING
    assert second.email == "second@example.com"
    [first_email] = emails("waitlist_joined", "first@example.com")
    [second_email] = emails("waitlist_joined", "second@example.com")
    assert "You are number 1 on the waitlist" in first_email.body_text
    assert "You are number 2 on the waitlist" in second_email.body_text
    assert "Hello Sam," in second_email.body_text
    assert_counter_true(session)


def test_nobody_joins_the_waitlist_twice_whatever_the_case_of_the_address(tenant):
    session, _, _ = full_session_with_waitlist(tenant, "twice@example.com")

    with pytest.raises(ValidationError) as refused:
        waitlist_add(session, "TWICE@example.com")

    assert refused.value.messages == [ALREADY_WAITING]
    assert WaitlistEntry.objects.count() == 1 and emails("waitlist_joined").count() == 1


def test_someone_with_an_open_offer_cannot_join_again(tenant):
    session, (order,), (entry,) = full_session_with_waitlist(tenant, "offered@example.com")
    registration_cancel(tenant=tenant, registration=registration_of(order), actor=None)
    assert fresh(entry).status == WaitlistStatus.OFFERED

    with pytest.raises(ValidationError) as refused:
        waitlist_add(session, "offered@example.com")

    assert refused.value.messages == [ALREADY_WAITING]


def test_someone_registered_cannot_join_the_waitlist(tenant):
    session = SessionFactory(tenant=tenant, capacity=1)
    checkout(tenant, session, "inside@example.com")

    with pytest.raises(ValidationError) as refused:
        waitlist_add(session, "Inside@example.com")

    assert refused.value.messages == [ALREADY_REGISTERED]
    assert not WaitlistEntry.objects.exists()


def test_nobody_joins_the_waitlist_of_a_session_that_has_started(tenant):
    session = SessionFactory(tenant=tenant, capacity=1)
    fill(session)
    Session.objects.filter(pk=session.pk).update(starts_at=ago(minutes=1))

    with pytest.raises(ValidationError) as refused:
        waitlist_add(session)

    assert refused.value.messages == [SESSION_STARTED]


def test_a_cancelled_registration_offers_its_spot_to_the_first_person_waiting(tenant):
    session, (order,), (first, second) = full_session_with_waitlist(
        tenant, "first@example.com", "second@example.com", offer_hold_hours=12
    )

    registration_cancel(tenant=tenant, registration=registration_of(order), actor=None)

    first, second = fresh(first), fresh(second)
    assert first.status == WaitlistStatus.OFFERED and second.status == WaitlistStatus.WAITING
    assert first.offered_at is not None
    assert abs(first.offer_expires_at - (first.offered_at + timedelta(hours=12))) < timedelta(seconds=1)
    assert fresh(session).spots_left == 0  # the public cannot take the held spot
    [offer] = emails("waitlist_offer")
    assert offer.to_email == "first@example.com"
    token = emailed_token(offer)
    assert token == offer_token(first) and offer_for_token(tenant=tenant, token=token) == first
    assert token not in offer.body_text
    with pytest.raises(CheckoutError, match="just filled up"):
        checkout(tenant, session, "public@example.com")
    assert_counter_true(session)


def test_an_offer_never_holds_a_spot_past_the_start_of_the_session(tenant):
    starts = soon(hours=2).replace(microsecond=0)
    session, (order,), (entry,) = full_session_with_waitlist(
        tenant, "first@example.com", starts_at=starts, offer_hold_hours=24
    )

    registration_cancel(tenant=tenant, registration=registration_of(order), actor=None)

    assert fresh(entry).offer_expires_at == starts


def test_an_expired_invitation_swept_by_holds_expire_offers_its_spot_to_the_first_person_waiting(tenant):
    session = SessionFactory(tenant=tenant, capacity=1)
    invitation, _ = session_invite(session, "invited@example.com", expires_at=soon(days=1))
    first = waitlist_add(session, "first@example.com")
    make_due(invitation)

    assert holds_expire(tenant=tenant) == 1

    assert fresh(invitation).status == InvitationStatus.EXPIRED
    assert fresh(first).status == WaitlistStatus.OFFERED
    assert emails("waitlist_offer", "first@example.com").count() == 1
    assert fresh(session).spots_left == 0
    assert_counter_true(session)


def test_checkout_through_the_offer_registers_the_person_without_taking_another_spot(tenant):
    session, (order, _), (entry,) = full_session_with_waitlist(tenant, "first@example.com", capacity=2)
    registration_cancel(tenant=tenant, registration=registration_of(order), actor=None)
    taken = fresh(session).spots_taken

    bought = checkout(tenant, [CartLine(session.pk, entry_id=fresh(entry).pk)], "first@example.com")

    registration = registration_of(bought)
    assert registration.waitlist_entry == entry and registration.status == RegistrationStatus.AWAITING_PAYMENT
    entry = fresh(entry)
    assert entry.status == WaitlistStatus.REGISTERED and entry.closed_at is not None
    assert fresh(session).spots_taken == taken
    assert emails("order_confirmation", "first@example.com").count() == 1
    assert_counter_true(session)


def test_an_offer_cannot_be_used_twice(tenant):
    session, (order,), (entry,) = full_session_with_waitlist(tenant, "first@example.com")
    registration_cancel(tenant=tenant, registration=registration_of(order), actor=None)
    checkout(tenant, [CartLine(session.pk, entry_id=entry.pk)], "first@example.com")

    with pytest.raises(CheckoutError) as refused:
        checkout(tenant, [CartLine(session.pk, entry_id=entry.pk)], "friend@example.com")

    assert str(refused.value) == OFFER_LAPSED.format(title=session.title)
    assert_counter_true(session)


def test_an_offer_not_taken_in_time_lapses_and_passes_to_the_next_person(tenant):
    session, (order,), (first, second) = full_session_with_waitlist(tenant, "first@example.com", "second@example.com")
    registration_cancel(tenant=tenant, registration=registration_of(order), actor=None)
    make_offer_due(first)

    with pytest.raises(CheckoutError) as refused:  # too late: the refusal lapses it, before the sweep
        checkout(tenant, [CartLine(session.pk, entry_id=first.pk)], "first@example.com")
    assert str(refused.value) == OFFER_LAPSED.format(title=session.title)

    assert holds_expire(tenant=tenant) == 0  # nothing left for the sweep

    first, second = fresh(first), fresh(second)
    assert first.status == WaitlistStatus.LAPSED and first.closed_at is not None
    assert second.status == WaitlistStatus.OFFERED
    assert emails("waitlist_offer", "second@example.com").count() == 1
    assert emails("waitlist_offer", "first@example.com").count() == 1
    assert fresh(session).spots_left == 0
    assert_counter_true(session)


def test_a_lapsed_offer_with_nobody_else_waiting_makes_the_spot_public(tenant):
    session, (order,), (entry,) = full_session_with_waitlist(tenant, "first@example.com")
    registration_cancel(tenant=tenant, registration=registration_of(order), actor=None)
    make_offer_due(entry)

    holds_expire(tenant=tenant)

    assert fresh(entry).status == WaitlistStatus.LAPSED
    assert fresh(session).spots_left == 1
    assert_counter_true(session)


def test_removing_an_offered_person_passes_the_spot_to_the_next(tenant):
    session, (order,), (first, second) = full_session_with_waitlist(tenant, "first@example.com", "second@example.com")
    registration_cancel(tenant=tenant, registration=registration_of(order), actor=None)

    waitlist_remove(tenant=tenant, entry=first)

    assert fresh(first).status == WaitlistStatus.REMOVED and first.closed_at is not None
    assert fresh(second).status == WaitlistStatus.OFFERED
    assert emails("waitlist_offer", "second@example.com").count() == 1
    with pytest.raises(CheckoutError, match="no longer held"):
        checkout(tenant, [CartLine(session.pk, entry_id=first.pk)], "first@example.com")
    assert_counter_true(session)


def test_removing_a_waiting_person_frees_no_spot_and_cannot_be_done_twice(tenant):
    session, _, (first, second) = full_session_with_waitlist(tenant, "first@example.com", "second@example.com")

    waitlist_remove(tenant=tenant, entry=first)

    assert fresh(first).status == WaitlistStatus.REMOVED and fresh(second).status == WaitlistStatus.WAITING
    assert fresh(session).spots_taken == 1 and not emails("waitlist_offer").exists()
    with pytest.raises(ValidationError) as refused:
        waitlist_remove(tenant=tenant, entry=first)
    assert refused.value.messages == [ENTRY_CLOSED]
    assert_counter_true(session)


def test_an_offer_token_that_is_not_one_finds_nothing(tenant):
    assert offer_for_token(tenant=tenant, token="nonsense") is None
    assert offer_for_token(tenant=tenant, token="A" * 43) is None


def test_a_waiting_person_who_registers_through_an_invitation_is_not_offered_a_freed_spot(tenant):
    session, (order,), (invitee, next_in_line) = full_session_with_waitlist(
        tenant, "invitee@example.com", "next@example.com"
    )
    invitation, _ = session_invite(session, "invitee@example.com", raise_capacity=True)
    checkout(tenant, [CartLine(session.pk, invitation_id=invitation.pk)], "invitee@example.com")

    registration_cancel(tenant=tenant, registration=registration_of(order), actor=None)

    assert fresh(next_in_line).status == WaitlistStatus.OFFERED
    assert fresh(invitee).status != WaitlistStatus.OFFERED


# Payments and cancellations ---------------------------------------------------------------------


def test_marking_an_order_paid_confirms_its_registrations_and_sends_one_email(tenant, staff):
    first, second = SessionFactory(tenant=tenant), SessionFactory(tenant=tenant)
    order = checkout(tenant, [CartLine(first.pk), CartLine(second.pk)], "payer@example.com")

    order_mark_paid(tenant=tenant, order=order, actor=staff)

    order = fresh(order)
    assert order.status == OrderStatus.PAID and order.paid_at is not None
    assert set(order.registrations.values_list("status", flat=True)) == {RegistrationStatus.CONFIRMED}
    [email] = emails("payment_received", "payer@example.com")
    assert order.number in email.body_text and email.created_by == staff
    assert_counter_true(first)
    assert_counter_true(second)


def test_marking_an_order_paid_twice_is_refused_and_sends_no_second_email(tenant):
    order = checkout(tenant, SessionFactory(tenant=tenant))
    order_mark_paid(tenant=tenant, order=order, actor=None)

    with pytest.raises(ValidationError) as refused:
        order_mark_paid(tenant=tenant, order=order, actor=None)

    assert refused.value.messages == [NOT_AWAITING_PAYMENT]
    assert emails("payment_received").count() == 1


def test_a_free_order_is_not_awaiting_payment(tenant):
    order = checkout(tenant, SessionFactory(tenant=tenant, price=Decimal("0")))

    with pytest.raises(ValidationError, match=NOT_AWAITING_PAYMENT):
        order_mark_paid(tenant=tenant, order=order, actor=None)
    assert not emails("payment_received").exists()


def test_a_cancelled_order_cannot_be_marked_paid(tenant):
    order = checkout(tenant, SessionFactory(tenant=tenant))
    registration_cancel(tenant=tenant, registration=registration_of(order), actor=None)

    with pytest.raises(ValidationError, match=NOT_AWAITING_PAYMENT):
        order_mark_paid(tenant=tenant, order=order, actor=None)


def test_cancelling_the_only_registration_frees_its_spot_cancels_the_order_and_gives_the_discount_back(tenant, staff):
    session = SessionFactory(tenant=tenant, capacity=1)
    discount = DiscountFactory(tenant=tenant, code="ONCE", max_uses=1)
    order = checkout(tenant, session, "leaver@example.com", discount="once")
    assert fresh(discount).uses == 1

    registration = registration_cancel(tenant=tenant, registration=registration_of(order), actor=staff)

    registration = fresh(registration)
    assert registration.status == RegistrationStatus.CANCELLED
    assert registration.cancelled_at is not None and registration.cancelled_by == staff
    assert fresh(order).status == OrderStatus.CANCELLED
    assert fresh(discount).uses == 0
    assert fresh(session).spots_taken == 0
    [email] = emails("registration_cancelled", "leaver@example.com")
    assert email.created_by == staff
    checkout(tenant, session, "newcomer@example.com", discount="once")  # spot and code usable again
    assert_counter_true(session)


def test_cancelling_one_of_two_registrations_keeps_the_order_and_the_discount_use(tenant):
    first, second = SessionFactory(tenant=tenant), SessionFactory(tenant=tenant)
    discount = DiscountFactory(tenant=tenant, code="PAIR")
    order = checkout(tenant, [CartLine(first.pk), CartLine(second.pk)], discount="pair")
    one, other = order.registrations.order_by("session_id")

    registration_cancel(tenant=tenant, registration=one, actor=None)

    assert fresh(order).status == OrderStatus.AWAITING_PAYMENT and fresh(discount).uses == 1
    assert fresh(first).spots_taken == 0 and fresh(second).spots_taken == 1

    registration_cancel(tenant=tenant, registration=other, actor=None)

    assert fresh(order).status == OrderStatus.CANCELLED and fresh(discount).uses == 0
    assert emails("registration_cancelled", order.email).count() == 2
    assert_counter_true(first)
    assert_counter_true(second)


def test_cancelling_a_registration_twice_is_refused_and_frees_nothing_more(tenant):
    session = SessionFactory(tenant=tenant, capacity=2)
    order = checkout(tenant, session, "leaver@example.com")
    session_register(session)
    registration_cancel(tenant=tenant, registration=registration_of(order), actor=None)

    with pytest.raises(ValidationError) as refused:
        registration_cancel(tenant=tenant, registration=registration_of(order), actor=None)

    assert refused.value.messages == [ALREADY_CANCELLED]
    assert fresh(session).spots_taken == 1
    assert emails("registration_cancelled", "leaver@example.com").count() == 1
    assert_counter_true(session)


def test_cancelling_a_paid_registration_keeps_the_order_paid_when_others_remain(tenant):
    first, second = SessionFactory(tenant=tenant), SessionFactory(tenant=tenant)
    order = checkout(tenant, [CartLine(first.pk), CartLine(second.pk)])
    order_mark_paid(tenant=tenant, order=order, actor=None)

    registration_cancel(tenant=tenant, registration=order.registrations.first(), actor=None)

    assert fresh(order).status == OrderStatus.PAID


# Holds that expire: the service and the beat task -----------------------------------------------


def test_holds_expire_closes_only_the_invitations_and_offers_past_their_time(tenant):
    session = SessionFactory(tenant=tenant, capacity=5)
    due, _ = session_invite(session, "due@example.com", expires_at=soon(hours=1))
    later, _ = session_invite(session, "later@example.com", expires_at=soon(hours=1))
    forever, _ = session_invite(session, "forever@example.com")
    make_due(due)
    offered_in, (order,), (lapsing, next_in_line) = full_session_with_waitlist(
        tenant, "lapsing@example.com", "next@example.com"
    )
    registration_cancel(tenant=tenant, registration=registration_of(order), actor=None)
    make_offer_due(lapsing)
    other, (other_order,), (open_offer,) = full_session_with_waitlist(tenant, "open@example.com")
    registration_cancel(tenant=tenant, registration=registration_of(other_order), actor=None)

    assert holds_expire(tenant=tenant) == 2

    assert fresh(due).status == InvitationStatus.EXPIRED
    assert fresh(later).status == fresh(forever).status == InvitationStatus.PENDING
    assert fresh(lapsing).status == WaitlistStatus.LAPSED
    assert fresh(next_in_line).status == WaitlistStatus.OFFERED  # the lapsed spot passed on
    assert fresh(open_offer).status == WaitlistStatus.OFFERED
    for each in (session, offered_in, other):
        assert_counter_true(each)

    outbox = OutboundEmail.objects.count()
    assert holds_expire(tenant=tenant) == 0  # a second run does nothing
    assert OutboundEmail.objects.count() == outbox


def test_the_beat_task_sweeps_every_tenant_with_holds_due_and_a_second_run_does_nothing(tenant, other_tenant):
    mine = SessionFactory(tenant=tenant, capacity=1)
    theirs = SessionFactory(tenant=other_tenant, capacity=1)
    my_invitation, _ = session_invite(mine, "me@example.com", expires_at=soon(hours=1))
    their_invitation, _ = session_invite(theirs, "them@example.com", expires_at=soon(hours=1))
    their_waiting = waitlist_add(theirs, "waiting@example.com")
    make_due(my_invitation)
    make_due(their_invitation)

    assert expire_holds() == 2

    assert fresh(my_invitation).status == fresh(their_invitation).status == InvitationStatus.EXPIRED
    assert fresh(their_waiting).status == WaitlistStatus.OFFERED
    offer = emails("waitlist_offer", "waiting@example.com").get()
    assert offer.tenant == other_tenant
    assert fresh(mine).spots_taken == 0
    assert_counter_true(mine)
    assert_counter_true(theirs)

    outbox = OutboundEmail.objects.count()
    assert expire_holds() == 0
    assert OutboundEmail.objects.count() == outbox


def test_the_beat_task_leaves_holds_not_due_alone_in_every_tenant(tenant, other_tenant):
    mine = SessionFactory(tenant=tenant, capacity=2)
    theirs = SessionFactory(tenant=other_tenant, capacity=2)
    my_invitation, _ = session_invite(mine, "me@example.com", expires_at=soon(hours=1))
    their_due, _ = session_invite(theirs, "due@example.com", expires_at=soon(hours=1))
    their_later, _ = session_invite(theirs, "later@example.com", expires_at=soon(hours=1))
    make_due(their_due)

    assert expire_holds() == 1

    assert fresh(my_invitation).status == InvitationStatus.PENDING and fresh(mine).spots_taken == 1
    assert fresh(their_due).status == InvitationStatus.EXPIRED
    assert fresh(their_later).status == InvitationStatus.PENDING
    assert_counter_true(mine)
    assert_counter_true(theirs)


def test_holds_expire_of_one_tenant_never_touches_another(tenant, other_tenant):
    theirs = SessionFactory(tenant=other_tenant)
    their_due, _ = session_invite(theirs, "due@example.com", expires_at=soon(hours=1))
    make_due(their_due)

    assert holds_expire(tenant=tenant) == 0

    assert fresh(their_due).status == InvitationStatus.PENDING


# Tenant isolation -------------------------------------------------------------------------------


def test_checkout_cannot_reach_a_session_of_another_tenant(tenant, other_tenant):
    theirs = SessionFactory(tenant=other_tenant)

    with pytest.raises(CheckoutError) as refused:
        checkout(tenant, theirs)

    assert str(refused.value) == SESSION_GONE
    assert not Order.objects.exists() and fresh(theirs).spots_taken == 0


def test_checkout_cannot_use_an_invitation_or_offer_of_another_tenant(tenant, other_tenant):
    mine = SessionFactory(tenant=tenant)
    theirs = SessionFactory(tenant=other_tenant, capacity=1)
    their_invitation, _ = session_invite(theirs, "x@example.com")

    with pytest.raises(CheckoutError) as refused:
        checkout(tenant, [CartLine(mine.pk, invitation_id=their_invitation.pk)], "x@example.com")
    assert str(refused.value) == SESSION_GONE

    their_entry = waitlist_add(theirs, "w@example.com")
    invitation_cancel(tenant=other_tenant, invitation=their_invitation, actor=None)  # offered to w@
    assert fresh(their_entry).status == WaitlistStatus.OFFERED
    with pytest.raises(CheckoutError, match="no longer held"):
        checkout(tenant, [CartLine(mine.pk, entry_id=their_entry.pk)], "w@example.com")
    assert fresh(their_entry).status == WaitlistStatus.OFFERED
    assert not Order.objects.exists()


def test_cart_quote_leaves_out_sessions_of_another_tenant(tenant, other_tenant):
    mine = SessionFactory(tenant=tenant, price=Decimal("10.00"))
    theirs = SessionFactory(tenant=other_tenant, price=Decimal("99.00"))

    quote = cart_quote(tenant=tenant, lines=[CartLine(mine.pk), CartLine(theirs.pk)])

    assert [line.session for line in quote.lines] == [mine] and quote.total == Decimal("10.00")


def test_a_discount_code_of_another_tenant_is_unknown(tenant, other_tenant):
    session = SessionFactory(tenant=tenant)
    theirs = DiscountFactory(tenant=other_tenant, code="THEIRS")

    with pytest.raises(DiscountRefused, match=DISCOUNT_UNKNOWN):
        discount_find(tenant=tenant, text="theirs")
    assert cart_quote(tenant=tenant, lines=[CartLine(session.pk)], discount_text="theirs").discount_problem == (
        DISCOUNT_UNKNOWN
    )
    with pytest.raises(CheckoutError) as refused:
        checkout(tenant, session, discount="theirs")
    assert str(refused.value) == DISCOUNT_UNKNOWN
    assert fresh(theirs).uses == 0


def test_an_invitation_link_of_another_tenant_is_unknown(tenant, other_tenant):
    _, token = session_invite(SessionFactory(tenant=other_tenant))

    with pytest.raises(InvitationClosed) as closed:
        invitation_open(tenant=tenant, token=token)

    assert closed.value.status == 404 and str(closed.value) == LINK_UNKNOWN


def test_staff_actions_cannot_reach_rows_of_another_tenant(tenant, other_tenant):
    theirs = SessionFactory(tenant=other_tenant, capacity=1)
    invitation, _ = session_invite(theirs)
    order = checkout(other_tenant, SessionFactory(tenant=other_tenant))

    with pytest.raises(SessionInvitation.DoesNotExist):
        invitation_cancel(tenant=tenant, invitation=invitation, actor=None)
    with pytest.raises(Order.DoesNotExist):
        order_mark_paid(tenant=tenant, order=order, actor=None)
    with pytest.raises(Order.DoesNotExist):
        registration_cancel(tenant=tenant, registration=registration_of(order), actor=None)
    with pytest.raises(Session.DoesNotExist):
        session_update(tenant=tenant, session=theirs, capacity=10, **edit_fields(theirs))
    with pytest.raises(Session.DoesNotExist):
        session_delete(tenant=tenant, session=SessionFactory(tenant=other_tenant))
    assert fresh(invitation).status == InvitationStatus.PENDING and fresh(order).status == OrderStatus.AWAITING_PAYMENT
    assert fresh(theirs).capacity == 1


def test_invitation_send_to_a_session_of_another_tenant_is_refused(tenant, other_tenant):
    theirs = SessionFactory(tenant=other_tenant, capacity=1)

    with pytest.raises((ValidationError, Session.DoesNotExist)):
        invitation_send(tenant=tenant, session=theirs, email="x@example.com")

    assert not SessionInvitation.objects.exists() and not emails("invitation").exists()
    assert fresh(theirs).spots_taken == 0


def test_invitation_send_with_raise_capacity_to_a_session_of_another_tenant_is_refused(tenant, other_tenant):
    theirs = SessionFactory(tenant=other_tenant, capacity=1)

    with pytest.raises((ValidationError, Session.DoesNotExist)):
        invitation_send(tenant=tenant, session=theirs, email="x@example.com", raise_capacity=True)

    assert not SessionInvitation.objects.filter(session=theirs).exists()
    assert not emails("invitation").exists()
