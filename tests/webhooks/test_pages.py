"""The webhook pages: endpoints (add, secret once, edit, pause, rotate, test, delete) and the delivery log."""

import re

import pytest
from django.contrib.messages import get_messages

from tenancy.events import _subscribers as subscribers
from tenancy.events import subscribe
from webhooks import services
from webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint

from .factories import DeliveryFactory, EndpointFactory

pytestmark = pytest.mark.django_db

BASE = "/t/acme/webhooks/"
EVENTS = ["code.redeemed", "booking.created"]


def secret_on(page: str) -> str | None:
    found = re.search(r'value="(whsec_[^"]+)"', page)
    return found.group(1) if found else None


@pytest.fixture
def published():
    """The webhook events published during the test (what the audit trail records)."""
    seen = []

    def record(event):
        if event.name.startswith("webhook"):
            seen.append(event)

    subscribe(record)
    yield seen
    subscribers.remove(record)


def test_the_list_starts_empty_and_offers_to_add_one(owner_http):
    page = owner_http.get(BASE).content.decode()
    assert "No webhook endpoints yet" in page and f'href="{BASE}new/"' in page


def test_staff_read_the_log_and_replay_but_only_owners_and_admins_manage_endpoints(
    tenant, staff_http, receiver, django_capture_on_commit_callbacks
):
    endpoint = EndpointFactory(tenant=tenant, url=receiver.url)
    original = DeliveryFactory(endpoint=endpoint, status=DeliveryStatus.FAILED, attempts=8)

    listing = staff_http.get(BASE).content.decode()
    assert endpoint.url in listing and f'href="{BASE}new/"' not in listing
    page = staff_http.get(f"{BASE}{endpoint.pk}/").content.decode()
    assert "Send a test event" in page and "Rotate secret" not in page and "Delete" not in page
    assert staff_http.get(f"{BASE}deliveries/").status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        assert staff_http.post(f"{BASE}deliveries/{original.pk}/replay/").status_code == 302
    assert WebhookDelivery.objects.filter(replay_of=original).exists()

    assert staff_http.post(f"{BASE}new/", {"url": "https://crm.example.com/", "events": EVENTS}).status_code == 403
    for action in ("edit", "delete", "rotate-secret", "pause"):
        assert staff_http.post(f"{BASE}{endpoint.pk}/{action}/").status_code == 403
    assert WebhookEndpoint.objects.get().url == receiver.url and WebhookEndpoint.objects.get().active


def test_adding_an_endpoint_shows_its_secret_once(tenant, admin_http, receiver, published):
    response = admin_http.post(
        f"{BASE}new/", {"url": receiver.url, "description": "Our CRM", "events": EVENTS}, follow=True
    )

    endpoint = WebhookEndpoint.objects.get(tenant=tenant)
    assert endpoint.url == receiver.url and endpoint.events == EVENTS and endpoint.active
    assert endpoint.created_by.email == "admin@acme.example"
    page = response.content.decode()
    assert response.redirect_chain[-1][0] == f"{BASE}{endpoint.pk}/"
    assert secret_on(page) == endpoint.secret and "it is not shown again" in page
    again = admin_http.get(f"{BASE}{endpoint.pk}/").content.decode()
    assert secret_on(again) is None and endpoint.secret not in again
    assert [event.name for event in published] == ["webhook_endpoint.created"]
    assert endpoint.secret not in repr(published[0].payload)


@pytest.mark.parametrize(
    "url, message",
    [
        ("", "This field is required."),
        ("crm.example.com/hooks", services.URL_INVALID),
        ("ftp://crm.example.com/hooks", services.URL_SCHEME),
        ("javascript:alert(1)", services.URL_SCHEME),
        ("https://user:pass@crm.example.com/hooks", services.URL_CREDENTIALS),
        ("https://crm.example.com:99999/hooks", services.URL_INVALID),
    ],
)
def test_a_bad_address_is_refused_with_a_message(owner_http, url, message):
    response = owner_http.post(f"{BASE}new/", {"url": url, "events": EVENTS})
    assert response.status_code == 200
    assert message in response.content.decode().replace("&#x27;", "'")
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.parametrize(
    "url, address",
    [
        ("http://127.0.0.1:8000/hooks", "127.0.0.1"),
        ("http://localhost/hooks", "127.0.0.1"),
        ("https://10.1.2.3/hooks", "10.1.2.3"),
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254"),
        ("http://[::1]/hooks", "::1"),
        ("http://[::ffff:192.168.0.1]/hooks", "::ffff:192.168.0.1"),
        ("http://0.0.0.0/hooks", "0.0.0.0"),
    ],
)
def test_private_addresses_are_refused_in_a_deployment(settings, owner_http, url, address):
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False
    response = owner_http.post(f"{BASE}new/", {"url": url, "events": EVENTS})
    page = response.content.decode()
    assert "is a private or local address" in page and f"({address})" in page
    assert not WebhookEndpoint.objects.exists()


def test_a_public_address_is_accepted_in_a_deployment(settings, tenant, owner_http):
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False
    response = owner_http.post(f"{BASE}new/", {"url": "https://93.184.215.14/hooks", "events": EVENTS})
    assert response.status_code == 302
    assert WebhookEndpoint.objects.get(tenant=tenant).url == "https://93.184.215.14/hooks"


@pytest.mark.parametrize(
    "events, message",
    [
        ([], "Choose at least one event."),
        (["code.redeemed", "webhook_endpoint.created"], "Choose events from the list."),
    ],
)
def test_events_must_be_chosen_from_the_list(owner_http, events, message):
    response = owner_http.post(f"{BASE}new/", {"url": "https://crm.example.com/", "events": events})
    assert message in response.content.decode()
    assert not WebhookEndpoint.objects.exists()


def test_the_add_form_lists_the_events_as_checkboxes(owner_http):
    page = owner_http.get(f"{BASE}new/").content.decode()
    for label in ("Code redeemed", "Booking made", "Learner registered", "Access removed", "Package used"):
        assert label in page
    assert page.count('type="checkbox" name="events"') == 5


def test_editing_an_endpoint(tenant, owner_http, published):
    endpoint = EndpointFactory(tenant=tenant, events=["code.redeemed"])
    response = owner_http.post(
        f"{BASE}{endpoint.pk}/edit/",
        {"url": "https://crm.example.com/new", "description": "New CRM", "events": ["package.used"]},
    )
    assert response.status_code == 302
    endpoint.refresh_from_db()
    assert (endpoint.url, endpoint.description, endpoint.events) == (
        "https://crm.example.com/new",
        "New CRM",
        ["package.used"],
    )
    [event] = published
    assert event.name == "webhook_endpoint.changed" and event.changes["events"] == [["code.redeemed"], ["package.used"]]


def test_deleting_asks_first(tenant, owner_http, published):
    endpoint = EndpointFactory(tenant=tenant)
    DeliveryFactory(endpoint=endpoint)

    confirm = owner_http.get(f"{BASE}{endpoint.pk}/delete/")
    assert confirm.status_code == 200 and "Delete endpoint" in confirm.content.decode()
    assert WebhookEndpoint.objects.filter(pk=endpoint.pk).exists()

    response = owner_http.post(f"{BASE}{endpoint.pk}/delete/")
    assert response.status_code == 302 and response.url == BASE
    assert not WebhookEndpoint.objects.filter(pk=endpoint.pk).exists()
    assert not WebhookDelivery.objects.exists()
    assert [event.name for event in published] == ["webhook_endpoint.deleted"]


def test_pausing_stops_new_events_and_resuming_starts_them_again(tenant, owner_http, published):
    endpoint = EndpointFactory(tenant=tenant)
    assert owner_http.get(f"{BASE}{endpoint.pk}/pause/").status_code == 405

    owner_http.post(f"{BASE}{endpoint.pk}/pause/")
    endpoint.refresh_from_db()
    assert not endpoint.active
    assert "Paused" in owner_http.get(BASE).content.decode()

    owner_http.post(f"{BASE}{endpoint.pk}/resume/")
    endpoint.refresh_from_db()
    assert endpoint.active
    assert [(e.name, e.changes) for e in published] == [
        ("webhook_endpoint.changed", {"active": [True, False]}),
        ("webhook_endpoint.changed", {"active": [False, True]}),
    ]


def test_rotating_the_secret_asks_first_then_shows_the_new_one_once(tenant, owner_http):
    endpoint = EndpointFactory(tenant=tenant)
    old = endpoint.secret

    confirm = owner_http.get(f"{BASE}{endpoint.pk}/rotate-secret/").content.decode()
    assert "Rotate secret" in confirm
    endpoint.refresh_from_db()
    assert endpoint.secret == old

    page = owner_http.post(f"{BASE}{endpoint.pk}/rotate-secret/", follow=True).content.decode()
    endpoint.refresh_from_db()
    assert endpoint.secret != old and secret_on(page) == endpoint.secret
    assert secret_on(owner_http.get(f"{BASE}{endpoint.pk}/").content.decode()) is None


def test_send_a_test_event(tenant, owner_http, receiver, django_capture_on_commit_callbacks):
    endpoint = EndpointFactory(tenant=tenant, url=receiver.url, events=["package.used"])

    with django_capture_on_commit_callbacks(execute=True):
        response = owner_http.post(f"{BASE}{endpoint.pk}/test/")

    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    assert response.url == f"{BASE}deliveries/{delivery.pk}/"
    assert delivery.event == "ping" and delivery.status == DeliveryStatus.SUCCEEDED
    [request] = receiver.requests
    assert request.headers["Tessera-Event"] == "ping" and request.signature_valid(endpoint.secret)
    page = owner_http.get(response.url).content.decode()
    assert "Succeeded" in page and "Tessera-Signature" in page and str(delivery.event_id) in page


def test_the_log_lists_newest_first_and_filters(tenant, other_tenant, owner_http):
    endpoint = EndpointFactory(tenant=tenant)
    old = DeliveryFactory(endpoint=endpoint, event="code.redeemed", status=DeliveryStatus.SUCCEEDED)
    new = DeliveryFactory(endpoint=endpoint, event="package.used", status=DeliveryStatus.FAILED)
    theirs = DeliveryFactory(tenant=other_tenant)

    def listed(query=""):
        page = owner_http.get(f"{BASE}deliveries/{query}").content.decode()
        return [int(pk) for pk in re.findall(r'href="/t/acme/webhooks/deliveries/(\d+)/"', page)]

    assert listed() == [new.pk, old.pk]
    assert theirs.pk not in listed()
    assert listed("?status=failed") == [new.pk]
    assert listed("?event=code.redeemed") == [old.pk]
    assert "No deliveries match these filters" in owner_http.get(f"{BASE}deliveries/?event=ping").content.decode()
    junk = owner_http.get(f"{BASE}deliveries/?status=nonsense").content.decode()
    assert "This filter was ignored." in junk


def test_the_log_pages_by_key(tenant, owner_http):
    endpoint = EndpointFactory(tenant=tenant)
    made = [DeliveryFactory(endpoint=endpoint).pk for _ in range(55)]
    first = owner_http.get(f"{BASE}{endpoint.pk}/").content.decode()
    pks = [int(pk) for pk in re.findall(r'href="/t/acme/webhooks/deliveries/(\d+)/"', first)]
    assert pks == sorted(made, reverse=True)[:50]
    next_query = re.search(r'href="(\?after=[^"]+)" rel="next"', first).group(1).replace("&amp;", "&")
    second = owner_http.get(f"{BASE}{endpoint.pk}/{next_query}").content.decode()
    rest = [int(pk) for pk in re.findall(r'href="/t/acme/webhooks/deliveries/(\d+)/"', second)]
    assert rest == sorted(made, reverse=True)[50:]


def test_the_empty_log_says_so(tenant, owner_http):
    endpoint = EndpointFactory(tenant=tenant)
    assert "No webhook deliveries yet" in owner_http.get(f"{BASE}deliveries/").content.decode()
    assert "Nothing sent to this endpoint yet" in owner_http.get(f"{BASE}{endpoint.pk}/").content.decode()


def test_replay_asks_first_then_sends_the_same_event_again(
    tenant, owner_http, receiver, published, django_capture_on_commit_callbacks
):
    endpoint = EndpointFactory(tenant=tenant, url=receiver.url)
    original = DeliveryFactory(endpoint=endpoint, status=DeliveryStatus.FAILED, attempts=8)

    confirm = owner_http.get(f"{BASE}deliveries/{original.pk}/replay/")
    assert "Replay" in confirm.content.decode() and WebhookDelivery.objects.count() == 1

    with django_capture_on_commit_callbacks(execute=True):
        response = owner_http.post(f"{BASE}deliveries/{original.pk}/replay/")

    copy = WebhookDelivery.objects.exclude(pk=original.pk).get()
    assert response.url == f"{BASE}deliveries/{copy.pk}/"
    assert copy.replay_of == original and copy.event_id == original.event_id
    assert copy.status == DeliveryStatus.SUCCEEDED and copy.attempts == 1
    [request] = receiver.requests
    assert request.headers["Tessera-Delivery"] == str(copy.pk)
    assert [event.name for event in published] == ["webhook_delivery.replayed"]
    page = owner_http.get(response.url).content.decode()
    assert f'href="{BASE}deliveries/{original.pk}/"' in page  # "Replay of"
    messages = [str(m) for m in get_messages(response.wsgi_request)]
    assert messages == [f"Event sent again as delivery #{copy.pk}, with the same event id."]


def test_another_tenants_endpoints_and_deliveries_are_not_found(tenant, other_tenant, owner_http):
    endpoint = EndpointFactory(tenant=other_tenant)
    delivery = DeliveryFactory(endpoint=endpoint)
    before = (endpoint.secret, endpoint.active)
    for path in ("", "edit/", "delete/", "pause/", "resume/", "rotate-secret/", "test/"):
        for method in ("get", "post"):
            status = getattr(owner_http, method)(f"{BASE}{endpoint.pk}/{path}").status_code
            assert status in (404, 405), (path, method, status)
    for path in ("", "replay/"):
        for method in ("get", "post"):
            assert getattr(owner_http, method)(f"{BASE}deliveries/{delivery.pk}/{path}").status_code == 404
    endpoint.refresh_from_db()
    assert (endpoint.secret, endpoint.active) == before
    assert WebhookDelivery.objects.filter(tenant=other_tenant).count() == 1
    assert not WebhookDelivery.objects.filter(tenant=tenant).exists()


def test_the_list_shows_each_endpoints_latest_delivery(tenant, owner_http):
    failing = EndpointFactory(tenant=tenant, url="https://failing.example.com/hooks")
    DeliveryFactory(tenant=tenant, endpoint=failing, status=DeliveryStatus.SUCCEEDED)
    DeliveryFactory(tenant=tenant, endpoint=failing, status=DeliveryStatus.FAILED)
    EndpointFactory(tenant=tenant, url="https://quiet.example.com/hooks", active=False)

    rows = owner_http.get(BASE).content.decode().split("<tr>")[2:]

    assert "failing.example.com" in rows[0] and "Failed" in rows[0] and "Succeeded" not in rows[0]
    assert "quiet.example.com" in rows[1] and "None yet" in rows[1] and "Paused" in rows[1]
