"""Holds whose time is up: pending invitations past their expiry and waitlist offers not taken in
time. Each is closed in its own transaction and its spot passes to the next person waiting."""

from django.utils import timezone

from tenancy.models import Tenant

from ..models import InvitationStatus, SessionInvitation, WaitlistEntry, WaitlistStatus
from .invitations import invitation_expire
from .waitlist import offer_lapse


def holds_expire(*, tenant: Tenant) -> int:
    now = timezone.now()
    invitations = SessionInvitation.objects.filter(
        tenant=tenant, status=InvitationStatus.PENDING, expires_at__lte=now
    ).values_list("pk", flat=True)
    offers = WaitlistEntry.objects.filter(
        tenant=tenant, status=WaitlistStatus.OFFERED, offer_expires_at__lte=now
    ).values_list("pk", flat=True)
    closed = sum(invitation_expire(tenant=tenant, invitation_id=pk) for pk in list(invitations))
    return closed + sum(offer_lapse(tenant=tenant, entry_id=pk) for pk in list(offers))
