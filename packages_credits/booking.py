"""Booking paid with a package credit: the client in My Account, or staff for a client on the
calendar's behalf. One page in two steps (service, then a time), the same for both."""

from datetime import datetime, timedelta

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils import dateformat, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop

from bookings.selectors import offered_slots
from bookings.services import BookingError
from tenancy.shortcuts import id_from

from . import selectors, services

DAYS_SHOWN = 14
BOOKED = gettext_noop("Booked: {service}, {when}. Paid with a credit of your package — no charge.")


class CreditBookingForm(forms.Form):
    starts_at = forms.ChoiceField(label=gettext_lazy("Time"))

    def __init__(self, *args, slots, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["starts_at"].choices = [
            (slot.starts_at.isoformat(), dateformat.format(slot.starts_at, "D j M, H:i")) for slot in slots
        ]


def _slots(tenant, service):
    first = timezone.localdate(timezone=tenant.zone)
    return [
        slot
        for slot in offered_slots(
            tenant=tenant, service=service, first_day=first, days=DAYS_SHOWN, not_before=timezone.now()
        )
        if slot.remaining > 0
    ]


def credit_booking_page(request, *, client, template: str, done_url: str, extra: dict):
    tenant = request.tenant
    covered = selectors.services_covered(tenant=tenant, client=client)
    service_id = request.GET.get("service", "")
    service = covered.filter(pk=id_from(service_id)).first() if id_from(service_id) else None
    context = {"client": client, "covered": covered, "service": service, **extra}
    if service is None:
        return render(request, template, context)
    slots = _slots(tenant, service)
    last_day = services.last_usable_day(tenant=tenant, client=client, service=service)
    if last_day is not None:  # only times a credit can still pay for
        slots = [slot for slot in slots if timezone.localtime(slot.starts_at, tenant.zone).date() <= last_day] or slots
    form = CreditBookingForm(request.POST or None, slots=slots)
    first = slots[0].starts_at if slots else timezone.now() + timedelta(days=1)
    context.update(
        form=form,
        credit=services.credit_available(tenant=tenant, client=client, service=service, starts_at=first),
        why=services.why_no_credit(tenant=tenant, client=client, service=service, starts_at=first),
    )
    if request.method == "POST" and form.is_valid():
        starts_at = datetime.fromisoformat(form.cleaned_data["starts_at"])
        try:
            booking = services.booking_with_credit(tenant=tenant, client=client, service=service, starts_at=starts_at)
        except (ValidationError, BookingError) as exc:
            message = exc.messages[0] if isinstance(exc, ValidationError) else str(exc)
            why = services.why_no_credit(tenant=tenant, client=client, service=service, starts_at=starts_at)
            form.add_error(None, f"{message} {why}".strip())
        else:
            when = dateformat.format(timezone.localtime(booking.starts_at, tenant.zone), "l j F, H:i")
            messages.success(request, _(BOOKED).format(service=service.name, when=when))
            return redirect(done_url)
    return render(request, template, context)
