"""The page that shows a webhook endpoint's signing secret (once) is not kept by the browser."""

import pytest

from webhooks.models import WebhookEndpoint

from ..webhooks.factories import EndpointFactory

pytestmark = pytest.mark.django_db

BASE = "/t/acme/webhooks/"


def test_the_page_showing_a_new_secret_is_not_cached_and_later_views_may_be(tenant, admin_http):
    response = admin_http.post(f"{BASE}new/", {"url": "https://93.184.215.14/hooks", "events": ["code.redeemed"]})
    endpoint = WebhookEndpoint.objects.get(tenant=tenant)
    shown = admin_http.get(response.url)
    assert endpoint.secret in shown.content.decode()
    assert shown["Cache-Control"] == "no-store"

    again = admin_http.get(response.url)
    assert endpoint.secret not in again.content.decode()
    assert "no-store" not in again.get("Cache-Control", "")


def test_the_page_showing_a_rotated_secret_is_not_cached(tenant, owner_http):
    endpoint = EndpointFactory(tenant=tenant)
    response = owner_http.post(f"{BASE}{endpoint.pk}/rotate-secret/")
    shown = owner_http.get(response.url)
    endpoint.refresh_from_db()
    assert endpoint.secret in shown.content.decode()
    assert shown["Cache-Control"] == "no-store"
