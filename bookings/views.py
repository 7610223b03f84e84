"""Staff pages of bookings: services and their weekly times, the calendar, a booking."""

from datetime import timedelta

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from tenancy.decorators import staff_required
from tenancy.models import Role
from tenancy.shortcuts import confirm_page, submit
from tenancy.urlresolvers import tenant_reverse

from . import services
from .forms import AvailabilityForm, CalendarFilterForm, ServiceForm
from .models import BookingStatus, Weekday
from .selectors import (
    availability_for,
    availability_get,
    booking_get,
    bookings_between,
    local_midnight,
    service_get,
    services_for_tenant,
    week_start,
)


@staff_required()
def service_list(request):
    rows = services_for_tenant(tenant=request.tenant).prefetch_related("availability")
    return render(request, "bookings/service_list.html", {"services": rows})


@staff_required(Role.ADMIN)
def service_create(request):
    return _service_form(request, None)


@staff_required(Role.ADMIN)
def service_edit(request, service_id):
    return _service_form(request, service_get(tenant=request.tenant, service_id=service_id))


def _service_form(request, service):
    form = ServiceForm(request.POST or None, instance=service)
    done = submit(
        request,
        form,
        lambda **data: services.service_save(tenant=request.tenant, service=service, **data),
        message=lambda saved: f"Service “{saved.name}” saved.",
        then=lambda saved: tenant_reverse(request.tenant, "bookings:service_detail", service_id=saved.pk),
    )
    return done or render(request, "bookings/service_form.html", {"form": form, "service": service})


@staff_required()
def service_detail(request, service_id):
    service = service_get(tenant=request.tenant, service_id=service_id)
    form = AvailabilityForm(service=service)
    if request.method == "POST":
        if not request.membership.has_role(Role.ADMIN):
            messages.error(request, _("Only admins and owners change the times of a service."))
            return redirect(request.path)
        form = AvailabilityForm(request.POST, service=service)
        if form.is_valid():
            services.availability_add(tenant=request.tenant, service=service, **form.cleaned_data)
            messages.success(request, _("Times added."))
            return redirect(request.path)
    return render(
        request,
        "bookings/service_detail.html",
        {"service": service, "availability": availability_for(tenant=request.tenant, service=service), "form": form},
    )


@staff_required(Role.ADMIN)
def availability_delete(request, service_id, availability_id):
    service = service_get(tenant=request.tenant, service_id=service_id)
    row = availability_get(tenant=request.tenant, service=service, availability_id=availability_id)
    back = tenant_reverse(request.tenant, "bookings:service_detail", service_id=service.pk)
    if request.method == "POST":
        services.availability_delete(tenant=request.tenant, availability=row)
        messages.success(request, _("{row} removed. Bookings already made stay.").format(row=row))
        return redirect(back)
    return confirm_page(
        request,
        title=_("Remove times"),
        question=_("Stop offering {name} on {row}?").format(name=service.name, row=row),
        consequence="These times disappear from the booking page. Bookings already made stay as they are.",
        confirm_label=_("Remove times"),
        cancel_url=back,
    )


@staff_required()
def calendar(request):
    tenant = request.tenant
    filters = CalendarFilterForm(request.GET, services=services_for_tenant(tenant=tenant))
    filters.is_valid()
    today = timezone.localdate(timezone=tenant.zone)
    first_day = week_start(filters.cleaned_data.get("week") or today)
    service = filters.cleaned_data.get("service")
    start = local_midnight(first_day, tenant.zone)
    end = local_midnight(first_day + timedelta(days=7), tenant.zone)
    bookings = list(bookings_between(tenant=tenant, start=start, end=end, service=service))
    days = []
    for offset in range(7):
        day = first_day + timedelta(days=offset)
        days.append(
            {
                "date": day,
                "name": Weekday(day.weekday()).label,
                "is_today": day == today,
                "bookings": [b for b in bookings if timezone.localtime(b.starts_at, tenant.zone).date() == day],
            }
        )
    return render(
        request,
        "bookings/calendar.html",
        {
            "filters": filters,
            "days": days,
            "first_day": first_day,
            "previous_week": first_day - timedelta(days=7),
            "next_week": first_day + timedelta(days=7),
            "service": service,
            "confirmed_count": sum(b.status == BookingStatus.CONFIRMED for b in bookings),
        },
    )


@staff_required()
def booking_detail(request, booking_id):
    booking = booking_get(tenant=request.tenant, booking_id=booking_id)
    extras = [
        {"label": label, "value": value}
        for extra in services.detail_extras
        for label, value in extra(tenant=request.tenant, booking=booking)
    ]
    return render(request, "bookings/booking_detail.html", {"booking": booking, "booking_extras": extras})


@staff_required()
def booking_cancel(request, booking_id):
    booking = booking_get(tenant=request.tenant, booking_id=booking_id)
    back = tenant_reverse(request.tenant, "bookings:booking_detail", booking_id=booking.pk)
    if request.method == "POST":
        try:
            services.booking_cancel(tenant=request.tenant, booking=booking, actor=request.user)
        except ValidationError as exc:
            messages.error(request, exc.messages[0])
        else:
            messages.success(request, _("Booking cancelled. The place is free again."))
        return redirect(back)
    return confirm_page(
        request,
        title=_("Cancel booking"),
        question=_("Cancel the booking of {full_name}?").format(full_name=booking.full_name),
        consequence="The place becomes free for someone else; a code used for it can be used again.",
        confirm_label=_("Cancel booking"),
        cancel_url=back,
    )
