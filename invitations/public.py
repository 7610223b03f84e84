"""The public booking page: enter a code, pick a time, give your details, book.

The steps keep their state in the session (the code's id and the chosen time, per tenant) and
check the code again at every step; the last step redeems it and books in one transaction.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, ngettext

from bookings.selectors import OfferedSlot, booking_by_reference
from bookings.services import BookingDetails, BookingError
from tenancy.decorators import public
from tenancy.urlresolvers import tenant_reverse

from . import ratelimit, services
from .forms import CodeEntryForm, DetailsForm
from .models import InvitationCode
from .selectors import code_booking_days, code_prefill, code_time_offered, code_times

DAYS_SHOWN = 14
STEP_EXPIRED = gettext_noop("Please enter your code again: that step was not reachable directly or has expired.")
PICK_A_TIME = gettext_noop("Please pick one of the times shown.")


def _state_key(tenant) -> str:
    return f"book:{tenant.pk}"


def _state(request) -> dict:
    return request.session.get(_state_key(request.tenant)) or {}


def _save_state(request, **values) -> None:
    request.session[_state_key(request.tenant)] = {**_state(request), **values}


# What every step reads with the code (checking it needs its contract and service); a page shows
# the organisation too, the details page the participant. Fewer joins: a cheaper query to build and plan.
CHECKED_WITH = ("price__service", "contract")
SHOWN_WITH = (*CHECKED_WITH, "contract__organisation")


def _code_in_progress(request, related: tuple[str, ...] = CHECKED_WITH) -> InvitationCode | None:
    """The code chosen in step 1, checked again; None (with a message) if it cannot be used now."""
    code_id = _state(request).get("code")
    code = (
        InvitationCode.objects.filter(tenant=request.tenant, pk=code_id).select_related(*related).first()
        if code_id
        else None
    )
    if code is None:
        messages.error(request, _(STEP_EXPIRED))
        return None
    try:
        services.refuse_unusable(tenant=request.tenant, code=code)
    except services.CodeRefused as exc:
        messages.error(request, str(exc))
        return None
    return code


def _start_over(request):
    return redirect(tenant_reverse(request.tenant, "book:start"))


@public
def start(request):
    tenant = request.tenant
    form = CodeEntryForm(request.POST or None, initial={"code": request.GET.get("code", "")[:64]})
    if request.method == "POST" and form.is_valid():
        address = ratelimit.client_address(request)
        minutes = ratelimit.attempt(tenant, address)
        if minutes:
            form.add_error("code", services.too_many_attempts(minutes))
        else:
            try:
                code = services.code_check(tenant=tenant, typed=form.cleaned_data["code"])
            except services.CodeRefused as exc:
                # Every refusal counts, so the page cannot be used to find out which codes exist.
                form.add_error("code", str(exc))
            else:
                ratelimit.forgive(tenant, address)
                request.session[_state_key(tenant)] = {"code": code.pk}
                return redirect(tenant_reverse(tenant, "book:times"))
    return render(request, "invitations/public/start.html", {"form": form, "step": 1})


def _window(request, code: InvitationCode) -> tuple:
    """The days to show: from today (or the contract's start, or ``?from=``), two weeks at a time."""
    try:
        asked = datetime.strptime(request.GET.get("from", ""), "%Y-%m-%d").date()
    except ValueError:
        asked = None
    return code_booking_days(tenant=request.tenant, code=code, asked=asked)


@dataclass(frozen=True)
class TimeShown:
    """One button of the times page, its text made once here rather than by template filters."""

    value: str  # the start, ISO 8601 in the tenant's time zone: what the button sends back
    label: str  # 10:00
    remaining: int
    places: str  # 3 places left


def _shown(slot: OfferedSlot) -> TimeShown:
    left = slot.remaining
    return TimeShown(
        slot.starts_at.isoformat(),
        f"{slot.starts_at:%H:%M}",
        left,
        ngettext("{count} place left", "{count} places left", left).format(count=left),
    )


@public
def times(request):
    code = _code_in_progress(request, CHECKED_WITH if request.method == "POST" else SHOWN_WITH)
    if code is None:
        return _start_over(request)
    tenant, service = request.tenant, code.price.service
    first, last = _window(request, code)
    days = max(0, min(DAYS_SHOWN, (last - first).days + 1))
    if request.method == "POST":
        chosen = request.POST.get("starts_at", "")
        offer = code_time_offered(tenant=tenant, service=service, code=code, first=first, days=days, chosen=chosen)
        if offer is not None and offer.remaining > 0:
            _save_state(request, starts_at=chosen)
            return redirect(tenant_reverse(tenant, "book:details"))
        messages.error(request, _(PICK_A_TIME))
    by_day: dict = {}
    # Already in the tenant's time zone.
    for slot in code_times(tenant=tenant, service=service, code=code, first=first, days=days):
        by_day.setdefault(slot.starts_at.date(), []).append(_shown(slot))
    later = first + timedelta(days=DAYS_SHOWN)
    return render(
        request,
        "invitations/public/times.html",
        {
            "code": code,
            "service": service,
            "price": code.price,
            "by_day": sorted(by_day.items()),
            "step": 2,
            "earlier": first - timedelta(days=DAYS_SHOWN) if first > timezone.localdate(timezone=tenant.zone) else None,
            "later": later if later <= last else None,
        },
    )


@public
def details(request):
    posted = request.method == "POST"
    code = _code_in_progress(request, CHECKED_WITH if posted else (*SHOWN_WITH, "participant"))
    if code is None:
        return _start_over(request)
    tenant = request.tenant
    try:
        starts_at = datetime.fromisoformat(_state(request)["starts_at"])
    except (KeyError, ValueError):
        messages.error(request, _(PICK_A_TIME))
        return redirect(tenant_reverse(tenant, "book:times"))
    form = DetailsForm(request.POST) if posted else DetailsForm(initial=code_prefill(code))
    if posted and form.is_valid():
        try:
            booking = services.code_redeem_and_book(
                tenant=tenant,
                code=code,
                service=code.price.service,
                starts_at=starts_at,
                details=BookingDetails(**form.cleaned_data),
            )
        except services.CodeRefused as exc:
            if str(exc).startswith(_(services.CODE_WRONG_DOMAIN).split("{")[0]):
                form.add_error("email", str(exc))
            elif str(exc) == _(services.ALREADY_BOOKED):
                request.session.pop(_state_key(tenant), None)
                messages.info(request, str(exc))
                return _start_over(request)
            else:
                messages.error(request, str(exc))
                return _start_over(request)
        except BookingError as exc:
            messages.error(request, str(exc))
            return redirect(tenant_reverse(tenant, "book:times"))
        else:
            request.session.pop(_state_key(tenant), None)
            return redirect(tenant_reverse(tenant, "book:done", reference=booking.reference))
    return render(
        request,
        "invitations/public/details.html",
        {
            "code": code,
            "service": code.price.service,
            "price": code.price,
            "starts_at": starts_at,
            "form": form,
            "prefilled": code.participant_id is not None,
            "step": 3,
        },
    )


@public
def done(request, reference):
    booking = booking_by_reference(tenant=request.tenant, reference=reference)
    return render(request, "invitations/public/done.html", {"booking": booking})
