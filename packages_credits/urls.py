from django.urls import path

from . import views

app_name = "packages"

urlpatterns = [
    path("", views.package_list, name="list"),
    path("new/", views.package_create, name="create"),
    path("<int:package_id>/edit/", views.package_edit, name="edit"),
    path("book/", views.book_pick, name="book_pick"),
    path("clients/<int:client_id>/", views.client_payments, name="client"),
    path("clients/<int:client_id>/add/", views.client_package_add, name="add"),
    path("clients/<int:client_id>/book/", views.client_book, name="book"),
    path("clients/<int:client_id>/<int:client_package_id>/payment/", views.client_package_payment, name="payment"),
    path("clients/<int:client_id>/<int:client_package_id>/cancel/", views.client_package_cancel, name="cancel"),
]
