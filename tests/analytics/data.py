"""A known data set for the analytics tests: codes, session invitations and registration codes,
each sent and redeemed at known times, so every figure on the pages can be worked out by hand.

The tenant's time zone is Europe/Berlin (UTC+1 in March), so a code made at 23:30 UTC on the last
day of February belongs to 1 March there, and one made at 23:30 UTC on 31 March to 1 April.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

from invitations.models import CodeSend, Redemption
from regcodes.models import LearnerInvite, RegistrationCode
from sessions_roster.models import SessionInvitation

from ..factories import (
    BookingFactory,
    CodeFactory,
    PriceFactory,
    ProductSessionFactory,
    SessionFactory,
    UserFactory,
    seat_invite,
    seat_order,
    session_invite,
)

H = timedelta(hours=1)


def utc(month, day, hour=10, minute=0):
    return datetime(2026, month, day, hour, minute, tzinfo=dt_timezone.utc)


@dataclass
class Known:
    contract_a: object = None
    contract_b: object = None
    codes: dict = field(default_factory=dict)
    session: object = None
    product: object = None


def code(tenant, price, name, created, *, campaign="", status="active", sends=(), redeemed=(), released=()):
    c = CodeFactory(tenant=tenant, price=price, created_at=created, campaign=campaign, status=status)
    for at in sends:
        CodeSend.objects.create(tenant=tenant, code=c, channel="email", recipient=f"{name}@example.com", sent_at=at)
    for at in redeemed:
        Redemption.objects.create(
            tenant=tenant, code=c, booking=BookingFactory(tenant=tenant), email="r@x.io", redeemed_at=at
        )
    for at in released:
        Redemption.objects.create(
            tenant=tenant,
            code=c,
            booking=BookingFactory(tenant=tenant),
            email="r@x.io",
            redeemed_at=at,
            released_at=at + H,
        )
    return c


def build_codes(tenant) -> Known:
    known = Known()
    price_a = PriceFactory(tenant=tenant, contract__name="Alpha contract", contract__organisation__name="Alpha Org")
    price_b = PriceFactory(tenant=tenant, contract__name="Beta contract", contract__organisation__name="Beta Org")
    known.contract_a, known.contract_b = price_a.contract, price_b.contract
    sent = utc(3, 2)
    made = utc(3, 1)
    known.codes = {
        # Contract A, made in March: 2 h, 24 h and 72 h from first send to first redemption.
        "c1": code(tenant, price_a, "c1", made, campaign="spring", sends=[sent], redeemed=[sent + 2 * H]),
        "c2": code(tenant, price_a, "c2", made, campaign="spring", sends=[sent], redeemed=[sent + 24 * H]),
        "c3": code(tenant, price_a, "c3", made, sends=[sent, sent + 200 * H], redeemed=[sent + 72 * H, sent + 90 * H]),
        "c4": code(tenant, price_a, "c4", made, sends=[sent, sent + 5 * H]),  # sent twice, never redeemed
        "c5": code(tenant, price_a, "c5", made, redeemed=[utc(3, 4)]),  # redeemed, never sent
        "c6": code(tenant, price_a, "c6", made, sends=[sent], released=[sent + H]),  # booking cancelled
        "void": code(tenant, price_a, "void", made, status="void", sends=[sent], redeemed=[sent + H]),
        # Contract A, made in April: 4 h.
        "c8": code(tenant, price_a, "c8", utc(4, 10), sends=[utc(4, 10)], redeemed=[utc(4, 10) + 4 * H]),
        # Contract B: one spring code never used; two made around the ends of March (Berlin time).
        "c9": code(tenant, price_b, "c9", made, campaign="spring"),
        "b_first_of_march": code(tenant, price_b, "b1", utc(2, 28, 23, 30)),
        "b_first_of_april": code(tenant, price_b, "b2", utc(3, 31, 23, 30)),
    }
    return known


def build_session(tenant, title="Spring workshop"):
    """Four invitations: accepted after 5 h and after 1 h, one pending whose email never went out,
    one cancelled."""
    session = SessionFactory(tenant=tenant, title=title, capacity=10)
    invitations = [session_invite(session, email=f"p{i}@example.com")[0] for i in range(4)]
    ids = [inv.pk for inv in invitations]
    SessionInvitation.objects.filter(pk__in=ids).update(created_at=utc(3, 5))
    SessionInvitation.objects.filter(pk=ids[0]).update(status="accepted", closed_at=utc(3, 5) + 5 * H)
    SessionInvitation.objects.filter(pk=ids[1]).update(status="accepted", closed_at=utc(3, 5) + H)
    SessionInvitation.objects.filter(pk=ids[2]).update(sent_at=None)
    SessionInvitation.objects.filter(pk=ids[3]).update(status="cancelled", closed_at=utc(3, 6))
    return session


def build_product(tenant, name="Safety course"):
    """Four seats: one invited then claimed 10 h later, one claimed directly (never invited), one
    invited and open, one untouched."""
    run = ProductSessionFactory(tenant=tenant, product__name=name)
    order = seat_order(run, UserFactory(), quantity=4)
    codes = list(RegistrationCode.objects.filter(order=order).order_by("pk"))
    RegistrationCode.objects.filter(order=order).update(created_at=utc(3, 7))
    invite, _ = seat_invite(order, email="first@example.com")
    LearnerInvite.objects.filter(pk=invite.pk).update(code=codes[0], sent_at=utc(3, 8))
    second, _ = seat_invite(order, email="third@example.com")
    LearnerInvite.objects.filter(pk=second.pk).update(code=codes[2], sent_at=utc(3, 8))
    RegistrationCode.objects.filter(pk=codes[0].pk).update(
        status="claimed", learner=UserFactory(), claimed_at=utc(3, 8) + 10 * H
    )
    RegistrationCode.objects.filter(pk=codes[1].pk).update(
        status="claimed", learner=UserFactory(), claimed_at=utc(3, 9)
    )
    RegistrationCode.objects.filter(pk__in=[codes[2].pk, codes[3].pk]).update(status="invited")
    RegistrationCode.objects.filter(pk=codes[3].pk).update(status="available")
    return run.product
