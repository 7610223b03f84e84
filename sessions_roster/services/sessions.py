"""Creating, changing and deleting sessions."""

import secrets

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from tenancy.models import Tenant

from ..models import Session
from .waitlist import waitlist_offer_next

CAPACITY_BELOW_TAKEN = gettext_noop(
    "{taken} spots are taken or held (registrations, pending invitations, waitlist offers); "
    "the capacity cannot go below that."
)
ENDS_BEFORE_START = gettext_noop("The session must end after it starts.")
OPENS_AFTER_START = gettext_noop("Registration must open before the session starts.")
SESSION_IN_USE = gettext_noop(
    "This session has registrations, invitations or a waitlist, so it cannot be deleted. Cancel those first, "
    "or mark the session unlisted."
)
EDITABLE_FIELDS = (
    "title",
    "description",
    "location",
    "starts_at",
    "ends_at",
    "price",
    "registration_opens_at",
    "is_listed",
    "offer_hold_hours",
)


def _check_times(fields: dict) -> None:
    errors = {}
    if fields["ends_at"] <= fields["starts_at"]:
        errors["ends_at"] = _(ENDS_BEFORE_START)
    opens = fields.get("registration_opens_at")
    if opens and opens >= fields["starts_at"]:
        errors["registration_opens_at"] = _(OPENS_AFTER_START)
    if errors:
        raise ValidationError(errors)


def session_create(*, tenant: Tenant, capacity: int, **fields) -> Session:
    _check_times(fields)
    return Session.objects.create(tenant=tenant, key=secrets.token_urlsafe(9), capacity=capacity, **fields)


def session_update(*, tenant: Tenant, session: Session, capacity: int, **fields) -> Session:
    """Change a session. The capacity changes only while it stays at or above the spots taken, in one
    conditional UPDATE; spots it frees go to the waitlist at once."""
    _check_times(fields)
    with transaction.atomic():
        session = Session.objects.select_for_update().get(tenant=tenant, pk=session.pk)
        if capacity < session.spots_taken:
            raise ValidationError({"capacity": _(CAPACITY_BELOW_TAKEN).format(taken=session.spots_taken)})
        for name in EDITABLE_FIELDS:
            setattr(session, name, fields[name])
        session.capacity = capacity
        session.save(update_fields=[*EDITABLE_FIELDS, "capacity"])
        waitlist_offer_next(tenant=tenant, session_id=session.pk)
    session.refresh_from_db()
    return session


def session_delete(*, tenant: Tenant, session: Session) -> None:
    with transaction.atomic():
        session = Session.objects.select_for_update().get(tenant=tenant, pk=session.pk)
        if session.registrations.exists() or session.invitations.exists() or session.waitlist.exists():
            raise ValidationError(_(SESSION_IN_USE))
        session.discount_codes.clear()
        session.delete()
