"""The spot counter of a session. Each change is one conditional UPDATE on the session row, so
concurrent checkouts, invitations and offers cannot together pass the capacity (docs/concurrency.md)."""

from django.db.models import F

from tenancy.locks import advisory_xact_lock
from tenancy.models import Tenant

from ..models import Session


def spot_take(*, tenant: Tenant, session_id: int) -> bool:
    """Take one spot if one is free; False when the session is full."""
    free = Session.objects.filter(tenant=tenant, pk=session_id, spots_taken__lt=F("capacity"))
    return free.update(spots_taken=F("spots_taken") + 1) == 1


def spot_add(*, tenant: Tenant, session_id: int) -> None:
    """Raise the capacity by one and take that spot: the explicit "invite to a full session"."""
    Session.objects.filter(tenant=tenant, pk=session_id).update(
        capacity=F("capacity") + 1, spots_taken=F("spots_taken") + 1
    )


def spot_release(*, tenant: Tenant, session_id: int) -> None:
    """Give one spot back. Callers offer it to the waitlist next: ``waitlist.spot_free``."""
    Session.objects.filter(tenant=tenant, pk=session_id, spots_taken__gt=0).update(spots_taken=F("spots_taken") - 1)


def person_lock(*, session_id: int, email: str) -> None:
    """Serialise everything that can give one person a spot in one session (checkout, invitation,
    waitlist), for the rest of the transaction: their checks ("already registered", "already
    invited") then hold until the spot is taken."""
    advisory_xact_lock(f"session-person:{session_id}:{email.lower()}")
