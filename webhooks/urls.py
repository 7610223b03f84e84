from django.urls import path

from . import views

app_name = "webhooks"

urlpatterns = [
    path("", views.endpoints, name="endpoints"),
    path("new/", views.endpoint_create, name="endpoint_create"),
    path("<int:endpoint_id>/", views.endpoint_detail, name="endpoint"),
    path("<int:endpoint_id>/edit/", views.endpoint_edit, name="endpoint_edit"),
    path("<int:endpoint_id>/delete/", views.endpoint_delete, name="endpoint_delete"),
    path("<int:endpoint_id>/pause/", views.endpoint_pause, name="endpoint_pause"),
    path("<int:endpoint_id>/resume/", views.endpoint_resume, name="endpoint_resume"),
    path("<int:endpoint_id>/rotate-secret/", views.endpoint_rotate, name="endpoint_rotate"),
    path("<int:endpoint_id>/test/", views.endpoint_test, name="endpoint_test"),
    path("deliveries/", views.deliveries, name="deliveries"),
    path("deliveries/<int:delivery_id>/", views.delivery_detail, name="delivery"),
    path("deliveries/<int:delivery_id>/replay/", views.delivery_replay, name="delivery_replay"),
]
