"""Reads of tenants, members and invitations. Every function takes the tenant explicitly."""

from django.db.models import QuerySet
from django.http import Http404

from .models import Membership, StaffInvitation, Tenant
from .scoping import scopes_disabled
from .tokens import token_hash


def tenant_by_slug(slug: str) -> Tenant | None:
    # The logo's bytes are read only by the logo view (tenancy/branding.py), not on every request.
    return Tenant.objects.defer("logo").filter(slug=slug).first()


def membership_for(*, tenant: Tenant, user) -> Membership | None:
    if not user.is_authenticated:
        return None
    return Membership.objects.filter(tenant=tenant, user=user).first()


def memberships_for_user(*, user) -> list[Membership]:
    """The tenants a user belongs to: the one read that crosses tenants for a person, on purpose."""
    if not user.is_authenticated:
        return []
    with scopes_disabled():
        return list(
            Membership.objects.filter(user=user).select_related("tenant").defer("tenant__logo").order_by("tenant__name")
        )


def members_for_tenant(*, tenant: Tenant) -> QuerySet[Membership]:
    return Membership.objects.filter(tenant=tenant).select_related("user").order_by("user__email")


def membership_get(*, tenant: Tenant, membership_id: int) -> Membership:
    membership = members_for_tenant(tenant=tenant).filter(pk=membership_id).first()
    if membership is None:
        raise Http404("No such team member.")
    return membership


def owner_count(*, tenant: Tenant) -> int:
    return Membership.objects.filter(tenant=tenant, role="owner").count()


def invitations_open(*, tenant: Tenant) -> QuerySet[StaffInvitation]:
    return StaffInvitation.objects.filter(
        tenant=tenant, accepted_at__isnull=True, revoked_at__isnull=True
    ).select_related("invited_by")


def invitation_get(*, tenant: Tenant, invitation_id: int) -> StaffInvitation:
    invitation = invitations_open(tenant=tenant).filter(pk=invitation_id).first()
    if invitation is None:
        raise Http404("No such open invitation.")
    return invitation


def invitation_by_token(*, tenant: Tenant, raw_token: str) -> StaffInvitation | None:
    return StaffInvitation.objects.filter(tenant=tenant, token_hash=token_hash(raw_token)).first()
