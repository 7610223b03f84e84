from django.urls import path

from . import views

app_name = "privacy"

urlpatterns = [
    path("export/", views.export_page, name="export"),
    path("export/<int:export_id>/download/", views.export_download, name="export_download"),
    path("erase/", views.erase_page, name="erase"),
]
