"""Reads of packages; every one starts from the tenant."""

from django.db.models import Count, Q, QuerySet, Sum
from django.shortcuts import get_object_or_404
from django.utils import timezone

from accounts.models import Client
from tenancy.models import Tenant

from .models import ClientPackage, CreditUse, Package


def packages_of(*, tenant: Tenant) -> QuerySet:
    return (
        Package.objects.filter(tenant=tenant)
        .prefetch_related("items__service")
        .annotate(held_count=Count("held"))
        .order_by("-is_active", "name")
    )


def package_get(*, tenant: Tenant, package_id: int) -> Package:
    return get_object_or_404(Package.objects.filter(tenant=tenant), pk=package_id)


def packages_offered(*, tenant: Tenant) -> QuerySet:
    """Active packages that have not ended (a fixed end date in the past cannot be sold)."""
    today = timezone.localdate(timezone=tenant.zone)
    return (
        Package.objects.filter(tenant=tenant, is_active=True)
        .filter(Q(valid_until__isnull=True) | Q(valid_until__gte=today))
        .order_by("name")
    )


def client_packages(*, tenant: Tenant, client: Client) -> QuerySet:
    return (
        ClientPackage.objects.filter(tenant=tenant, client=client)
        .select_related("tenant")
        .prefetch_related("credits__service", "payments")
        .annotate(total_sessions=Sum("credits__total"), used_sessions=Sum("credits__used"))
        .order_by("-created_at", "-id")
    )


def client_package_get(*, tenant: Tenant, client: Client, client_package_id: int) -> ClientPackage:
    return get_object_or_404(ClientPackage.objects.filter(tenant=tenant, client=client), pk=client_package_id)


def credit_uses_of(*, tenant: Tenant, client: Client) -> QuerySet:
    return (
        CreditUse.objects.filter(tenant=tenant, credit__client_package__client=client)
        .select_related("booking__service", "credit__client_package")
        .order_by("-used_at")
    )


def clients_with_active_packages(*, tenant: Tenant) -> QuerySet:
    today = timezone.localdate(timezone=tenant.zone)
    return Client.objects.filter(
        tenant=tenant,
        pk__in=ClientPackage.objects.filter(tenant=tenant, status="active", expires_on__gte=today).values("client"),
    ).order_by("last_name", "first_name", "id")


def services_covered(*, tenant: Tenant, client: Client) -> QuerySet:
    """Services some package of the client covers, whatever its state: the page then says why a
    cancelled, expired, unpaid or used-up package does not apply."""
    from bookings.models import Service

    return Service.objects.filter(
        tenant=tenant,
        is_active=True,
        pk__in=ClientPackage.objects.filter(tenant=tenant, client=client).values("services"),
    ).order_by("name")
