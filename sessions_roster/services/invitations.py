"""Session invitations: send (holding a spot), resend the same link, cancel, expire, and the
one-time emailed code that proves the invited address for a locked invitation."""

import hmac
import secrets
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from accounts.models import normalize_email
from messaging.sms import phone_normalise
from tenancy import tokens
from tenancy.models import Tenant

from ..models import (
    HOLDING_REGISTRATION,
    DiscountCode,
    InvitationStatus,
    Registration,
    Session,
    SessionInvitation,
    WaitlistEntry,
    WaitlistStatus,
)
from . import notify
from .discounts import DISCOUNT_NOT_FOR_SESSION, DiscountRefused, discount_applies_to, discount_check
from .spots import person_lock, spot_add, spot_take
from .waitlist import ALREADY_REGISTERED, SESSION_STARTED, spot_free

SESSION_FULL = gettext_noop(
    "This session is full. Tick “Raise the capacity by one” to invite this person anyway; the session "
    "then takes one more person."
)
SESSION_NOT_HERE = gettext_noop("This session is not in this workspace.")
ALREADY_OFFERED = gettext_noop(
    "This email address has an open waitlist offer for this session, which already holds a spot."
)
ALREADY_INVITED = gettext_noop("This email address already has a pending invitation to this session.")
EXPIRY_IN_PAST = gettext_noop("The expiry must be in the future.")
EXPIRY_AFTER_START = gettext_noop("The expiry must be before the session starts.")
NOT_PENDING = gettext_noop("This invitation is no longer pending, so it cannot be {action}.")
SENT_A_MOMENT_AGO = gettext_noop("This invitation was sent a moment ago; it was not sent again.")
RESEND_GUARD_SECONDS = 10

LINK_CANCELLED = gettext_noop("This invitation was cancelled by the organiser, so the link no longer works.")
LINK_EXPIRED = gettext_noop("This invitation has expired, so the link no longer works. Its spot has been freed.")
LINK_USED = gettext_noop("This invitation has already been used to register. A link can be used once.")
LINK_UNKNOWN = gettext_noop("This invitation link is not valid. Check that you copied the whole link from the email.")
LINK_SESSION_STARTED = gettext_noop("This session has already started, so the invitation can no longer be used.")

PROOF_SENT_A_MOMENT_AGO = gettext_noop(
    "We sent a code a moment ago. Check your inbox (and spam folder) before asking again."
)
PROOF_WRONG = gettext_noop("That code is not right. Check the email and try again.")
PROOF_EXPIRED = gettext_noop("That code has expired. Ask for a new one.")
PROOF_TOO_MANY = gettext_noop("Too many wrong codes. Ask for a new code.")
PROOF_NONE = gettext_noop("Ask for a code first.")
PROOF_NO_MORE_CODES = gettext_noop(
    "No more codes can be sent for this invitation. Sign in with the invited address, or ask the organiser "
    "to send the invitation again."
)
PROOF_NOT_NEEDED = gettext_noop("This invitation does not need a code.")
PROOF_RESEND_SECONDS = 30


class InvitationClosed(Exception):
    """An invitation link that cannot be used; ``str(exc)`` is the message for the page, ``status``
    404 for a link we do not know and 410 (gone) for one that is closed."""

    def __init__(self, message: str, status: int = 410):
        super().__init__(message)
        self.status = status


def invitation_send(
    *,
    tenant: Tenant,
    session: Session,
    email: str,
    phone: str = "",
    discount_code: DiscountCode | None = None,
    lock_to_email: bool = False,
    expires_at=None,
    raise_capacity: bool = False,
    actor=None,
) -> SessionInvitation:
    """Invite ``email`` (and by SMS ``phone``, when given) and hold a spot for them. A full session
    is refused unless ``raise_capacity``: then the capacity grows by one for this invitation."""
    email = normalize_email(email)
    try:
        phone = phone_normalise(phone) if phone.strip() else ""
    except ValidationError as exc:
        raise ValidationError({"phone": exc.messages}) from None
    if session.tenant_id != tenant.pk:
        raise ValidationError(_(SESSION_NOT_HERE))
    _check_new(tenant=tenant, session=session, discount_code=discount_code, expires_at=expires_at)
    salt = tokens.new_salt()
    token = tokens.link_token("sessions_roster.invitation", salt)
    with transaction.atomic():
        person_lock(session_id=session.pk, email=email)
        if Registration.objects.filter(
            tenant=tenant, session=session, email__iexact=email, status__in=HOLDING_REGISTRATION
        ).exists():
            raise ValidationError({"email": _(ALREADY_REGISTERED)})
        if WaitlistEntry.objects.filter(
            tenant=tenant, session=session, email__iexact=email, status=WaitlistStatus.OFFERED
        ).exists():
            raise ValidationError({"email": _(ALREADY_OFFERED)})
        if SessionInvitation.objects.filter(
            tenant=tenant, session=session, email__iexact=email, status=InvitationStatus.PENDING
        ).exists():
            raise ValidationError({"email": _(ALREADY_INVITED)})
        raised = False
        if not spot_take(tenant=tenant, session_id=session.pk):
            if not raise_capacity:
                raise ValidationError(_(SESSION_FULL), code="full")
            spot_add(tenant=tenant, session_id=session.pk)
            raised = True
        try:
            with transaction.atomic():
                invitation = SessionInvitation.objects.create(
                    tenant=tenant,
                    session=session,
                    email=email,
                    phone=phone,
                    discount_code=discount_code,
                    lock_to_email=lock_to_email,
                    expires_at=expires_at,
                    token_salt=salt,
                    token_hash=tokens.token_hash(token),
                    raised_capacity=raised,
                    created_by=actor,
                )
        except IntegrityError:
            raise ValidationError({"email": _(ALREADY_INVITED)}) from None
        _send(tenant=tenant, invitation=invitation, actor=actor)
    return invitation


def _check_new(*, tenant, session, discount_code, expires_at) -> None:
    if session.has_started:
        raise ValidationError(_(SESSION_STARTED))
    if expires_at is not None:
        if expires_at <= timezone.now():
            raise ValidationError({"expires_at": _(EXPIRY_IN_PAST)})
        if expires_at > session.starts_at:
            raise ValidationError({"expires_at": _(EXPIRY_AFTER_START)})
    if discount_code is not None:
        if discount_code.tenant_id != tenant.pk or not discount_applies_to(discount_code, {session.pk}):
            raise ValidationError({"discount_code": _(DISCOUNT_NOT_FOR_SESSION)})
        try:
            discount_check(tenant=tenant, discount=discount_code)
        except DiscountRefused as exc:
            raise ValidationError({"discount_code": str(exc)}) from None


def _send(*, tenant: Tenant, invitation: SessionInvitation, actor) -> None:
    """Email the link; a (re)send by staff also gives the invitee a fresh allowance of proof codes."""
    invitation.proof_codes_sent = 0
    invitation.times_sent += 1
    invitation.sent_at = timezone.now()
    token = tokens.link_token("sessions_roster.invitation", invitation.token_salt)
    # After a change of SECRET_KEY the link is rebuilt under the new key: look it up by that one.
    invitation.token_hash = tokens.token_hash(token)
    invitation.save(update_fields=["times_sent", "sent_at", "token_hash", "proof_codes_sent"])
    notify.invitation_email(tenant=tenant, invitation=invitation, token=token, actor=actor)


def invitation_resend(*, tenant: Tenant, invitation: SessionInvitation, actor) -> SessionInvitation:
    """A new email with the same link; refused for a double click and for a closed invitation."""
    invitation_expire(tenant=tenant, invitation_id=invitation.pk)  # committed before any refusal below
    with transaction.atomic():
        invitation = _locked(tenant, invitation.pk)
        if invitation.status != InvitationStatus.PENDING:
            raise ValidationError(_(NOT_PENDING).format(action="resent"))
        if invitation.session.has_started:
            raise ValidationError(_(SESSION_STARTED))
        if invitation.sent_at and invitation.sent_at > timezone.now() - timedelta(seconds=RESEND_GUARD_SECONDS):
            raise ValidationError(_(SENT_A_MOMENT_AGO))
        _send(tenant=tenant, invitation=invitation, actor=actor)
    return invitation


def invitation_cancel(*, tenant: Tenant, invitation: SessionInvitation, actor) -> SessionInvitation:
    """The link stops working and the spot is freed (and offered to the waitlist)."""
    with transaction.atomic():
        invitation = _locked(tenant, invitation.pk)
        if invitation.status != InvitationStatus.PENDING:
            raise ValidationError(_(NOT_PENDING).format(action="cancelled"))
        _close(invitation, InvitationStatus.CANCELLED, actor=actor)
        spot_free(tenant=tenant, session_id=invitation.session_id)
    return invitation


def invitation_expire(*, tenant: Tenant, invitation_id: int) -> bool:
    """Expire a pending invitation whose time is up, freeing its spot. False if nothing was due."""
    with transaction.atomic():
        invitation = SessionInvitation.objects.select_for_update().filter(tenant=tenant, pk=invitation_id).first()
        return invitation is not None and _expire_if_due(tenant, invitation)


def _expire_if_due(tenant: Tenant, invitation: SessionInvitation) -> bool:
    if not invitation.is_due_to_expire:
        return False
    _close(invitation, InvitationStatus.EXPIRED)
    spot_free(tenant=tenant, session_id=invitation.session_id)
    return True


def _close(invitation: SessionInvitation, status: str, actor=None) -> None:
    invitation.status = status
    invitation.closed_at = timezone.now()
    invitation.cancelled_by = actor if status == InvitationStatus.CANCELLED else None
    invitation.save(update_fields=["status", "closed_at", "cancelled_by"])


def _locked(tenant: Tenant, invitation_id: int) -> SessionInvitation:
    # of=self: the joined session row is not locked here (its counter is changed by UPDATEs, in order).
    rows = SessionInvitation.objects.select_for_update(of=("self",)).select_related("session")
    return rows.get(tenant=tenant, pk=invitation_id)


def invitation_for_token(*, tenant: Tenant, token: str) -> SessionInvitation | None:
    if not tokens.looks_like_token(token):
        return None
    invitation = (
        SessionInvitation.objects.filter(tenant=tenant, token_hash=tokens.token_hash(token))
        .select_related("session", "discount_code")
        .first()
    )
    return (
        invitation
        if invitation and tokens.link_matches("sessions_roster.invitation", invitation.token_salt, token)
        else None
    )


def invitation_refusal(invitation: SessionInvitation) -> str:
    """Why the invitation's link cannot be used now; "" while it can."""
    if invitation.is_due_to_expire:
        return _(LINK_EXPIRED)
    return {
        InvitationStatus.CANCELLED: _(LINK_CANCELLED),
        InvitationStatus.EXPIRED: _(LINK_EXPIRED),
        InvitationStatus.ACCEPTED: _(LINK_USED),
    }.get(invitation.status, "")


def invitation_open(*, tenant: Tenant, token: str) -> SessionInvitation:
    """The invitation behind a link if it can be used now, or ``InvitationClosed`` saying why not.
    An invitation past its expiry is expired here and then (freeing its spot) if the sweeper has not."""
    invitation = invitation_for_token(tenant=tenant, token=token)
    if invitation is None:
        raise InvitationClosed(_(LINK_UNKNOWN), status=404)
    if invitation.is_due_to_expire:
        invitation_expire(tenant=tenant, invitation_id=invitation.pk)
        invitation.refresh_from_db()
    if refusal := invitation_refusal(invitation):
        raise InvitationClosed(refusal)
    if invitation.session.has_started:
        raise InvitationClosed(_(LINK_SESSION_STARTED))
    return invitation


def _proof_digest(invitation: SessionInvitation, code: str) -> str:
    return salted_hmac("tessera.sessions_roster.proof", f"{invitation.pk}:{code}", algorithm="sha256").hexdigest()


def proof_send(*, tenant: Tenant, invitation: SessionInvitation) -> None:
    """Email a six-digit code to the invited address; only its keyed hash is kept."""
    minutes = settings.EMAIL_PROOF_MINUTES
    with transaction.atomic():
        invitation = _locked(tenant, invitation.pk)
        if invitation.status != InvitationStatus.PENDING or not invitation.lock_to_email:
            raise ValidationError(_(PROOF_NOT_NEEDED))
        now = timezone.now()
        if invitation.proof_expires_at and invitation.proof_expires_at - timedelta(minutes=minutes) > now - timedelta(
            seconds=PROOF_RESEND_SECONDS
        ):
            raise ValidationError(_(PROOF_SENT_A_MOMENT_AGO))
        if invitation.proof_codes_sent >= settings.EMAIL_PROOF_CODES:
            raise ValidationError(_(PROOF_NO_MORE_CODES))
        code = f"{secrets.randbelow(1_000_000):06d}"
        invitation.proof_hash = _proof_digest(invitation, code)
        invitation.proof_expires_at = now + timedelta(minutes=minutes)
        invitation.proof_attempts = 0
        invitation.proof_codes_sent += 1
        invitation.save(update_fields=["proof_hash", "proof_expires_at", "proof_attempts", "proof_codes_sent"])
        notify.proof_email(tenant=tenant, invitation=invitation, code=code, attempt=int(now.timestamp() * 1000))


def proof_check(*, tenant: Tenant, invitation: SessionInvitation, typed: str) -> None:
    """Accept the emailed code once, or raise ``ValidationError``; every wrong try is counted."""
    typed = "".join(ch for ch in typed if ch.isdigit())
    with transaction.atomic():
        invitation = _locked(tenant, invitation.pk)
        if not invitation.proof_hash:
            raise ValidationError(_(PROOF_NONE))
        if invitation.proof_attempts >= settings.EMAIL_PROOF_ATTEMPTS:
            raise ValidationError(_(PROOF_TOO_MANY))
        if invitation.proof_expires_at <= timezone.now():
            raise ValidationError(_(PROOF_EXPIRED))
        if not hmac.compare_digest(invitation.proof_hash, _proof_digest(invitation, typed)):
            invitation.proof_attempts += 1
            invitation.save(update_fields=["proof_attempts"])
            wrong = True
        else:
            invitation.proof_hash = ""
            invitation.proof_expires_at = None
            invitation.save(update_fields=["proof_hash", "proof_expires_at"])
            wrong = False
    if wrong:  # raised after the commit, so the wrong try stays counted
        raise ValidationError(_(PROOF_WRONG))


def proves_address(*, invitation: SessionInvitation, user) -> bool:
    """A signed-in person whose login is the invited address, proven by an emailed link, needs no code."""
    return bool(
        user
        and user.is_authenticated
        and user.email_verified
        and normalize_email(user.email) == normalize_email(invitation.email)
    )
