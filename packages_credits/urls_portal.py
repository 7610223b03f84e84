from django.urls import path

from . import views_portal

app_name = "packages_portal"

urlpatterns = [
    path("book/", views_portal.book, name="book"),
    path("buy/", views_portal.buy, name="buy"),
]
