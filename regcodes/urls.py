from django.urls import path

from . import views

app_name = "courses"

urlpatterns = [
    path("", views.product_list, name="products"),
    path("new/", views.product_create, name="product_create"),
    path("<int:product_id>/edit/", views.product_edit, name="product_edit"),
    path("<int:product_id>/sessions/new/", views.session_create, name="session_create"),
    path("<int:product_id>/sessions/<int:product_session_id>/edit/", views.session_edit, name="session_edit"),
    path("orders/", views.order_list, name="orders"),
    path("orders/new/", views.order_create, name="order_create"),
    path("orders/<int:order_id>/paid/", views.order_mark_paid, name="order_paid"),
    path("customers/<int:client_id>/learners/", views.client_code_users, name="client_code_users"),
    path("learners/<int:learner_id>/access/", views.learner_access, name="learner_access"),
    path("access/<int:access_id>/edit/", views.access_edit, name="access_edit"),
    path("access/<int:access_id>/remove/", views.access_remove, name="access_remove"),
]
