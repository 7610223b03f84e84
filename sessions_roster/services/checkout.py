"""The cart, checkout and what happens to registrations afterwards.

A cart is a list of lines (a session, and the invitation or waitlist offer that holds a spot for it)
kept in the visitor's session; ``cart_quote`` prices it for the page. ``order_checkout`` does it
for real in one transaction: it takes a spot for every line not already held (a conditional UPDATE
each), turns held spots into registrations, counts the discount use exactly once, records the order
through the payment provider, and queues the confirmation email. Any failure changes nothing.
"""

import secrets
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from accounts.models import normalize_email
from accounts.services import client_for_booking
from payments.providers import PaymentRequest, payment_provider
from tenancy.models import Tenant

from ..models import (
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
from . import notify
from .discounts import (
    DISCOUNT_NOT_FOR_THESE,
    DiscountRefused,
    discount_applies_to,
    discount_find,
    discount_give_back,
    discount_split,
    discount_use,
)
from .invitations import invitation_expire, invitation_refusal
from .spots import person_lock, spot_take
from .waitlist import close_waiting_for_registered, offer_lapse, spot_free

CART_EMPTY = gettext_noop("Your cart is empty. Add a session first.")
SESSION_GONE = gettext_noop("A session in your cart is no longer offered; it was removed from your cart.")
SESSION_FULL_NOW = gettext_noop("“{title}” has just filled up. Remove it from your cart, or join its waitlist.")
NOT_OPEN_YET = gettext_noop("Registration for “{title}” opens on {when}.")
STARTED = gettext_noop("“{title}” has already started.")
ALREADY_REGISTERED_FOR = gettext_noop("{email} is already registered for “{title}”.")
PROOF_NEEDED = gettext_noop("The invitation to “{title}” is for its invited address only. Confirm that address first.")
LOCKED_EMAIL = gettext_noop("The invitation to “{title}” is for {email}: register with that address.")
OFFER_LAPSED = gettext_noop("The spot held for you in “{title}” is no longer held: the offer lapsed or was withdrawn.")
TOTAL_CHANGED = gettext_noop(
    "The total has changed to {total} {currency} since you saw it. Check the summary and confirm again."
)
ALREADY_CANCELLED = gettext_noop("This registration is already cancelled.")
NOT_AWAITING_PAYMENT = gettext_noop("This order is not awaiting payment.")


class CheckoutError(Exception):
    """A checkout that cannot go through; ``str(exc)`` is the message for the page."""


@dataclass(frozen=True)
class CartLine:
    session_id: int
    invitation_id: int | None = None
    entry_id: int | None = None


@dataclass(frozen=True)
class Attendee:
    first_name: str
    last_name: str
    email: str


@dataclass
class QuotedLine:
    session: Session
    price: Decimal
    discount: Decimal
    held_by: SessionInvitation | WaitlistEntry | None = None
    problem: str = ""

    @property
    def amount(self) -> Decimal:
        return self.price - self.discount

    @property
    def held_by_invitation(self) -> bool:
        return isinstance(self.held_by, SessionInvitation) and not self.problem

    @property
    def held_until(self):
        """When the waitlist offer holding this line ends (None for other lines)."""
        return self.held_by.offer_expires_at if isinstance(self.held_by, WaitlistEntry) and not self.problem else None


@dataclass
class Quote:
    lines: list[QuotedLine]
    discount: DiscountCode | None = None
    discount_problem: str = ""
    problems: list[str] = field(default_factory=list)

    @property
    def subtotal(self) -> Decimal:
        return sum((line.price for line in self.lines), Decimal("0"))

    @property
    def discount_amount(self) -> Decimal:
        return sum((line.discount for line in self.lines), Decimal("0"))

    @property
    def total(self) -> Decimal:
        return self.subtotal - self.discount_amount


def one_line_per_session(lines: list[CartLine]) -> list[CartLine]:
    """A person takes one spot per session: a line holding a spot wins over a plain one."""
    chosen: dict[int, CartLine] = {}
    for line in lines:
        if line.session_id not in chosen or line.invitation_id or line.entry_id:
            chosen[line.session_id] = line
    return list(chosen.values())


def cart_quote(*, tenant: Tenant, lines: list[CartLine], discount_text: str = "") -> Quote:
    """Price the cart for the page: nothing is taken or counted. Lines whose session is gone are left out."""
    lines = one_line_per_session(lines)
    sessions = Session.objects.filter(tenant=tenant).in_bulk([line.session_id for line in lines])
    holders = _holders(tenant, lines)
    quoted = [
        QuotedLine(sessions[line.session_id], sessions[line.session_id].price, Decimal("0"), holders.get(line))
        for line in lines
        if line.session_id in sessions
    ]
    quote = Quote(quoted)
    for line in quoted:
        line.problem = hold_problem(line.held_by, line.session)
    quote.problems = [line.problem for line in quoted if line.problem]
    if discount_text:
        try:
            discount = discount_find(tenant=tenant, text=discount_text)
            _check_discount_fits(discount, quoted)
        except DiscountRefused as exc:
            quote.discount_problem = str(exc)
        else:
            _apply(quote, discount)
    return quote


def _holders(tenant: Tenant, lines: list[CartLine]) -> dict:
    invitations = SessionInvitation.objects.filter(
        tenant=tenant, pk__in=[line.invitation_id for line in lines if line.invitation_id]
    ).in_bulk()
    entries = WaitlistEntry.objects.filter(
        tenant=tenant, pk__in=[line.entry_id for line in lines if line.entry_id]
    ).in_bulk()
    return {
        line: invitations.get(line.invitation_id) if line.invitation_id else entries.get(line.entry_id)
        for line in lines
        if line.invitation_id or line.entry_id
    }


def _check_discount_fits(discount: DiscountCode, lines: list[QuotedLine]) -> None:
    if not discount_applies_to(discount, {line.session.pk for line in lines}):
        raise DiscountRefused(_(DISCOUNT_NOT_FOR_THESE))


def _apply(quote: Quote, discount: DiscountCode) -> None:
    quote.discount = discount
    split = discount_split(discount, [(line.session.pk, line.price) for line in quote.lines])
    for line, part in zip(quote.lines, split, strict=True):
        line.discount = part.discount


def order_checkout(
    *,
    tenant: Tenant,
    lines: list[CartLine],
    attendee: Attendee,
    discount_text: str = "",
    user=None,
    proven_invitations: frozenset[int] = frozenset(),
    expected_total: Decimal | None = None,
) -> Order:
    """``expected_total`` is the total the buyer saw and confirmed: if the order comes to anything
    else (a discount used up meanwhile, a price changed), nothing is written and they are asked again."""
    lines = one_line_per_session(lines)
    if not lines:
        raise CheckoutError(_(CART_EMPTY))
    attendee = Attendee(attendee.first_name.strip(), attendee.last_name.strip(), normalize_email(attendee.email))
    try:
        with transaction.atomic():
            return _checkout(tenant, lines, attendee, discount_text, user, proven_invitations, expected_total)
    except DiscountRefused as exc:
        raise CheckoutError(str(exc)) from None
    except IntegrityError:
        # Two checkouts for the same person and session at once: the database let one through.
        raise CheckoutError(_(ALREADY_REGISTERED_FOR).format(email=attendee.email, title=_("this session"))) from None
    except CheckoutError:
        _close_overdue_holds(tenant, lines)
        raise


def _close_overdue_holds(tenant: Tenant, lines: list[CartLine]) -> None:
    """A refused checkout rolled back whole; holds it found past their time are closed now, in their
    own transactions, so their spots pass on as the refusal says (the sweeper would, a minute later)."""
    for line in lines:
        if line.invitation_id:
            invitation_expire(tenant=tenant, invitation_id=line.invitation_id)
        elif line.entry_id:
            offer_lapse(tenant=tenant, entry_id=line.entry_id)


def _checkout(tenant, lines, attendee, discount_text, user, proven, expected_total) -> Order:
    # Lock order, the same everywhere: the discount code, then holders and sessions by session id.
    discount = discount_find(tenant=tenant, text=discount_text, lock=True) if discount_text else None
    claimed = {line: _claim(tenant, line, attendee, proven) for line in sorted(lines, key=lambda line: line.session_id)}
    quote = Quote([claimed[line] for line in lines])  # in the cart's order, as the quote showed it
    if discount is not None:
        _check_discount_fits(discount, quote.lines)
        _apply(quote, discount)
        discount_use(tenant=tenant, discount=discount)
    if expected_total is not None and quote.total != expected_total:
        raise CheckoutError(_(TOTAL_CHANGED).format(total=quote.total, currency=tenant.currency))
    order = _order(tenant, quote, attendee, user)
    registrations = [_register(tenant, order, line, attendee) for line in quote.lines]
    notify.order_confirmation_email(tenant=tenant, order=order, registrations=registrations)
    return order


def _claim(tenant: Tenant, line: CartLine, attendee: Attendee, proven: frozenset[int]) -> QuotedLine:
    """Make sure the line has a spot: the one its invitation or offer holds, or a free one taken now."""
    session = Session.objects.filter(tenant=tenant, pk=line.session_id).first()
    if session is None:
        raise CheckoutError(_(SESSION_GONE))
    if session.has_started:
        raise CheckoutError(_(STARTED).format(title=session.title))
    person_lock(session_id=session.pk, email=attendee.email)
    if Registration.objects.filter(
        tenant=tenant, session=session, email__iexact=attendee.email, status__in=HOLDING_REGISTRATION
    ).exists():
        raise CheckoutError(_(ALREADY_REGISTERED_FOR).format(email=attendee.email, title=session.title))
    # Their place on the waitlist ends with this registration. Done before any spot is taken: the
    # same order (waitlist entry, then session row) as lapsing or removing an offer.
    close_waiting_for_registered(tenant=tenant, session_id=session.pk, email=attendee.email, keep_id=line.entry_id)
    if line.invitation_id:
        holder = _claim_invitation(tenant, session, line.invitation_id, attendee, proven)
        if normalize_email(holder.email) != attendee.email:  # someone else's link: their own invitation ends
            _close_pending_invitation(tenant, session, attendee.email)
    elif line.entry_id:
        holder = _claim_offer(tenant, session, line.entry_id)
        _close_pending_invitation(tenant, session, attendee.email)
    else:
        holder = _claim_plain(tenant, session, attendee, proven)
    return QuotedLine(session, session.price, Decimal("0"), holder)


def _close_pending_invitation(tenant, session, email) -> SessionInvitation | None:
    """Someone who took a spot another way no longer needs the one their invitation holds: it is
    closed as used and its spot passes on."""
    invitation = (
        SessionInvitation.objects.select_for_update()
        .filter(tenant=tenant, session=session, email__iexact=email, status=InvitationStatus.PENDING)
        .first()
    )
    if invitation is not None:
        invitation.status = InvitationStatus.ACCEPTED
        invitation.closed_at = timezone.now()
        invitation.save(update_fields=["status", "closed_at"])
        spot_free(tenant=tenant, session_id=session.pk)
    return invitation


def _claim_plain(tenant, session, attendee, proven) -> SessionInvitation | None:
    """A line added from the public page. Someone invited to the session who registers this way
    uses the spot their invitation holds (a locked invitation only once its address is proved);
    otherwise a free spot is taken, and an invitation still pending for the address is closed and
    its spot passed on, so one person never holds two spots."""
    invitation = (
        SessionInvitation.objects.select_for_update()
        .filter(tenant=tenant, session=session, email__iexact=attendee.email, status=InvitationStatus.PENDING)
        .first()
    )
    if invitation is not None and not hold_problem(invitation, session):
        if not invitation.lock_to_email or invitation.pk in proven:
            return _claim_invitation(tenant, session, invitation.pk, attendee, proven)
    if not session.registration_open:
        when = notify.local_time(tenant, session.registration_opens_at)
        raise CheckoutError(_(NOT_OPEN_YET).format(title=session.title, when=when))
    if not spot_take(tenant=tenant, session_id=session.pk):
        raise CheckoutError(_(SESSION_FULL_NOW).format(title=session.title))
    return _close_pending_invitation(tenant, session, attendee.email)


def hold_problem(holder: SessionInvitation | WaitlistEntry | None, session: Session) -> str:
    """Why the invitation or offer behind a cart line no longer holds its spot; "" while it does."""
    if isinstance(holder, SessionInvitation):
        return invitation_refusal(holder)
    if isinstance(holder, WaitlistEntry):
        if holder.status != WaitlistStatus.OFFERED or holder.offer_expires_at <= timezone.now():
            return _(OFFER_LAPSED).format(title=session.title)
    return ""


def _claim_invitation(tenant, session, invitation_id, attendee, proven) -> SessionInvitation:
    invitation = (
        SessionInvitation.objects.select_for_update().filter(tenant=tenant, pk=invitation_id, session=session).first()
    )
    if invitation is None:
        raise CheckoutError(_(SESSION_GONE))
    if refusal := hold_problem(invitation, session):
        raise CheckoutError(refusal)
    if invitation.lock_to_email:
        if invitation.pk not in proven:
            raise CheckoutError(_(PROOF_NEEDED).format(title=session.title))
        if attendee.email != normalize_email(invitation.email):
            raise CheckoutError(_(LOCKED_EMAIL).format(title=session.title, email=invitation.email))
    invitation.status = InvitationStatus.ACCEPTED
    invitation.closed_at = timezone.now()
    invitation.save(update_fields=["status", "closed_at"])
    return invitation


def _claim_offer(tenant, session, entry_id) -> WaitlistEntry:
    entry = WaitlistEntry.objects.select_for_update().filter(tenant=tenant, pk=entry_id, session=session).first()
    if entry is None or hold_problem(entry, session):
        raise CheckoutError(_(OFFER_LAPSED).format(title=session.title))
    entry.status = WaitlistStatus.REGISTERED
    entry.closed_at = timezone.now()
    entry.save(update_fields=["status", "closed_at"])
    return entry


def _order(tenant: Tenant, quote: Quote, attendee: Attendee, user) -> Order:
    client = client_for_booking(
        tenant=tenant, email=attendee.email, first_name=attendee.first_name, last_name=attendee.last_name
    )
    order = Order.objects.create(
        tenant=tenant,
        reference=secrets.token_urlsafe(16),
        first_name=attendee.first_name,
        last_name=attendee.last_name,
        email=attendee.email,
        user=user if user is not None and user.is_authenticated else None,
        client=client,
        subtotal=quote.subtotal,
        discount_amount=quote.discount_amount,
        total=quote.total,
        discount_code=quote.discount,
        status=OrderStatus.PAID,
    )
    if quote.total > 0:
        provider = payment_provider()
        start = provider.start(_payment_request(tenant, order, [line.session.title for line in quote.lines]))
        order.payment_provider = provider.key
        order.payment_instructions = start.instructions
        order.status = OrderStatus.PAID if start.paid else OrderStatus.AWAITING_PAYMENT
    if order.status == OrderStatus.PAID:
        order.paid_at = timezone.now()
    order.save(update_fields=["payment_provider", "payment_instructions", "status", "paid_at"])
    return order


def _payment_request(tenant: Tenant, order: Order, titles: list[str]) -> PaymentRequest:
    return PaymentRequest(
        reference=order.number,
        amount=order.total,
        currency=tenant.currency,
        description=", ".join(titles),
        payee=tenant.public_name,
    )


def _register(tenant: Tenant, order: Order, line: QuotedLine, attendee: Attendee) -> Registration:
    held = line.held_by
    paid = order.status == OrderStatus.PAID
    return Registration.objects.create(
        tenant=tenant,
        order=order,
        session=line.session,
        first_name=attendee.first_name,
        last_name=attendee.last_name,
        email=attendee.email,
        price=line.price,
        discount=line.discount,
        amount=line.amount,
        status=RegistrationStatus.CONFIRMED if paid else RegistrationStatus.AWAITING_PAYMENT,
        invitation=held if isinstance(held, SessionInvitation) else None,
        waitlist_entry=held if isinstance(held, WaitlistEntry) else None,
    )


def _order_recount(tenant: Tenant, order: Order) -> None:
    """After a cancellation the order owes only for what is left; with nothing left it is cancelled
    and its discount use given back."""
    left = list(order.registrations.exclude(status=RegistrationStatus.CANCELLED).select_related("session"))
    order.subtotal = sum((r.price for r in left), Decimal("0"))
    order.discount_amount = sum((r.discount for r in left), Decimal("0"))
    order.total = sum((r.amount for r in left), Decimal("0"))
    if not left:
        order.status = OrderStatus.CANCELLED
        order.payment_instructions = ""
        if order.discount_code_id:
            discount_give_back(tenant=tenant, discount=order.discount_code)
    elif order.status == OrderStatus.AWAITING_PAYMENT and order.total == 0:  # only free sessions are left
        order.status, order.paid_at, order.payment_instructions = OrderStatus.PAID, timezone.now(), ""
        order.registrations.filter(status=RegistrationStatus.AWAITING_PAYMENT).update(
            status=RegistrationStatus.CONFIRMED
        )
    elif order.status == OrderStatus.AWAITING_PAYMENT:
        # What to pay changed: ask the same (offline) provider for instructions for the new amount.
        start = payment_provider().start(_payment_request(tenant, order, [r.session.title for r in left]))
        order.payment_instructions = start.instructions
    order.save(update_fields=["subtotal", "discount_amount", "total", "status", "payment_instructions", "paid_at"])


def order_mark_paid(*, tenant: Tenant, order: Order, actor) -> Order:
    """Staff record an offline payment: the order is paid and its registrations confirmed."""
    with transaction.atomic():
        order = Order.objects.select_for_update().get(tenant=tenant, pk=order.pk)
        if order.status != OrderStatus.AWAITING_PAYMENT:
            raise ValidationError(_(NOT_AWAITING_PAYMENT))
        order.status = OrderStatus.PAID
        order.paid_at = timezone.now()
        order.save(update_fields=["status", "paid_at"])
        order.registrations.filter(status=RegistrationStatus.AWAITING_PAYMENT).update(
            status=RegistrationStatus.CONFIRMED
        )
        notify.payment_received_email(tenant=tenant, order=order, actor=actor)
    return order


def registration_cancel(*, tenant: Tenant, registration: Registration, actor) -> Registration:
    """Cancel one registration: its spot goes to the waitlist, the attendee is told. When the order
    has nothing left, the order is cancelled too and its discount use is given back."""
    with transaction.atomic():
        order = Order.objects.select_for_update().get(tenant=tenant, pk=registration.order_id)
        registration = (
            Registration.objects.select_for_update(of=("self",))
            .select_related("session")
            .get(tenant=tenant, pk=registration.pk)
        )
        if registration.status == RegistrationStatus.CANCELLED:
            raise ValidationError(_(ALREADY_CANCELLED))
        registration.status = RegistrationStatus.CANCELLED
        registration.cancelled_at = timezone.now()
        registration.cancelled_by = actor
        registration.save(update_fields=["status", "cancelled_at", "cancelled_by"])
        _order_recount(tenant, order)
        spot_free(tenant=tenant, session_id=registration.session_id)
        notify.registration_cancelled_email(tenant=tenant, registration=registration, actor=actor)
    return registration
