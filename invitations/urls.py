from django.urls import path

from . import views

app_name = "invitations"

urlpatterns = [
    path("<int:contract_id>/codes/", views.codes, name="codes"),
    path("<int:contract_id>/codes/generate/", views.code_generate, name="generate"),
    path("<int:contract_id>/codes/download/", views.codes_download, name="download"),
    path("<int:contract_id>/codes/send/", views.codes_send, name="send"),
    path("<int:contract_id>/codes/batches/<int:batch_id>/", views.batch_detail, name="batch"),
    path("<int:contract_id>/codes/<int:code_id>/", views.code_detail, name="code"),
    path("<int:contract_id>/codes/<int:code_id>/edit/", views.code_edit, name="code_edit"),
    path("<int:contract_id>/codes/<int:code_id>/void/", views.code_void, name="code_void"),
    path("<int:contract_id>/codes/<int:code_id>/delete/", views.code_delete, name="code_delete"),
    path("<int:contract_id>/codes/<int:code_id>/resend/", views.code_resend, name="code_resend"),
    path("<int:contract_id>/participants/<int:participant_id>/code/", views.participant_code, name="participant_code"),
    path("<int:contract_id>/bookings/", views.bookings, name="bookings"),
]
