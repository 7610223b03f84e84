from django.urls import path

from . import views

app_name = "sessions"

urlpatterns = [
    path("", views.session_list, name="list"),
    path("new/", views.session_create, name="create"),
    path("<int:session_id>/", views.roster, name="roster"),
    path("<int:session_id>/edit/", views.session_edit, name="edit"),
    path("<int:session_id>/delete/", views.session_delete, name="delete"),
    path("<int:session_id>/waitlist/", views.waitlist_tab, name="waitlist"),
    path("<int:session_id>/invite/", views.invite, name="invite"),
    path("<int:session_id>/invitations/<int:invite_id>/resend/", views.invitation_resend, name="invitation_resend"),
    path("<int:session_id>/invitations/<int:invite_id>/cancel/", views.invitation_cancel, name="invitation_cancel"),
    path(
        "<int:session_id>/registrations/<int:registration_id>/paid/",
        views.registration_paid,
        name="registration_paid",
    ),
    path(
        "<int:session_id>/registrations/<int:registration_id>/cancel/",
        views.registration_cancel,
        name="registration_cancel",
    ),
    path("<int:session_id>/waitlist/<int:entry_id>/remove/", views.waitlist_remove, name="waitlist_remove"),
    path("discounts/", views.discount_list, name="discounts"),
    path("discounts/new/", views.discount_create, name="discount_create"),
    path("discounts/<int:discount_id>/edit/", views.discount_edit, name="discount_edit"),
]
