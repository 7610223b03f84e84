"""Webhook addresses: an IPv6 address that carries a private IPv4 address (NAT64, 6to4, Teredo,
IPv4-compatible) reaches that private address through a gateway, so it is refused like the address
itself, at save time and at send time."""

import socket
from unittest import mock

import pytest

from webhooks.models import WebhookDelivery, WebhookEndpoint
from webhooks.services import address_public, delivery_attempt

from ..webhooks.factories import EndpointFactory

pytestmark = pytest.mark.django_db

BASE = "/t/acme/webhooks/"


@pytest.mark.parametrize(
    "address",
    [
        "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254 (cloud metadata)
        "64:ff9b::a00:5",  # NAT64 of 10.0.0.5
        "64:ff9b:1::7f00:1",  # local-use NAT64 of 127.0.0.1
        "2002:c0a8:1::1",  # 6to4 of 192.168.0.1
        "::7f00:1",  # IPv4-compatible 127.0.0.1
    ],
)
def test_ipv6_addresses_leading_to_private_ipv4_are_not_public(address):
    assert not address_public(address)


@pytest.mark.parametrize("address", ["64:ff9b::808:808", "2002:808:808::1", "2606:4700:4700::1111", "::ffff:8.8.8.8"])
def test_ipv6_addresses_leading_to_public_ipv4_stay_public(address):
    assert address_public(address)


def _resolving_to(address):
    def getaddrinfo(host, port, *args, **kwargs):
        return [(socket.AF_INET6, socket.SOCK_STREAM, 6, "", (address, port, 0, 0))]

    return mock.patch("webhooks.services.socket.getaddrinfo", getaddrinfo)


def test_a_host_resolving_to_nat64_metadata_is_refused_on_the_page(settings, owner_http):
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False
    with _resolving_to("64:ff9b::a9fe:a9fe"):
        response = owner_http.post(f"{BASE}new/", {"url": "https://crm.example.com/hooks", "events": ["code.redeemed"]})
    page = response.content.decode()
    assert "is a private or local address (64:ff9b::a9fe:a9fe)" in page
    assert not WebhookEndpoint.objects.exists()


def test_a_host_rebound_to_nat64_private_is_refused_at_send_time(settings, tenant):
    endpoint = EndpointFactory(tenant=tenant, url="https://crm.example.com/hooks")
    delivery = WebhookDelivery.objects.create(tenant=tenant, endpoint=endpoint, event="code.redeemed", payload={})
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False
    connect = mock.patch("webhooks.services.socket.create_connection", side_effect=AssertionError("connected"))
    with _resolving_to("64:ff9b::a00:5"), connect as connected:
        assert delivery_attempt(tenant=tenant, delivery_id=delivery.pk).outcome == "retry"
    assert not connected.called
    delivery.refresh_from_db()
    assert "is a private or local address (64:ff9b::a00:5)" in delivery.last_error
