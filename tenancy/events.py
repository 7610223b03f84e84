"""Domain events: what happened in a tenant, published by the services inside their transaction.

A service that does something a person would want to find later or a CRM would want to hear of
(a code redeemed, a booking made, emails sent, an import committed, access removed) calls
``publish`` in the same transaction as the change. Subscribers run at once, in that transaction, so
what they write (the audit trail, webhook deliveries) commits or rolls back with the change itself.

Subscribers register in ``AppConfig.ready()`` with ``subscribe``; ``audit`` records every event and
``webhooks`` turns the ones an endpoint asked for into deliveries.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.utils import timezone

# The events a tenant can subscribe a webhook endpoint to, with what the dashboard calls them.
WEBHOOK_EVENTS = {
    "code.redeemed": "Code redeemed",
    "booking.created": "Booking made",
    "learner.registered": "Learner registered",
    "access.removed": "Access removed",
    "package.used": "Package used",
}


@dataclass(frozen=True)
class Actor:
    """Who did it: a signed-in person, an API key, or the system (a task, a public visitor)."""

    label: str
    user_id: int | None = None
    api_key_id: int | None = None


SYSTEM = Actor(label="system")

_actor: contextvars.ContextVar[Actor | Callable[[], Actor] | None] = contextvars.ContextVar("actor", default=None)


@contextmanager
def acting_as(actor: Actor | Callable[[], Actor] | None):
    """Run the block on behalf of ``actor`` (or a function that gives it, resolved when needed)."""
    token = _actor.set(actor)
    try:
        yield
    finally:
        _actor.reset(token)


def actor_of(user) -> Actor:
    if user is None or not getattr(user, "is_authenticated", False):
        return SYSTEM
    return Actor(label=user.email, user_id=user.pk)


def current_actor(explicit_user=None) -> Actor:
    """The explicit user a service was given, else the block's actor (the request's user, the
    API key), else the system."""
    if explicit_user is not None and getattr(explicit_user, "is_authenticated", False):
        return actor_of(explicit_user)
    actor = _actor.get()
    if callable(actor):
        actor = actor()
    return actor or SYSTEM


@dataclass(frozen=True)
class Event:
    tenant: Any
    name: str  # "code.redeemed", "emails.queued", … : <object>.<what happened>
    summary: str  # one line a person reads in the audit trail
    actor: Actor
    object_type: str = ""  # "invitations.invitationcode"
    object_id: str = ""
    object_repr: str = ""
    payload: dict = field(default_factory=dict)  # JSON-ready facts (webhook body, audit "after")
    changes: dict = field(default_factory=dict)  # {field: [before, after]}
    occurred_at: datetime = field(default_factory=timezone.now)


Subscriber = Callable[[Event], None]
_subscribers: list[Subscriber] = []


def subscribe(subscriber: Subscriber) -> None:
    if subscriber not in _subscribers:
        _subscribers.append(subscriber)


def publish(
    *,
    tenant,
    name: str,
    summary: str,
    obj=None,
    payload: dict | None = None,
    changes: dict | None = None,
    actor=None,
) -> Event:
    """Tell every subscriber, inside the caller's transaction. ``actor`` is a user (or None: the
    current actor). Values in ``payload`` and ``changes`` are made JSON-ready here."""
    event = Event(
        tenant=tenant,
        name=name,
        summary=summary[:500],
        actor=actor if isinstance(actor, Actor) else current_actor(actor),
        object_type=obj._meta.label_lower if obj is not None else "",
        object_id=str(obj.pk) if obj is not None and obj.pk is not None else "",
        object_repr=str(obj)[:200] if obj is not None else "",
        payload=json_ready(payload or {}),
        changes=json_ready(changes or {}),
    )
    for subscriber in _subscribers:
        subscriber(event)
    return event


def json_ready(value):
    """Dates, times, decimals and model instances as JSON values; dicts, lists and tuples walked."""
    if isinstance(value, dict):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [json_ready(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "_meta") and hasattr(value, "pk"):
        return value.pk
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)
