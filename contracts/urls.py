from django.urls import path

from . import views

app_name = "contracts"

urlpatterns = [
    path("", views.organisation_list, name="organisations"),
    path("organisations/new/", views.organisation_create, name="organisation_create"),
    path("organisations/<int:organisation_id>/", views.organisation_detail, name="organisation"),
    path("organisations/<int:organisation_id>/edit/", views.organisation_edit, name="organisation_edit"),
    path("organisations/<int:organisation_id>/contracts/new/", views.contract_create, name="contract_create"),
    path("<int:contract_id>/", views.contract_detail, name="contract"),
    path("<int:contract_id>/edit/", views.contract_edit, name="contract_edit"),
    path("<int:contract_id>/prices/", views.prices, name="prices"),
    path("<int:contract_id>/prices/new/", views.price_create, name="price_create"),
    path("<int:contract_id>/prices/<int:price_id>/edit/", views.price_edit, name="price_edit"),
    path("<int:contract_id>/prices/<int:price_id>/delete/", views.price_delete, name="price_delete"),
    path("<int:contract_id>/participants/", views.participants, name="participants"),
    path("<int:contract_id>/participants/new/", views.participant_create, name="participant_create"),
    path("<int:contract_id>/participants/<int:participant_id>/edit/", views.participant_edit, name="participant_edit"),
    path("<int:contract_id>/participants/download/", views.participants_download, name="participants_download"),
    path("<int:contract_id>/participants/upload/", views.participants_upload, name="participants_upload"),
    path("<int:contract_id>/history/", views.history, name="history"),
]
