from django.urls import path

from . import public

app_name = "seats"

urlpatterns = [
    path("invite/<str:seat_token>/", public.accept, name="accept"),
]
