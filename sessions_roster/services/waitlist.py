"""The waitlist: joining it, offering freed spots in turn, offers that lapse, staff removing people.

A freed spot goes to the waitlist before anyone else can take it: ``spot_free`` gives it back and
offers it in the same transaction. An offer holds its spot until it is taken or lapses; a lapsed
offer frees the spot, which goes to the next person.
"""

from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from accounts.models import normalize_email
from tenancy import tokens
from tenancy.models import Tenant

from ..models import (
    HOLDING_REGISTRATION,
    InvitationStatus,
    Registration,
    Session,
    SessionInvitation,
    WaitlistEntry,
    WaitlistStatus,
)
from . import notify
from .spots import person_lock, spot_release, spot_take

SESSION_STARTED = gettext_noop("This session has already started.")
WAITLIST_NOT_FULL = gettext_noop("There are spots left in this session: you can register now instead of waiting.")
ALREADY_WAITING = gettext_noop("This email address is already on the waitlist for this session.")
ALREADY_REGISTERED = gettext_noop("This email address is already registered for this session.")
ENTRY_CLOSED = gettext_noop("This person is no longer waiting.")


def waitlist_join(*, tenant: Tenant, session: Session, first_name: str, last_name: str, email: str, user=None):
    email = normalize_email(email)
    with transaction.atomic():
        person_lock(session_id=session.pk, email=email)
        session = Session.objects.select_for_update().get(tenant=tenant, pk=session.pk)
        if session.has_started:
            raise ValidationError(_(SESSION_STARTED))
        if not session.is_full:
            raise ValidationError(_(WAITLIST_NOT_FULL))
        if Registration.objects.filter(
            tenant=tenant, session=session, email__iexact=email, status__in=HOLDING_REGISTRATION
        ).exists():
            raise ValidationError(_(ALREADY_REGISTERED))
        try:
            with transaction.atomic():
                entry = WaitlistEntry.objects.create(
                    tenant=tenant,
                    session=session,
                    first_name=first_name,
                    last_name=last_name,
                    email=email,
                    user=user if user and user.is_authenticated else None,
                )
        except IntegrityError:
            raise ValidationError(_(ALREADY_WAITING)) from None
        position = WaitlistEntry.objects.filter(
            tenant=tenant, session=session, status=WaitlistStatus.WAITING, created_at__lte=entry.created_at
        ).count()
        notify.waitlist_joined_email(tenant=tenant, entry=entry, position=position)
    return entry


def waitlist_offer_next(*, tenant: Tenant, session_id: int) -> int:
    """Offer every free spot of the session to the people waiting, first come first served; each
    offer holds its spot. Returns how many offers went out."""
    offered = 0
    with transaction.atomic():
        session = Session.objects.get(tenant=tenant, pk=session_id)
        if session.has_started:
            return 0
        while True:
            # SKIP LOCKED: two spots freed at once go to two different people.
            entry = (
                WaitlistEntry.objects.select_for_update(skip_locked=True)
                .filter(tenant=tenant, session_id=session_id, status=WaitlistStatus.WAITING)
                .exclude(_has_a_spot(tenant, session_id))
                .order_by("created_at", "id")
                .first()
            )
            if entry is None or not spot_take(tenant=tenant, session_id=session_id):
                return offered
            _offer(tenant=tenant, session=session, entry=entry)
            offered += 1


def _has_a_spot(tenant: Tenant, session_id: int) -> Q:
    """People who already hold a spot in the session (registered, or with a pending invitation):
    an offer to them would hold a second spot they cannot use."""
    registered = Registration.objects.filter(
        tenant=tenant, session_id=session_id, email__iexact=OuterRef("email"), status__in=HOLDING_REGISTRATION
    )
    invited = SessionInvitation.objects.filter(
        tenant=tenant, session_id=session_id, email__iexact=OuterRef("email"), status=InvitationStatus.PENDING
    )
    return Q(Exists(registered)) | Q(Exists(invited))


def close_waiting_for_registered(*, tenant: Tenant, session_id: int, email: str, keep_id: int | None = None) -> None:
    """Someone who registers (through an invitation, say) leaves the waitlist; an offer they had
    been sent is withdrawn and its spot passes on. Call in the registering transaction."""
    entries = WaitlistEntry.objects.select_for_update().filter(
        tenant=tenant,
        session_id=session_id,
        email__iexact=email,
        status__in=[WaitlistStatus.WAITING, WaitlistStatus.OFFERED],
    )
    if keep_id is not None:
        entries = entries.exclude(pk=keep_id)
    for entry in entries:
        held = entry.status == WaitlistStatus.OFFERED
        entry.status = WaitlistStatus.REGISTERED
        entry.closed_at = timezone.now()
        entry.save(update_fields=["status", "closed_at"])
        if held:
            spot_free(tenant=tenant, session_id=session_id)


def _offer(*, tenant: Tenant, session: Session, entry: WaitlistEntry) -> None:
    now = timezone.now()
    salt = tokens.new_salt()
    token = tokens.link_token("sessions_roster.offer", salt)
    entry.status = WaitlistStatus.OFFERED
    entry.offer_salt = salt
    entry.offer_token_hash = tokens.token_hash(token)
    entry.offered_at = now
    entry.offer_expires_at = min(now + timedelta(hours=session.offer_hold_hours), session.starts_at)
    entry.session = session
    entry.save(update_fields=["status", "offer_salt", "offer_token_hash", "offered_at", "offer_expires_at"])
    notify.waitlist_offer_email(tenant=tenant, entry=entry, token=token)


def spot_free(*, tenant: Tenant, session_id: int) -> None:
    """Give a spot back and offer it to the next person waiting, in the caller's transaction."""
    spot_release(tenant=tenant, session_id=session_id)
    waitlist_offer_next(tenant=tenant, session_id=session_id)


def offer_lapse(*, tenant: Tenant, entry_id: int) -> bool:
    """End an offer whose time is up; its spot passes on. False if it was no longer open."""
    with transaction.atomic():
        entry = WaitlistEntry.objects.select_for_update().filter(tenant=tenant, pk=entry_id).first()
        if entry is None or entry.status != WaitlistStatus.OFFERED or entry.offer_expires_at > timezone.now():
            return False
        entry.status = WaitlistStatus.LAPSED
        entry.closed_at = timezone.now()
        entry.save(update_fields=["status", "closed_at"])
        spot_free(tenant=tenant, session_id=entry.session_id)
    return True


def waitlist_remove(*, tenant: Tenant, entry: WaitlistEntry) -> WaitlistEntry:
    """Staff take someone off the list; an open offer's spot goes to the next person."""
    with transaction.atomic():
        entry = WaitlistEntry.objects.select_for_update().get(tenant=tenant, pk=entry.pk)
        if entry.status not in (WaitlistStatus.WAITING, WaitlistStatus.OFFERED):
            raise ValidationError(_(ENTRY_CLOSED))
        held = entry.status == WaitlistStatus.OFFERED
        entry.status = WaitlistStatus.REMOVED
        entry.closed_at = timezone.now()
        entry.save(update_fields=["status", "closed_at"])
        if held:
            spot_free(tenant=tenant, session_id=entry.session_id)
    return entry


def offer_for_token(*, tenant: Tenant, token: str) -> WaitlistEntry | None:
    if not tokens.looks_like_token(token):
        return None
    entry = (
        WaitlistEntry.objects.filter(tenant=tenant, offer_token_hash=tokens.token_hash(token))
        .select_related("session")
        .first()
    )
    return entry if entry and tokens.link_matches("sessions_roster.offer", entry.offer_salt, token) else None
