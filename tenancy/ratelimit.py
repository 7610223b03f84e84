"""Rate limits against brute force, counted in the shared cache (Redis in a deployment, so every web
process sees the same counts): sign-in per client address and per account, password reset requests
per address and per email, typed codes and emailed links per address and per workspace.

A counter is bumped *before* the work it guards, so requests sent at the same moment cannot slip
past the limit; work that turns out well (a code or link that exists, a password that was right)
is forgiven. Past a limit the page answers 429 with the normal layout, says when to try again and
does nothing else. Each limit crossed is reported once per window: a ``rate_limit.hit`` domain event
for a workspace's pages (it shows in the audit trail), a log line for platform pages.

A workspace-wide count of failed attempts stops a guesser who spreads tries over many addresses:
past it, each address gets one failed try per window instead of its usual allowance, while people
whose links and codes work are not slowed at all. IPv6 addresses count per /64, the block one
subscriber usually holds.

Limits and windows are settings (see ``DEFAULTS``); each can be set from the environment.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import math
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import wraps

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, ngettext

from .events import SYSTEM, publish

logger = logging.getLogger(__name__)


def setting(name: str) -> int:
    """A limit or window from config/settings.py (SIGNIN_*, PASSWORD_RESET_*, LINK_*, CODE_*, …)."""
    return int(getattr(settings, name))


# What the 429 page says, per kind of attempt; {wait} is "12 minutes".
SIGNIN_REFUSED = gettext_noop(
    "Too many sign-in attempts from your connection or for this account. Please try again in {wait}."
)
RESET_REFUSED = gettext_noop(
    "Too many password reset requests from your connection or for this address. Please try again in {wait}."
)
LINK_REFUSED = gettext_noop(
    "Too many links or codes that did not work were tried from your connection. Please try again in {wait}."
)


def wait_text(seconds: int) -> str:
    minutes = max(1, math.ceil(seconds / 60))
    return ngettext("{count} minute", "{count} minutes", minutes).format(count=minutes)


# Client addresses


def client_address(request) -> str:
    """The client's address: the configured proxy header's last hop (the one our proxy wrote), or
    the socket's."""
    header = settings.CLIENT_IP_HEADER
    if header and request.META.get(header):
        return request.META[header].split(",")[-1].strip()[:64]
    return request.META.get("REMOTE_ADDR", "")[:64]


def address_key(address: str) -> str:
    """What an address counts as: itself for IPv4, its /64 for IPv6 (one subscriber's block)."""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address or "unknown"
    if parsed.version == 6:
        if parsed.ipv4_mapped:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return str(parsed)


def _digest(text: str) -> str:
    """Emails are counted under a digest: the cache never holds who tried."""
    return hashlib.sha256(text.strip().lower().encode("utf-8")).hexdigest()[:32]


# Counters


@dataclass(frozen=True)
class Counter:
    scope: str  # "signin.address", "links.tenant", …: the kind of limit, in keys and reports
    ident: str  # whose attempts: an address, a digest of an email, a workspace id
    limit: int
    window: int  # seconds
    shown: str = ""  # what a report says it counted ("203.0.113.7", "pa…@example.com")

    @property
    def key(self) -> str:
        return f"rl:{self.scope}:{self.ident}"


@dataclass
class Outcome:
    wait: int = 0  # seconds until the longest refusing window ends; 0: go ahead
    crossed: list[Counter] = field(default_factory=list)  # limits this very attempt went past
    counters: tuple[Counter, ...] = ()
    until: datetime | None = None

    def __bool__(self) -> bool:  # true when refused
        return self.wait > 0


def _bump(counter: Counter) -> tuple[int, float]:
    """Count one attempt; the count so far in this window and when the window started. With the
    cache down (Redis stopped) nothing is counted: pages keep working, unlimited, and the log says so."""
    since_key = f"{counter.key}:since"
    now = time.time()
    try:
        cache.add(since_key, now, timeout=counter.window)
        if cache.add(counter.key, 1, timeout=counter.window):
            count = 1
        else:
            try:
                count = cache.incr(counter.key)
            except ValueError:  # expired between add and incr
                cache.add(counter.key, 1, timeout=counter.window)
                count = 1
        return count, cache.get(since_key) or now
    except Exception:  # any backend's connection error: fail open rather than refuse every visitor
        logger.warning("rate limit %s not counted: the cache is unavailable", counter.scope, exc_info=True)
        return 0, now


def attempt(*counters: Counter) -> Outcome:
    """Count this attempt on every counter first, then decide."""
    outcome = Outcome(counters=counters)
    for counter in counters:
        count, since = _bump(counter)
        if count > counter.limit:
            outcome.wait = max(outcome.wait, max(1, math.ceil(since + counter.window - time.time())))
        if count == counter.limit + 1:
            outcome.crossed.append(counter)
    if outcome.wait:
        outcome.until = timezone.now() + timedelta(seconds=outcome.wait)
    return outcome


def forgive(*counters: Counter) -> None:
    """An attempt that worked does not count against anyone."""
    for counter in counters:
        try:
            cache.decr(counter.key)
        except ValueError:  # expired meanwhile
            pass
        except Exception:  # the cache is down: nothing was counted either
            logger.warning("rate limit %s not forgiven: the cache is unavailable", counter.scope)


def clear(*counters: Counter) -> None:
    try:
        cache.delete_many([key for counter in counters for key in (counter.key, f"{counter.key}:since")])
    except Exception:  # the cache is down: nothing was counted either
        logger.warning("rate limits not cleared: the cache is unavailable")


# The limits


def signin_counters(request, email: str) -> tuple[Counter, ...]:
    window = setting("SIGNIN_ATTEMPT_WINDOW_SECONDS")
    address = address_key(client_address(request))
    return (
        Counter("signin.address", address, setting("SIGNIN_ATTEMPT_LIMIT"), window, address),
        Counter("signin.account", _digest(email), setting("SIGNIN_ACCOUNT_ATTEMPT_LIMIT"), window, masked(email)),
    )


def reset_counters(request, email: str) -> tuple[Counter, ...]:
    window = setting("PASSWORD_RESET_WINDOW_SECONDS")
    address = address_key(client_address(request))
    return (
        Counter("password_reset.address", address, setting("PASSWORD_RESET_LIMIT"), window, address),
        Counter("password_reset.email", _digest(email), setting("PASSWORD_RESET_EMAIL_LIMIT"), window, masked(email)),
    )


def tenant_attempt(
    tenant, address: str, *, kind: str, limit: int, tenant_limit: int, window: int
) -> tuple[Outcome, tuple[Counter, ...]]:
    """Count a try of ``kind`` ("links", "codes") in ``tenant`` from ``address``. Past the
    workspace's limit of failures, each address gets one failed try per window."""
    whole, one = tenant_counters(tenant, address, kind=kind, limit=limit, tenant_limit=tenant_limit, window=window)
    whole_count, _ = _bump(whole)
    if whole_count > tenant_limit:
        one = Counter(one.scope, one.ident, 1, window, one.shown)
    outcome = attempt(one)
    if whole_count == tenant_limit + 1:
        outcome.crossed.insert(0, whole)
    outcome.counters = (whole, one)
    return outcome, outcome.counters


def tenant_counters(
    tenant, address: str, *, kind: str, limit: int = 0, tenant_limit: int = 0, window: int = 0
) -> tuple[Counter, Counter]:
    """The workspace's counter of ``kind`` and the address's counter in it (limits matter to
    ``attempt`` only; ``forgive`` needs just the keys)."""
    address = address_key(address)
    return (
        Counter(f"{kind}.tenant", str(tenant.pk), tenant_limit, window, tenant.slug),
        Counter(f"{kind}.address", f"{tenant.pk}:{address}", limit, window, address),
    )


def masked(email: str) -> str:
    name, _, domain = (email or "").strip().lower().partition("@")
    return f"{name[:2]}…@{domain[:100]}" if domain else "(no address)"


# Reporting and the page


SUMMARIES = {
    "signin.address": "Sign-in paused for {shown}: more than {limit} failed sign-ins",
    "signin.account": "Sign-in paused for the account {shown}: more than {limit} failed sign-ins",
    "password_reset.address": "Password reset paused for {shown}: more than {limit} requests",
    "password_reset.email": "Password reset paused for {shown}: more than {limit} requests",
    "links.address": "Links paused for {shown}: more than {limit} links or email codes that did not work",
    "links.tenant": "More than {limit} links or email codes that did not work were tried in this workspace: "
    "each address now gets one failed try",
    "codes.address": "Booking codes paused for {shown}: more than {limit} codes that did not work",
    "codes.tenant": "More than {limit} codes that did not work were tried in this workspace: "
    "each address now gets one failed try",
}


def report(outcome: Outcome, *, tenant=None, page: str = "") -> None:
    """Tell staff (the audit trail) or the operator (the log) about each limit this attempt crossed."""
    for counter in outcome.crossed:
        minutes = max(1, math.ceil(counter.window / 60))
        summary = SUMMARIES.get(counter.scope, "Rate limit {scope} reached for {shown}").format(
            shown=counter.shown, limit=counter.limit, scope=counter.scope
        )
        summary = f"{summary} in {minutes} minutes."
        if tenant is None:
            logger.warning("rate_limit.hit %s: %s (page %s)", counter.scope, summary, page or "-")
            continue
        if not _may_report(tenant, counter):
            continue
        with transaction.atomic():
            publish(
                tenant=tenant,
                name="rate_limit.hit",
                summary=summary,
                actor=SYSTEM,
                payload={
                    "limit": counter.scope,
                    "who": counter.shown,
                    "allowed": counter.limit,
                    "window_seconds": counter.window,
                    "page": page,
                },
            )


def _may_report(tenant, counter: Counter) -> bool:
    """At most RATE_LIMIT_REPORTS_PER_WINDOW entries per workspace, limit and window, so a guesser
    with many addresses cannot flood the audit trail."""
    allowed = setting("RATE_LIMIT_REPORTS_PER_WINDOW")
    budget = Counter(f"reports.{counter.scope}", str(tenant.pk), allowed, counter.window)
    count, _ = _bump(budget)
    return count <= budget.limit


def _page_name(request) -> str:
    """The URL's name, never its path: paths of emailed links hold their secret."""
    match = getattr(request, "resolver_match", None)
    return match.view_name if match else ""


def refused(request, outcome: Outcome, message: str):
    """The 429 page: the normal layout, the reason, when to try again; the limit is reported."""
    tenant = getattr(request, "tenant", None)
    report(outcome, tenant=tenant, page=_page_name(request))
    until = timezone.localtime(outcome.until or timezone.now())  # the workspace's time zone on its pages
    response = render(
        request,
        "tenancy/rate_limited.html",
        {
            "message": message.format(wait=wait_text(outcome.wait)),
            "until": until,
            "zone": until.tzname(),
        },
        status=429,
    )
    response["Retry-After"] = str(outcome.wait)
    return response


# Emailed links


def link_attempt(request) -> tuple[Outcome, tuple[Counter, ...]]:
    return tenant_attempt(
        request.tenant,
        client_address(request),
        kind="links",
        limit=setting("LINK_ATTEMPT_LIMIT"),
        tenant_limit=setting("LINK_TENANT_ATTEMPT_LIMIT"),
        window=setting("LINK_ATTEMPT_WINDOW_SECONDS"),
    )


def failed(request) -> None:
    """A view guarded by ``links`` says this attempt failed although its page is not a 404 (a wrong
    email-proof code): it keeps counting."""
    request._rate_limit_failed = True


def links(view):
    """Guard a public page opened from an emailed link (``/…/<token>/``): count the visit first,
    refuse past the limit, and forgive it unless the link was unknown (the page is a 404) or the
    view called ``failed``."""

    @wraps(view)
    def guarded(request, *args, **kwargs):
        outcome, counters = link_attempt(request)
        if outcome:
            return refused(request, outcome, _(LINK_REFUSED))
        report(outcome, tenant=request.tenant, page=_page_name(request))  # a workspace-wide crossing
        response = view(request, *args, **kwargs)  # an Http404 raised here keeps the count
        if response.status_code != 404 and not getattr(request, "_rate_limit_failed", False):
            forgive(*counters)
        return response

    return guarded
