from django.urls import path

from . import views

app_name = "analytics"

urlpatterns = [
    path("", views.table, {"dimension": "contracts"}, name="contracts"),
    path("contracts/download/", views.table_csv, {"dimension": "contracts"}, name="contracts_csv"),
    path("contracts/<int:contract_id>/", views.detail, {"dimension": "contracts"}, name="contract"),
    path("contracts/<int:contract_id>/download/", views.detail_csv, {"dimension": "contracts"}, name="contract_csv"),
    path("campaigns/", views.table, {"dimension": "campaigns"}, name="campaigns"),
    path("campaigns/download/", views.table_csv, {"dimension": "campaigns"}, name="campaigns_csv"),
    # The tag is free text, so it travels in the query string (?tag=…; empty: codes with no campaign).
    path("campaigns/tag/", views.detail, {"dimension": "campaigns"}, name="campaign"),
    path("campaigns/tag/download/", views.detail_csv, {"dimension": "campaigns"}, name="campaign_csv"),
    path("sessions/", views.table, {"dimension": "sessions"}, name="sessions"),
    path("sessions/download/", views.table_csv, {"dimension": "sessions"}, name="sessions_csv"),
    path("sessions/<int:session_id>/", views.detail, {"dimension": "sessions"}, name="session"),
    path("sessions/<int:session_id>/download/", views.detail_csv, {"dimension": "sessions"}, name="session_csv"),
    path("products/", views.table, {"dimension": "products"}, name="products"),
    path("products/download/", views.table_csv, {"dimension": "products"}, name="products_csv"),
    path("products/<int:product_id>/", views.detail, {"dimension": "products"}, name="product"),
    path("products/<int:product_id>/download/", views.detail_csv, {"dimension": "products"}, name="product_csv"),
]
