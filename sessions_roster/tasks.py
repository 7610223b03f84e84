"""Thin tasks of session rosters: the beat sweep that frees spots held past their time."""

from celery import shared_task
from django.db.models import Q
from django.utils import timezone

from tenancy.scoping import scopes_disabled
from tenancy.tasks import TenantTask

from .models import InvitationStatus, SessionInvitation, WaitlistEntry, WaitlistStatus
from .services.holds import holds_expire


@shared_task(base=TenantTask, name="sessions_roster.tasks.expire_tenant_holds")
def expire_tenant_holds(*, tenant):
    return holds_expire(tenant=tenant)


@shared_task(name="sessions_roster.tasks.expire_holds")
def expire_holds():
    """Find the tenants with holds past their time (crossing tenants, ids only) and sweep each."""
    now = timezone.now()
    with scopes_disabled():
        invitations = SessionInvitation.objects.filter(Q(status=InvitationStatus.PENDING) & Q(expires_at__lte=now))
        offers = WaitlistEntry.objects.filter(status=WaitlistStatus.OFFERED, offer_expires_at__lte=now)
        tenant_ids = set(invitations.values_list("tenant_id", flat=True)) | set(
            offers.values_list("tenant_id", flat=True)
        )
    for tenant_id in sorted(tenant_ids):
        expire_tenant_holds.apply_async(kwargs={"tenant_id": tenant_id})
    return len(tenant_ids)
