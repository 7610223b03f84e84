from django.urls import path

from . import views

app_name = "imports"

urlpatterns = [
    path("imports/", views.import_list, name="list"),
    path("imports/<int:job_id>/", views.import_detail, name="detail"),
    path("imports/<int:job_id>/commit/", views.import_commit, name="commit"),
    path("imports/<int:job_id>/file/", views.import_file, name="file"),
]
