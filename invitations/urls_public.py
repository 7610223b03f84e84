from django.urls import path

from . import public

app_name = "book"

urlpatterns = [
    path("", public.start, name="start"),
    path("times/", public.times, name="times"),
    path("details/", public.details, name="details"),
    path("done/<str:reference>/", public.done, name="done"),
]
