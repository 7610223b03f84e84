from django.urls import path

from . import views

app_name = "messaging"

urlpatterns = [
    path("outbox/", views.outbox, name="outbox"),
    path("outbox/<int:email_id>/", views.outbox_detail, name="outbox_detail"),
    path("outbox/<int:email_id>/resend/", views.outbox_resend, name="outbox_resend"),
    path("settings/emails/", views.template_list, name="template_list"),
    path("settings/emails/<str:key>/", views.template_edit, name="template_edit"),
    path("settings/emails/<str:key>/reset/", views.template_reset, name="template_reset"),
]
