"""The product's URLs plus one constant page, the floor a request through Django can reach."""

from django.http import HttpResponse
from django.urls import path

from config.urls import urlpatterns as product_urlpatterns

CONSTANT = b"<!doctype html><title>constant</title><p>A constant page.</p>"


def constant_page(request):
    return HttpResponse(CONSTANT)


urlpatterns = [path("bench/constant/", constant_page), *product_urlpatterns]
