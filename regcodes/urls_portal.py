from django.urls import path

from . import views_portal as views

app_name = "seats_portal"

urlpatterns = [
    path("buy/", views.buy_seats, name="buy"),
    path("<int:order_id>/", views.order_detail, name="order"),
    path("<int:order_id>/learners/", views.learners_create, name="learners"),
    path("<int:order_id>/invitations/", views.invites_create, name="invites"),
    path("<int:order_id>/invitations/<int:seat_invite_id>/again/", views.invite_again, name="invite_again"),
    path("<int:order_id>/invitations/<int:seat_invite_id>/withdraw/", views.invite_withdraw, name="invite_withdraw"),
    path("<int:order_id>/invitations/<int:seat_invite_id>/assign/", views.invite_assign, name="invite_assign"),
    path("<int:order_id>/learners/<int:access_id>/remove/", views.access_remove, name="access_remove"),
    path("<int:order_id>/learners/<int:access_id>/resend/", views.access_resend, name="access_resend"),
    path("<int:order_id>/upload/", views.learners_upload, name="upload"),
    path("<int:order_id>/upload/<int:job_id>/", views.learners_import, name="import"),
    path("<int:order_id>/upload/<int:job_id>/complete/", views.learners_import_commit, name="import_commit"),
]
