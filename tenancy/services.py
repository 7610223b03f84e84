"""Writes of tenancy: inviting staff, accepting invitations, roles, and a tenant's own settings."""

from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from accounts.models import User, normalize_email
from messaging.services import email_queue

from .localization import when
from .models import InvitationStatus, Membership, Role, StaffInvitation, Tenant
from .tokens import token_hash, token_new
from .urlresolvers import absolute_tenant_url

ALREADY_MEMBER = gettext_noop("{email} is already a member of this workspace.")
INVITATION_RACE = gettext_noop("An invitation for this address was sent a moment ago. Reload the page.")
INVITATION_CLOSED = gettext_noop("This invitation is no longer open.")
SENT_A_MOMENT_AGO = gettext_noop("This invitation was sent a moment ago; it was not sent again.")
RESEND_GUARD_SECONDS = 10
LAST_OWNER = gettext_noop("A workspace needs at least one owner. Make someone else an owner first.")
WRONG_ACCOUNT = gettext_noop("This invitation was sent to {email}. Sign in with that address to accept it.")
ACCOUNT_EXISTS = gettext_noop("An account with {email} exists already. Sign in to accept the invitation.")

UNUSABLE_MESSAGES = {
    None: "This invitation link is not valid. Check that you copied the whole link from the email.",
    InvitationStatus.ACCEPTED: "This invitation has already been accepted.",
    InvitationStatus.REVOKED: "This invitation was withdrawn. Ask the workspace owner for a new one.",
    InvitationStatus.EXPIRED: "This invitation has expired. Ask the workspace owner to send it again.",
}


class InvitationUnusable(Exception):
    """The link is unknown, accepted, revoked or expired; ``str(exc)`` is the message for the page."""

    def __init__(self, status):
        self.status = status
        super().__init__(UNUSABLE_MESSAGES[status])


def staff_invitation_create(*, tenant: Tenant, email: str, role: str, invited_by: User) -> StaffInvitation:
    """Invite ``email`` to the team; an open invitation for the same address is replaced."""
    email = normalize_email(email)
    if Membership.objects.filter(tenant=tenant, user__email__iexact=email).exists():
        raise ValidationError({"email": _(ALREADY_MEMBER).format(email=email)})
    raw, hashed = token_new()
    now = timezone.now()
    try:
        with transaction.atomic():
            StaffInvitation.objects.filter(
                tenant=tenant, email__iexact=email, accepted_at__isnull=True, revoked_at__isnull=True
            ).update(revoked_at=now)
            invitation = StaffInvitation.objects.create(
                tenant=tenant,
                email=email,
                role=role,
                token_hash=hashed,
                invited_by=invited_by,
                expires_at=now + timedelta(days=settings.STAFF_INVITATION_VALID_DAYS),
            )
            _queue_invitation_email(invitation, raw)
    except IntegrityError:
        raise ValidationError({"email": _(INVITATION_RACE)}) from None
    return invitation


def staff_invitation_resend(*, tenant: Tenant, invitation: StaffInvitation, actor: User) -> StaffInvitation:
    """A new link and a fresh expiry; the old link stops working."""
    raw, hashed = token_new()
    with transaction.atomic():
        invitation = StaffInvitation.objects.select_for_update().get(tenant=tenant, pk=invitation.pk)
        if invitation.accepted_at or invitation.revoked_at:
            raise ValidationError(_(INVITATION_CLOSED))
        now = timezone.now()
        if invitation.sent_at > now - timedelta(seconds=RESEND_GUARD_SECONDS):
            raise ValidationError(_(SENT_A_MOMENT_AGO))
        invitation.token_hash = hashed
        invitation.sent_at = now
        invitation.expires_at = now + timedelta(days=settings.STAFF_INVITATION_VALID_DAYS)
        invitation.save(update_fields=["token_hash", "sent_at", "expires_at"])
        _queue_invitation_email(invitation, raw, actor=actor)
    return invitation


def staff_invitation_revoke(*, tenant: Tenant, invitation: StaffInvitation) -> None:
    StaffInvitation.objects.filter(
        tenant=tenant, pk=invitation.pk, accepted_at__isnull=True, revoked_at__isnull=True
    ).update(revoked_at=timezone.now())


def _queue_invitation_email(invitation: StaffInvitation, raw_token: str, actor: User | None = None) -> None:
    inviter = actor or invitation.invited_by
    email_queue(
        tenant=invitation.tenant,
        to=invitation.email,
        key="tenancy.staff_invitation",
        context={
            "invited_by": inviter.get_full_name() if inviter else invitation.tenant.public_name,
            "role": invitation.get_role_display(),
            "accept_url": absolute_tenant_url(invitation.tenant, "tenancy:join", token=raw_token),
            "expires_at": _local_text(invitation.expires_at, invitation.tenant),
        },
        idempotency_key=f"staff-invitation:{invitation.pk}:{invitation.token_hash[:16]}",
        created_by=inviter,
    )


def _local_text(moment, tenant: Tenant) -> str:
    return f"{when(moment, tenant.zone, 'j F Y, H:i')} ({tenant.time_zone})"


def _locked_open_invitation(*, tenant: Tenant, raw_token: str) -> StaffInvitation:
    invitation = (
        StaffInvitation.objects.select_for_update().filter(tenant=tenant, token_hash=token_hash(raw_token)).first()
    )
    if invitation is None:
        raise InvitationUnusable(None)
    if invitation.status != InvitationStatus.PENDING:
        raise InvitationUnusable(invitation.status)
    return invitation


def staff_invitation_accept(*, tenant: Tenant, raw_token: str, user: User) -> Membership:
    """Join the team as the invited address. Accepting is single use, even when clicked twice."""
    with transaction.atomic():
        invitation = _locked_open_invitation(tenant=tenant, raw_token=raw_token)
        if normalize_email(user.email) != normalize_email(invitation.email):
            raise ValidationError(_(WRONG_ACCOUNT).format(email=invitation.email))
        return _accept(invitation, user)


def staff_invitation_accept_new_user(
    *, tenant: Tenant, raw_token: str, first_name: str, last_name: str, password: str
) -> Membership:
    """Create the invited person's account with the password they chose, and join the team."""
    with transaction.atomic():
        invitation = _locked_open_invitation(tenant=tenant, raw_token=raw_token)
        if User.objects.find_by_email(invitation.email):
            raise ValidationError(_(ACCOUNT_EXISTS).format(email=invitation.email))
        try:
            with transaction.atomic():
                user = User.objects.create_user(
                    invitation.email, password, first_name=first_name.strip(), last_name=last_name.strip()
                )
        except IntegrityError:  # the same address accepted another workspace's invitation just now
            raise ValidationError(_(ACCOUNT_EXISTS).format(email=invitation.email)) from None
        return _accept(invitation, user)


def _accept(invitation: StaffInvitation, user: User) -> Membership:
    membership, _ = Membership.objects.get_or_create(
        tenant=invitation.tenant, user=user, defaults={"role": invitation.role}
    )
    invitation.accepted_at = timezone.now()
    invitation.accepted_by = user
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    return membership


def membership_set_role(*, tenant: Tenant, membership: Membership, role: str) -> Membership:
    with transaction.atomic():
        membership = _lock_for_owner_change(tenant=tenant, membership=membership, losing_owner=role != Role.OWNER)
        membership.role = role
        membership.save(update_fields=["role"])
    return membership


def membership_remove(*, tenant: Tenant, membership: Membership) -> None:
    with transaction.atomic():
        membership = _lock_for_owner_change(tenant=tenant, membership=membership, losing_owner=True)
        membership.delete()


def _lock_for_owner_change(*, tenant: Tenant, membership: Membership, losing_owner: bool) -> Membership:
    """Serialise membership changes on the tenant row, so two owners demoting each other at the
    same moment cannot leave a workspace without an owner."""
    Tenant.objects.select_for_update().filter(pk=tenant.pk).first()
    membership = Membership.objects.get(tenant=tenant, pk=membership.pk)
    if losing_owner and membership.role == Role.OWNER:
        if Membership.objects.filter(tenant=tenant, role=Role.OWNER).count() <= 1:
            raise ValidationError(_(LAST_OWNER))
    return membership


def tenant_settings_update(*, tenant: Tenant, **fields) -> Tenant:
    allowed = {"name", "display_name", "time_zone", "currency", "language", "brand_color"}
    unknown = set(fields) - allowed
    if unknown:
        raise TypeError(f"Not tenant settings: {', '.join(sorted(unknown))}")
    for name, value in fields.items():
        setattr(tenant, name, value)
    tenant.full_clean()
    tenant.save(update_fields=sorted(fields))
    return tenant
