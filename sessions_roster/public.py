"""Public pages: the session listing and a session's page, the cart and checkout, invitation and
waitlist-offer links, proving an invited address, and the order page."""

from decimal import Decimal, InvalidOperation
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import dateformat
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from invitations import ratelimit
from invitations.services import too_many_attempts
from tenancy import ratelimit as rate_limits
from tenancy.decorators import public
from tenancy.urlresolvers import tenant_reverse

from . import cart, selectors
from .forms import AttendeeForm, DiscountEntryForm, ProofForm, WaitlistForm
from .models import SessionInvitation, WaitlistStatus
from .services import invitations, waitlist
from .services.checkout import CART_EMPTY, Attendee, CartLine, CheckoutError, cart_quote, order_checkout
from .services.discounts import DiscountRefused, discount_find

ADDED = gettext_noop("“{title}” is in your cart.")
NOT_OPEN = gettext_noop("Registration for this session has not opened yet.")
FULL = gettext_noop("This session is full. You can join its waitlist below.")
STARTED = gettext_noop("This session has already started.")
INVITATION_IN_CART = gettext_noop("Your invitation to “{title}” is in your cart: your spot is held.")
OFFER_IN_CART = gettext_noop("The spot offered to you in “{title}” is in your cart, held until {until}.")
OFFER_UNKNOWN = gettext_noop("This offer link is not valid. Check that you copied the whole link from the email.")
OFFER_CLOSED = {
    WaitlistStatus.REGISTERED: gettext_noop("You already registered with this offer. A link can be used once."),
    WaitlistStatus.LAPSED: gettext_noop(
        "This offer has lapsed: the spot was passed to the next person on the waitlist."
    ),
    WaitlistStatus.REMOVED: gettext_noop("This offer was withdrawn by the organiser."),
    WaitlistStatus.WAITING: OFFER_UNKNOWN,
}
WAITLIST_JOINED = gettext_noop("You are on the waitlist. We emailed {email} and will write again when a spot frees.")
ORDER_PLACED = gettext_noop("Thank you. A confirmation is on its way to {email}.")
PROVED = gettext_noop("Thank you: your address is confirmed.")
PROOF_SENT = gettext_noop("We emailed a code to {masked}. It is valid for a few minutes.")


def _cart_url(request) -> str:
    return tenant_reverse(request.tenant, "register:cart")


@public
def listing(request):
    rows = selectors.public_sessions(tenant=request.tenant)
    return render(request, "sessions_roster/public/listing.html", {"sessions": rows})


@public
def session_page(request, session_key):
    session = selectors.public_session(tenant=request.tenant, key=session_key)
    initial = {}
    if request.user.is_authenticated:
        initial = {
            "first_name": request.user.first_name,
            "last_name": request.user.last_name,
            "email": request.user.email,
        }
    return render(
        request,
        "sessions_roster/public/session.html",
        {"session": session, "waitlist_form": WaitlistForm(initial=initial)},
    )


@public
def add_to_cart(request, session_key):
    session = selectors.public_session(tenant=request.tenant, key=session_key)
    back = tenant_reverse(request.tenant, "register:session", session_key=session.key)
    if request.method != "POST":
        return redirect(back)
    problem = (
        _(STARTED)
        if session.has_started
        else _(NOT_OPEN)
        if not session.registration_open
        else _(FULL)
        if session.is_full
        else ""
    )
    if problem:
        messages.error(request, problem)
        return redirect(back)
    cart.add(request, CartLine(session.pk))
    messages.success(request, _(ADDED).format(title=session.title))
    return redirect(_cart_url(request))


@public
def waitlist_join(request, session_key):
    session = selectors.public_session(tenant=request.tenant, key=session_key)
    form = WaitlistForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            waitlist.waitlist_join(tenant=request.tenant, session=session, user=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(
                request,
                _(WAITLIST_JOINED).format(email=form.cleaned_data["email"]),
            )
            return redirect(tenant_reverse(request.tenant, "register:session", session_key=session.key))
    return render(request, "sessions_roster/public/session.html", {"session": session, "waitlist_form": form})


@public
def cart_page(request):
    if request.method == "POST":
        if "remove" in request.POST:
            try:
                cart.remove(request, int(request.POST["remove"]))
            except ValueError:
                pass
            messages.success(request, _("Removed from your cart."))
        elif "clear_discount" in request.POST:
            cart.set_discount(request, "")
        else:
            entry = DiscountEntryForm(request.POST)
            _apply_discount(request, entry.cleaned_data["discount_code"] if entry.is_valid() else "")
        return redirect(_cart_url(request))
    quote = cart_quote(tenant=request.tenant, lines=cart.lines(request), discount_text=cart.discount(request))
    entry = DiscountEntryForm(initial={"discount_code": cart.discount(request)})
    return render(request, "sessions_roster/public/cart.html", {"quote": quote, "entry": entry})


def _apply_discount(request, text: str) -> None:
    """Typed discount codes count against the same per-address limit as typed invitation codes,
    so the cart cannot be used to guess them; one that works is forgiven."""
    if not text:
        cart.set_discount(request, "")
        return
    address = ratelimit.client_address(request)
    minutes = ratelimit.attempt(request.tenant, address)
    if minutes:
        messages.error(request, too_many_attempts(minutes))
        return
    cart.set_discount(request, text)
    try:
        discount_find(tenant=request.tenant, text=text)
    except DiscountRefused:
        return
    ratelimit.forgive(request.tenant, address)


def _attendee_initial(request, quote) -> dict:
    initial = {}
    if request.user.is_authenticated:
        user = request.user
        initial = {"first_name": user.first_name, "last_name": user.last_name, "email": user.email}
    for line in quote.lines:
        holder = line.held_by
        if isinstance(holder, SessionInvitation):
            initial["email"] = holder.email
        elif holder is not None:
            initial = {"first_name": holder.first_name, "last_name": holder.last_name, "email": holder.email}
    return initial


@public
def checkout(request):
    tenant = request.tenant
    lines = cart.lines(request)
    quote = cart_quote(tenant=tenant, lines=lines, discount_text=cart.discount(request))
    if not quote.lines:
        if request.method == "POST" and cart.last_order(request):  # a second click on "Register"
            return redirect(tenant_reverse(tenant, "register:order", order_reference=cart.last_order(request)))
        messages.error(request, _(CART_EMPTY))
        return redirect(tenant_reverse(tenant, "register:listing"))
    form = AttendeeForm(request.POST or None, initial=_attendee_initial(request, quote))
    locked = _locked_email(request, quote)
    if locked:
        form.fields["email"].widget.attrs["readonly"] = True
        form.fields["email"].help_text = _("Your invitation is for this address.")
    if request.method == "POST" and form.is_valid():
        try:
            order = order_checkout(
                tenant=tenant,
                lines=lines,
                attendee=Attendee(**form.cleaned_data),
                discount_text="" if quote.discount_problem else cart.discount(request),
                user=request.user,
                proven_invitations=cart.proven(request) | _signed_in_proofs(request, quote),
                expected_total=_decimal(request.POST.get("expected_total")),
            )
        except CheckoutError as exc:
            form.add_error(None, str(exc))
            quote = cart_quote(tenant=tenant, lines=lines, discount_text=cart.discount(request))
        else:
            cart.clear(request, last_order=order.reference)
            messages.success(request, _(ORDER_PLACED).format(email=order.email))
            return redirect(tenant_reverse(tenant, "register:order", order_reference=order.reference))
    return render(request, "sessions_roster/public/checkout.html", {"quote": quote, "form": form})


def _decimal(text) -> Decimal | None:
    try:
        value = Decimal(text) if text else None
    except InvalidOperation:
        return None
    return value if value is not None and value.is_finite() else None


def _locked_email(request, quote) -> str:
    """The address a locked invitation in the cart must register with ("" if none)."""
    for line in quote.lines:
        if line.held_by_invitation and line.held_by.lock_to_email:
            return line.held_by.email
    return ""


def _signed_in_proofs(request, quote) -> frozenset[int]:
    return frozenset(
        line.held_by.pk
        for line in quote.lines
        if isinstance(line.held_by, SessionInvitation)
        and invitations.proves_address(invitation=line.held_by, user=request.user)
    )


@public
def order_page(request, order_reference):
    order = selectors.order_by_reference(tenant=request.tenant, reference=order_reference)
    registrations = order.registrations.select_related("session")
    return render(request, "sessions_roster/public/order.html", {"order": order, "registrations": registrations})


def _closed(request, message: str, *, title: str, status: int = 410):
    """A link that cannot be used: 410 Gone for a real one that is closed, 404 for one we do not know."""
    context = {"message": message, "title": title}
    return render(request, "sessions_roster/public/link_closed.html", context, status=status)


@public
@rate_limits.links
def invitation_link(request, invite_token):
    token = invite_token
    try:
        invitation = invitations.invitation_open(tenant=request.tenant, token=token)
    except invitations.InvitationClosed as exc:
        return _closed(request, str(exc), title=_("Invitation not available"), status=exc.status)
    if invitation.lock_to_email and not (
        invitation.pk in cart.proven(request) or invitations.proves_address(invitation=invitation, user=request.user)
    ):
        return redirect(tenant_reverse(request.tenant, "register:invitation_verify", invite_token=token))
    cart.add(request, CartLine(invitation.session_id, invitation_id=invitation.pk))
    if invitation.discount_code:  # the discount the invitee was promised wins over anything typed before
        cart.set_discount(request, invitation.discount_code.code)
    messages.success(request, _(INVITATION_IN_CART).format(title=invitation.session.title))
    return redirect(_cart_url(request))


def masked(email: str) -> str:
    name, _, domain = email.partition("@")
    return f"{name[:1]}{'•' * max(len(name) - 1, 2)}@{domain}"


@public
@rate_limits.links
def invitation_verify(request, invite_token):
    token = invite_token
    tenant = request.tenant
    try:
        invitation = invitations.invitation_open(tenant=tenant, token=token)
    except invitations.InvitationClosed as exc:
        return _closed(request, str(exc), title=_("Invitation not available"), status=exc.status)
    link = tenant_reverse(tenant, "register:invitation", invite_token=token)
    if not invitation.lock_to_email:
        return redirect(link)
    checking = request.method == "POST" and request.POST.get("action") == "check"
    form = ProofForm(request.POST if checking else None)
    if request.method == "POST" and not checking:
        try:
            invitations.proof_send(tenant=tenant, invitation=invitation)
        except ValidationError as exc:
            messages.error(request, exc.messages[0])
        else:
            messages.success(request, _(PROOF_SENT).format(masked=masked(invitation.email)))
        return redirect(request.path)
    if checking and form.is_valid():
        try:
            invitations.proof_check(tenant=tenant, invitation=invitation, typed=form.cleaned_data["code"])
        except ValidationError as exc:
            rate_limits.failed(request)  # a wrong emailed code counts like a wrong link
            form.add_error("code", exc)
        else:
            cart.prove(request, invitation.pk)
            messages.success(request, _(PROVED))
            return redirect(link)
    login = f"{reverse('accounts:login')}?{urlencode({'next': link})}"
    return render(
        request,
        "sessions_roster/public/verify.html",
        {"invitation": invitation, "masked": masked(invitation.email), "form": form, "login_url": login},
    )


@public
@rate_limits.links
def offer_link(request, offer_token):
    token = offer_token
    entry = waitlist.offer_for_token(tenant=request.tenant, token=token)
    if entry is None:
        return _closed(request, _(OFFER_UNKNOWN), title=_("Offer not available"), status=404)
    if entry.status == WaitlistStatus.OFFERED and waitlist.offer_lapse(tenant=request.tenant, entry_id=entry.pk):
        entry.refresh_from_db()
    if entry.status != WaitlistStatus.OFFERED:
        return _closed(request, _(OFFER_CLOSED[entry.status]), title=_("Offer not available"))
    cart.add(request, CartLine(entry.session_id, entry_id=entry.pk))
    until = dateformat.format(entry.offer_expires_at.astimezone(request.tenant.zone), "j F, H:i")
    messages.success(request, _(OFFER_IN_CART).format(title=entry.session.title, until=until))
    return redirect(_cart_url(request))
