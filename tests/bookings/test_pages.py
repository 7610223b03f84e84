"""Services, their weekly times, the calendar and a booking, through the staff pages."""

from datetime import time, timedelta

import pytest
from django.urls import reverse

from bookings.forms import AVAILABILITY_TOO_SHORT
from bookings.models import Service, WeeklyAvailability
from bookings.services import SERVICE_NAME_TAKEN

from ..factories import BookingFactory, ServiceFactory, SlotFactory

pytestmark = pytest.mark.django_db


def url(tenant, name, **kwargs):
    return reverse(f"bookings:{name}", kwargs={"tenant_slug": tenant.slug, **kwargs})


def service_data(**overrides):
    return {
        "name": "Massage",
        "description": "",
        "duration_minutes": 45,
        "price": "50.00",
        "is_active": "on",
        **overrides,
    }


def test_admins_add_services_and_names_are_unique(admin_http, tenant):
    response = admin_http.post(url(tenant, "service_create"), service_data())
    service = Service.objects.get(tenant=tenant)
    assert response.url == url(tenant, "service_detail", service_id=service.pk)
    again = admin_http.post(url(tenant, "service_create"), service_data(name="massage"))
    assert SERVICE_NAME_TAKEN in again.content.decode()
    assert Service.objects.filter(tenant=tenant).count() == 1


def test_staff_see_services_but_cannot_change_them(staff_http, tenant):
    service = ServiceFactory(tenant=tenant)
    assert staff_http.get(url(tenant, "service_list")).status_code == 200
    assert staff_http.get(url(tenant, "service_create")).status_code == 403
    assert staff_http.get(url(tenant, "service_edit", service_id=service.pk)).status_code == 403
    staff_http.post(
        url(tenant, "service_detail", service_id=service.pk),
        {"weekday": 0, "start_time": "09:00", "end_time": "12:00", "slot_capacity": 2},
    )
    assert not WeeklyAvailability.objects.exists()


def test_weekly_times_are_added_and_checked(admin_http, tenant):
    service = ServiceFactory(tenant=tenant, duration_minutes=60)
    detail = url(tenant, "service_detail", service_id=service.pk)
    short = admin_http.post(detail, {"weekday": 2, "start_time": "09:00", "end_time": "09:30", "slot_capacity": 2})
    assert AVAILABILITY_TOO_SHORT.format(minutes=60) in short.content.decode()
    backwards = admin_http.post(detail, {"weekday": 2, "start_time": "12:00", "end_time": "09:00", "slot_capacity": 2})
    assert backwards.status_code == 200 and not WeeklyAvailability.objects.exists()
    admin_http.post(detail, {"weekday": 2, "start_time": "09:00", "end_time": "12:00", "slot_capacity": 4})
    row = WeeklyAvailability.objects.get(service=service)
    assert (row.weekday, row.start_time, row.end_time, row.slot_capacity) == (2, time(9), time(12), 4)
    page = admin_http.get(url(tenant, "service_list")).content.decode()
    assert "Wednesday 09:00–12:00" in page


def test_removing_times_asks_first(admin_http, tenant):
    service = ServiceFactory(tenant=tenant)
    row = WeeklyAvailability.objects.create(
        tenant=tenant, service=service, weekday=1, start_time=time(9), end_time=time(10), slot_capacity=1
    )
    remove = url(tenant, "availability_delete", service_id=service.pk, availability_id=row.pk)
    assert b"Stop offering" in admin_http.get(remove).content
    assert WeeklyAvailability.objects.filter(pk=row.pk).exists()
    admin_http.post(remove)
    assert not WeeklyAvailability.objects.filter(pk=row.pk).exists()


def test_the_calendar_shows_the_weeks_bookings_in_local_time(staff_http, tenant):
    slot = SlotFactory(tenant=tenant)
    booking = BookingFactory(tenant=tenant, slot=slot, service=slot.service, first_name="Zoe", last_name="Calendar")
    local = slot.starts_at.astimezone(tenant.zone)
    week = local.date().isoformat()
    page = staff_http.get(url(tenant, "calendar"), {"week": week}).content.decode()
    assert "Zoe Calendar" in page and local.strftime("%H:%M") in page
    assert url(tenant, "booking_detail", booking_id=booking.pk) in page
    later = (local.date() + timedelta(days=14)).isoformat()
    assert "Zoe Calendar" not in staff_http.get(url(tenant, "calendar"), {"week": later}).content.decode()
    other = ServiceFactory(tenant=tenant)
    filtered = staff_http.get(url(tenant, "calendar"), {"week": week, "service": other.pk}).content.decode()
    assert "Zoe Calendar" not in filtered


def test_a_booking_is_cancelled_after_a_confirmation(staff_http, tenant):
    booking = BookingFactory(tenant=tenant)
    cancel = url(tenant, "booking_cancel", booking_id=booking.pk)
    assert b"Cancel the booking of" in staff_http.get(cancel).content
    booking.refresh_from_db()
    assert booking.status == "confirmed"
    page = staff_http.post(cancel, follow=True).content.decode()
    assert "Booking cancelled" in page
    booking.refresh_from_db()
    assert booking.status == "cancelled"
    again = staff_http.post(cancel, follow=True).content.decode()
    assert "already cancelled" in again
