from django.urls import path

from . import views_dashboard as views

app_name = "api_keys"

urlpatterns = [
    path("", views.key_list, name="list"),
    path("new/", views.key_create, name="create"),
    path("<int:api_key_id>/created/", views.key_created, name="created"),
    path("<int:api_key_id>/revoke/", views.key_revoke, name="revoke"),
]
