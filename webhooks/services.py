"""Outgoing webhooks: endpoints, the deliveries an event makes, and sending them.

An event an endpoint asked for becomes a ``WebhookDelivery`` row in the transaction that published
the event (``deliveries_for_event``, a subscriber of ``tenancy.events``), so a committed change
always has its deliveries and a rolled-back one has none. Sending happens after commit, in a task:
one conditional UPDATE claims the attempt (``_claim``), the POST goes out with no transaction open,
and the result is written only while the claim is still this worker's. Failures are retried with
growing pauses up to ``WEBHOOK_MAX_ATTEMPTS``; the sweeper re-enqueues what a lost task or a dead
worker left behind. Requests go only to public addresses unless ``WEBHOOK_ALLOW_PRIVATE_ADDRESSES``,
checked when an endpoint is saved and again, on the address actually connected to, at every send.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import ipaddress
import json
import logging
import secrets
import socket
import threading
import uuid
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from tenancy.events import WEBHOOK_EVENTS, Event, publish
from tenancy.models import Tenant
from tenancy.scoping import isolated_scope, scopes_disabled
from tenancy.tasks import enqueue_on_commit

from .models import DeliveryStatus, WebhookDelivery, WebhookEndpoint

logger = logging.getLogger(__name__)

PING = "ping"
USER_AGENT = "Tessera-Webhooks/1"
ATTEMPT_TIMEOUT_FACTOR = 3  # an attempt takes at most this many times WEBHOOK_TIMEOUT_SECONDS in all
RESPONSE_KEPT = 2048  # characters of a receiver's answer kept for the delivery page
# Pauses after the 1st, 2nd, 3rd … failed attempt; the last one repeats.
RETRY_DELAYS = (60, 300, 1800, 7200, 21600, 43200, 86400)
SWEEP_GRACE = timedelta(seconds=60)  # a due delivery's own task gets this long before the sweeper steps in
EARLY_SLACK = timedelta(seconds=2)  # a retry task may run a moment before its time (clocks differ)

URL_INVALID = gettext_noop("Enter a full web address, e.g. https://crm.example.com/hooks/tessera.")
URL_SCHEME = gettext_noop("Use an address starting with https:// (or http://).")
URL_CREDENTIALS = gettext_noop(
    "Leave the user name and password out of the address: receivers check the signature instead."
)
URL_PRIVATE = gettext_noop("{host} is a private or local address ({address}); webhooks go only to public addresses.")
URL_UNRESOLVED = gettext_noop("No address was found for {host}; check the spelling.")
EVENTS_REQUIRED = gettext_noop("Choose at least one event.")
EVENTS_UNKNOWN = gettext_noop("Choose events from the list.")
NOT_PENDING = gettext_noop("This delivery is not waiting to be sent.")
SENDING_INTERRUPTED = gettext_noop(
    "The attempt was interrupted (the worker stopped) and was not retried: no attempts were left."
)
PING_MESSAGE = gettext_noop("A test event from Tessera. Your endpoint received it.")


class AddressRefused(Exception):
    """The endpoint's host resolves to an address webhooks may not reach."""


# Endpoints


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def url_problem(url: str) -> str | None:
    """Why ``url`` cannot be an endpoint, or None. Resolves the host unless private addresses are allowed."""
    url = (url or "").strip()
    try:
        URLValidator(schemes=["http", "https"])(url)
    except ValidationError:
        scheme = url.partition(":")[0].lower()
        return _(URL_SCHEME) if ":" in url and scheme not in ("http", "https") else _(URL_INVALID)
    parts = urlsplit(url)
    if parts.username is not None or parts.password is not None:
        return _(URL_CREDENTIALS)
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return _(URL_INVALID)
    if settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES:
        return None  # nothing to refuse: the host is resolved when a request goes out
    try:
        _addresses(parts.hostname, port)
    except AddressRefused as exc:
        return str(exc)
    return None


def _check_url(url: str) -> str:
    problem = url_problem(url)
    if problem:
        raise ValidationError({"url": problem})
    return url.strip()


def _check_events(events) -> list[str]:
    given = set(events or ())
    if given - set(WEBHOOK_EVENTS):
        raise ValidationError({"events": _(EVENTS_UNKNOWN)})
    if not given:
        raise ValidationError({"events": _(EVENTS_REQUIRED)})
    return [name for name in WEBHOOK_EVENTS if name in given]  # the dashboard's order


def _facts(endpoint: WebhookEndpoint) -> dict:
    """An endpoint as the audit trail tells it: never its secret."""
    return {
        "url": endpoint.url,
        "description": endpoint.description,
        "events": list(endpoint.events),
        "active": endpoint.active,
    }


def endpoint_create(
    *, tenant: Tenant, url: str, description: str = "", events, actor=None
) -> tuple[WebhookEndpoint, str]:
    """Register an endpoint; returns it and its secret (shown to the person once)."""
    url, events = _check_url(url), _check_events(events)
    secret = new_secret()
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.create(
            tenant=tenant,
            url=url,
            description=description.strip(),
            events=events,
            secret=secret,
            created_by=actor if getattr(actor, "is_authenticated", False) else None,
        )
        publish(
            tenant=tenant,
            name="webhook_endpoint.created",
            obj=endpoint,
            summary=f"Webhook endpoint {endpoint.url} added for {', '.join(events)}.",
            payload=_facts(endpoint),
            actor=actor,
        )
    return endpoint, secret


def _endpoint_locked(tenant: Tenant, endpoint: WebhookEndpoint) -> WebhookEndpoint:
    return WebhookEndpoint.objects.select_for_update().get(tenant=tenant, pk=endpoint.pk)


def _changed(tenant: Tenant, endpoint: WebhookEndpoint, before: dict, summary: str, actor) -> None:
    after = _facts(endpoint)
    changes = {name: [before[name], after[name]] for name in after if before[name] != after[name]}
    publish(
        tenant=tenant,
        name="webhook_endpoint.changed",
        obj=endpoint,
        summary=summary,
        payload=after,
        changes=changes,
        actor=actor,
    )


def endpoint_update(
    *, tenant: Tenant, endpoint: WebhookEndpoint, url: str, description: str = "", events, actor=None
) -> WebhookEndpoint:
    url, events = _check_url(url), _check_events(events)
    with transaction.atomic():
        endpoint = _endpoint_locked(tenant, endpoint)
        before = _facts(endpoint)
        endpoint.url, endpoint.description, endpoint.events = url, description.strip(), events
        endpoint.save(update_fields=["url", "description", "events"])
        if _facts(endpoint) != before:
            _changed(tenant, endpoint, before, f"Webhook endpoint {endpoint.url} changed.", actor)
    return endpoint


def endpoint_set_active(*, tenant: Tenant, endpoint: WebhookEndpoint, active: bool, actor=None) -> WebhookEndpoint:
    """Pause (no new events are delivered) or resume an endpoint."""
    with transaction.atomic():
        endpoint = _endpoint_locked(tenant, endpoint)
        if endpoint.active != active:
            before = _facts(endpoint)
            endpoint.active = active
            endpoint.save(update_fields=["active"])
            verb = "resumed" if active else "paused"
            _changed(tenant, endpoint, before, f"Webhook endpoint {endpoint.url} {verb}.", actor)
    return endpoint


def endpoint_rotate_secret(*, tenant: Tenant, endpoint: WebhookEndpoint, actor=None) -> tuple[WebhookEndpoint, str]:
    """A new secret at once: every request from now on (retries too) is signed with it."""
    secret = new_secret()
    with transaction.atomic():
        endpoint = _endpoint_locked(tenant, endpoint)
        endpoint.secret, endpoint.secret_rotated_at = secret, timezone.now()
        endpoint.save(update_fields=["secret", "secret_rotated_at"])
        publish(
            tenant=tenant,
            name="webhook_endpoint.changed",
            obj=endpoint,
            summary=f"Signing secret of webhook endpoint {endpoint.url} replaced.",
            payload=_facts(endpoint),
            changes={"secret": ["(hidden)", "(new, hidden)"]},
            actor=actor,
        )
    return endpoint, secret


def endpoint_delete(*, tenant: Tenant, endpoint: WebhookEndpoint, actor=None) -> None:
    """Delete the endpoint with its delivery log; deliveries still waiting are not sent."""
    with transaction.atomic():
        endpoint = _endpoint_locked(tenant, endpoint)
        publish(
            tenant=tenant,
            name="webhook_endpoint.deleted",
            obj=endpoint,
            summary=f"Webhook endpoint {endpoint.url} deleted.",
            payload=_facts(endpoint),
            actor=actor,
        )
        endpoint.delete()


# Deliveries


def _enqueue(delivery: WebhookDelivery) -> None:
    from .tasks import deliver_webhook

    enqueue_on_commit(deliver_webhook, tenant_id=delivery.tenant_id, delivery_id=delivery.pk)


def deliveries_for_event(event: Event) -> list[WebhookDelivery]:
    """The ``tenancy.events`` subscriber: one delivery per active endpoint that chose the event,
    written in the publishing transaction and sent after it commits. Events outside
    ``WEBHOOK_EVENTS`` (the audit trail's own, this app's) are never delivered."""
    if event.name not in WEBHOOK_EVENTS or event.tenant is None:
        return []
    with isolated_scope(tenant=event.tenant):
        endpoints = [
            endpoint
            for endpoint in WebhookEndpoint.objects.filter(tenant=event.tenant, active=True).order_by("pk")
            if event.name in endpoint.events
        ]
        if not endpoints:
            return []
        event_id = uuid.uuid4()  # one id for the event, whichever endpoints hear it
        deliveries = WebhookDelivery.objects.bulk_create(
            [
                WebhookDelivery(
                    tenant=event.tenant,
                    endpoint=endpoint,
                    event=event.name,
                    event_id=event_id,
                    occurred_at=event.occurred_at,
                    payload=event.payload,
                )
                for endpoint in endpoints
            ]
        )
    for delivery in deliveries:
        _enqueue(delivery)
    return deliveries


def endpoint_ping(*, tenant: Tenant, endpoint: WebhookEndpoint, actor=None) -> WebhookDelivery:
    """A ``ping`` delivery, sent at once, whatever events the endpoint chose (paused ones too)."""
    with transaction.atomic():
        delivery = WebhookDelivery.objects.create(
            tenant=tenant,
            endpoint=endpoint,
            event=PING,
            payload={"endpoint_id": endpoint.pk, "message": _(PING_MESSAGE)},
        )
        publish(
            tenant=tenant,
            name="webhook_endpoint.pinged",
            obj=endpoint,
            actor=actor,
            summary=f"Test event sent to {endpoint.url} (delivery #{delivery.pk}).",
            payload={"delivery_id": delivery.pk},
        )
        _enqueue(delivery)
    return delivery


def delivery_replay(*, tenant: Tenant, delivery: WebhookDelivery, actor=None) -> WebhookDelivery:
    """Send the event again as a new delivery: the same event id and payload, to the endpoint as it
    is now (its address and secret), at once."""
    with transaction.atomic():
        copy = WebhookDelivery.objects.create(
            tenant=tenant,
            endpoint_id=delivery.endpoint_id,
            event=delivery.event,
            event_id=delivery.event_id,
            occurred_at=delivery.occurred_at,
            payload=delivery.payload,
            replay_of=delivery,
        )
        publish(
            tenant=tenant,
            name="webhook_delivery.replayed",
            obj=copy,
            summary=f"Webhook {delivery.event} {delivery.event_id} sent again to {delivery.endpoint.url}.",
            payload={
                "delivery_id": copy.pk,
                "replay_of": delivery.pk,
                "endpoint_id": delivery.endpoint_id,
                "event": delivery.event,
                "event_id": str(delivery.event_id),
            },
            actor=actor,
        )
        _enqueue(copy)
    return copy


# Sending


@dataclass(frozen=True)
class AttemptResult:
    outcome: str  # "succeeded", "retry", "failed" or "skipped" (not this worker's to send)
    retry_in: int | None = None


def retry_delay(attempts: int) -> int:
    """Seconds to wait after the ``attempts``-th failed attempt: 1 min, 5 min, 30 min, 2 h, 6 h, 12 h, 1 day…"""
    return RETRY_DELAYS[min(max(attempts, 1), len(RETRY_DELAYS)) - 1]


def claim_timeout() -> timedelta:
    """How long an attempt may hold its claim before the sweeper decides the worker died."""
    return timedelta(seconds=max(300, 2 * ATTEMPT_TIMEOUT_FACTOR * settings.WEBHOOK_TIMEOUT_SECONDS))


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """Hex HMAC-SHA256 of ``"<timestamp>.<body>"`` keyed by the endpoint's secret."""
    return hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()


def request_for(delivery: WebhookDelivery, *, at: int) -> tuple[bytes, dict[str, str]]:
    """The body and headers of an attempt made at unix time ``at``."""
    body = json.dumps(delivery.body, separators=(",", ":"), ensure_ascii=False).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Tessera-Event": delivery.event,
        "Tessera-Delivery": str(delivery.pk),
        "Tessera-Signature": f"t={at},v1={signature(delivery.endpoint.secret, at, body)}",
    }
    return body, headers


def _claim(tenant: Tenant, delivery_id: int, now) -> bool:
    """Take the attempt: one conditional UPDATE, committed before the request goes out. Of two workers
    handed the same delivery, the second waits on the row lock, then finds the claim fresh and gets
    nothing; a claim older than ``claim_timeout`` belonged to a worker that died."""
    return bool(
        WebhookDelivery.objects.filter(
            tenant=tenant, pk=delivery_id, status=DeliveryStatus.PENDING, next_attempt_at__lte=now + EARLY_SLACK
        )
        .filter(Q(claimed_at__isnull=True) | Q(claimed_at__lt=now - claim_timeout()))
        .update(claimed_at=now, attempts=F("attempts") + 1, last_attempt_at=now)
    )


def delivery_attempt(*, tenant: Tenant, delivery_id: int) -> AttemptResult:
    """Make one attempt at a pending delivery that is due; record what the receiver answered."""
    now = timezone.now()
    if not _claim(tenant, delivery_id, now):
        return AttemptResult("skipped")
    delivery = WebhookDelivery.objects.select_related("endpoint").filter(tenant=tenant, pk=delivery_id).first()
    if delivery is None:  # its endpoint was deleted a moment ago
        return AttemptResult("skipped")
    body, headers = request_for(delivery, at=int(now.timestamp()))
    status_code, answer, error = None, "", ""
    try:
        status_code, answer = post(delivery.endpoint.url, body, headers, timeout=settings.WEBHOOK_TIMEOUT_SECONDS)
    except Exception as exc:  # refused, timed out, TLS, DNS, a private address: all worth a retry
        error = describe(exc)
    mine = WebhookDelivery.objects.filter(tenant=tenant, pk=delivery_id, claimed_at=now)
    recorded = {
        "claimed_at": None,
        "last_status_code": status_code,
        "last_response": answer,
        "last_request_headers": headers,
    }
    if status_code is not None and 200 <= status_code < 300:
        mine.update(**recorded, status=DeliveryStatus.SUCCEEDED, delivered_at=timezone.now(), last_error="")
        return AttemptResult("succeeded")
    if not error:
        error = f"The endpoint answered {status_code} {http.client.responses.get(status_code, '')}".rstrip() + "."
    if delivery.attempts >= settings.WEBHOOK_MAX_ATTEMPTS:
        mine.update(**recorded, status=DeliveryStatus.FAILED, last_error=error)
        logger.warning(
            "Webhook delivery %s failed for good after %s attempts: %s", delivery_id, delivery.attempts, error
        )
        return AttemptResult("failed")
    delay = retry_delay(delivery.attempts)
    mine.update(**recorded, last_error=error, next_attempt_at=timezone.now() + timedelta(seconds=delay))
    logger.info(
        "Webhook delivery %s attempt %s failed (%s); retry in %ss.", delivery_id, delivery.attempts, error, delay
    )
    return AttemptResult("retry", retry_in=delay)


def deliveries_sweep(*, grace: timedelta = SWEEP_GRACE) -> int:
    """Re-enqueue deliveries whose task was lost (broker down, worker killed) or whose retry is due
    and was left to the sweeper; a due delivery's own task gets ``grace`` first. Crosses tenants on
    purpose. Enqueuing one twice is harmless: only one attempt can claim it."""
    from .tasks import deliver_webhook

    now = timezone.now()
    with scopes_disabled():
        stale = WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING, claimed_at__lt=now - claim_timeout())
        stale.filter(attempts__gte=settings.WEBHOOK_MAX_ATTEMPTS).update(
            status=DeliveryStatus.FAILED, claimed_at=None, last_error=_(SENDING_INTERRUPTED)
        )
        stale.update(claimed_at=None)
        due = WebhookDelivery.objects.filter(
            status=DeliveryStatus.PENDING, claimed_at__isnull=True, next_attempt_at__lte=now - grace
        )
        batch = list(due.order_by("next_attempt_at").values_list("pk", "tenant_id")[:1000])
        # Due now, but not again for the grace period: the next sweep leaves them to their tasks.
        WebhookDelivery.objects.filter(pk__in=[pk for pk, _ in batch], status=DeliveryStatus.PENDING).update(
            next_attempt_at=now
        )
    try:
        for pk, tenant_id in batch:
            deliver_webhook.apply_async(kwargs={"tenant_id": tenant_id, "delivery_id": pk})
    except Exception:
        logger.exception("Broker unavailable; %s webhook deliveries wait for the next sweep.", len(batch))
    return len(batch)


# HTTP


# IPv6 prefixes that carry an IPv4 address a gateway (NAT64) or the host (IPv4-compatible) may
# connect to: the embedded address is the one that must be public. Python counts these as global.
NAT64_PREFIXES = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
IPV4_COMPATIBLE = ipaddress.ip_network("::/96")


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address leads to through a gateway (NAT64, 6to4, Teredo) or the host
    (IPv4-compatible), else None."""
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]  # the client's address
    if any(ip in prefix for prefix in NAT64_PREFIXES) or (ip in IPV4_COMPATIBLE and int(ip) > 1):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def address_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # the host connects to the IPv4 address itself
    elif ip.version == 6 and (embedded := _embedded_ipv4(ip)) is not None and not address_public(str(embedded)):
        return False
    return ip.is_global and not ip.is_multicast


def _addresses(host: str, port: int) -> list[str]:
    """The addresses to connect to for ``host``; every one must be public unless private ones are
    allowed. Raises ``AddressRefused`` (with the message the page shows)."""
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, OSError):
        raise AddressRefused(_(URL_UNRESOLVED).format(host=host)) from None
    addresses = list(dict.fromkeys(info[4][0] for info in found))
    if not addresses:
        raise AddressRefused(_(URL_UNRESOLVED).format(host=host))
    if not settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES:
        for address in addresses:
            if not address_public(address):
                raise AddressRefused(_(URL_PRIVATE).format(host=host, address=address))
    return addresses


def _connect_to(addresses: list[str]):
    """``socket.create_connection`` for http.client that connects only to the addresses checked,
    so a DNS answer that changes between the check and the connection cannot reach another host."""

    def create_connection(address, timeout=None, source_address=None):
        port, last_error = address[1], None
        for ip in addresses:
            try:
                return socket.create_connection((ip, port), timeout, source_address)
            except OSError as exc:
                last_error = exc
        raise last_error

    return create_connection


class TooSlow(Exception):
    """The receiver kept the connection busy past the attempt's whole time (``ATTEMPT_TIMEOUT_FACTOR``)."""


def post(url: str, body: bytes, headers: dict[str, str], *, timeout: float) -> tuple[int, str]:
    """POST ``body``; the status code and the start of the answer. Redirects are not followed.

    ``timeout`` bounds each step (connecting, each read); the whole attempt is bounded too, at
    ``ATTEMPT_TIMEOUT_FACTOR`` times that, by a timer that shuts the socket: a receiver that drips
    a byte at a time must not hold a worker (and its claim) for hours."""
    parts = urlsplit(url)
    https = parts.scheme == "https"
    port = parts.port or (443 if https else 80)
    connection_class = http.client.HTTPSConnection if https else http.client.HTTPConnection
    connection = connection_class(parts.hostname, port, timeout=timeout)
    connection._create_connection = _connect_to(_addresses(parts.hostname, port))
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    cut = threading.Event()
    watchdog = threading.Timer(timeout * ATTEMPT_TIMEOUT_FACTOR, _shut, args=(connection, cut))
    watchdog.daemon = True
    watchdog.start()
    try:
        connection.request("POST", target, body=body, headers=headers)
        response = connection.getresponse()
        if cut.is_set():  # what was read of the status and headers may be a fragment
            raise TooSlow()
        answer = b""
        try:
            while len(answer) <= RESPONSE_KEPT:
                chunk = response.read1(RESPONSE_KEPT + 1 - len(answer))
                if not chunk:
                    break
                answer += chunk
        except (OSError, http.client.HTTPException, ValueError):
            pass  # the status decides; what came of the answer is kept for the page
        return response.status, answer.decode("utf-8", errors="replace")[:RESPONSE_KEPT]
    except Exception as exc:
        if cut.is_set():
            raise TooSlow() from exc
        raise
    finally:
        watchdog.cancel()
        connection.close()


def _shut(connection, cut: threading.Event) -> None:
    sock = connection.sock
    if sock is None:
        return
    cut.set()
    try:
        socket.socket.shutdown(sock, socket.SHUT_RDWR)  # the plain socket's: under TLS too
    except OSError:
        pass


def describe(exc: Exception) -> str:
    """A failed attempt in words a person reads on the delivery page."""
    if isinstance(exc, AddressRefused):
        return str(exc)
    if isinstance(exc, TooSlow):
        return f"No complete answer within {settings.WEBHOOK_TIMEOUT_SECONDS * ATTEMPT_TIMEOUT_FACTOR:g} seconds."
    if isinstance(exc, TimeoutError | socket.timeout):
        return f"No answer within {settings.WEBHOOK_TIMEOUT_SECONDS:g} seconds."
    if isinstance(exc, ConnectionRefusedError):
        return "The connection was refused."
    return f"{type(exc).__name__}: {exc}"[:2000]
