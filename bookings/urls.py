from django.urls import path

from . import views

app_name = "bookings"

urlpatterns = [
    path("services/", views.service_list, name="service_list"),
    path("services/new/", views.service_create, name="service_create"),
    path("services/<int:service_id>/", views.service_detail, name="service_detail"),
    path("services/<int:service_id>/edit/", views.service_edit, name="service_edit"),
    path(
        "services/<int:service_id>/times/<int:availability_id>/delete/",
        views.availability_delete,
        name="availability_delete",
    ),
    path("calendar/", views.calendar, name="calendar"),
    path("bookings/<int:booking_id>/", views.booking_detail, name="booking_detail"),
    path("bookings/<int:booking_id>/cancel/", views.booking_cancel, name="booking_cancel"),
]
