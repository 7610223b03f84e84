"""``/api/``: the JSON API (v1), its OpenAPI schema and its browsable docs. Outside ``/t/<slug>/``:
the workspace is the API key's (api/authentication.py)."""

from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from . import views

app_name = "api"

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"),
    path("v1/contracts/", views.ContractList.as_view(), name="contracts"),
    path("v1/contracts/<int:contract_id>/codes/", views.ContractCodes.as_view(), name="codes"),
    path("v1/contracts/<int:contract_id>/batches/<int:batch_id>/", views.BatchDetail.as_view(), name="batch"),
    path("v1/contracts/<int:contract_id>/participants/", views.ContractParticipants.as_view(), name="participants"),
    path("v1/contracts/<int:contract_id>/imports/", views.ContractImports.as_view(), name="contract_imports"),
    path("v1/codes/lookup/", views.CodeLookup.as_view(), name="code_lookup"),
    path("v1/codes/redeem/", views.CodeRedeem.as_view(), name="code_redeem"),
    path("v1/bookings/", views.BookingList.as_view(), name="bookings"),
    path("v1/sessions/", views.SessionList.as_view(), name="sessions"),
    path("v1/sessions/<int:session_id>/registrations/", views.SessionRegistrations.as_view(), name="registrations"),
    path("v1/learner-registrations/", views.LearnerRegistrationList.as_view(), name="learner_registrations"),
    path("v1/packages/", views.PackageList.as_view(), name="packages"),
    path("v1/imports/<int:job_id>/", views.ImportDetail.as_view(), name="import"),
    path("v1/imports/<int:job_id>/commit/", views.ImportCommit.as_view(), name="import_commit"),
]
