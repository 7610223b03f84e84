"""Reads of people. Every tenant read takes the tenant explicitly."""

from django.db.models import Q, QuerySet
from django.http import Http404

from tenancy.models import Tenant

from .models import Client, User, normalize_email


def user_find_by_email(email: str) -> User | None:
    return User.objects.find_by_email(email)


def client_count(*, tenant: Tenant) -> int:
    return Client.objects.filter(tenant=tenant).count()


def clients_search(*, tenant: Tenant, query: str = "") -> QuerySet[Client]:
    """Every word of the query must match the first or last name, the email or the phone."""
    clients = Client.objects.filter(tenant=tenant).select_related("user")
    for word in query.split()[:8]:
        clients = clients.filter(
            Q(first_name__icontains=word)
            | Q(last_name__icontains=word)
            | Q(email__icontains=word)
            | Q(phone__icontains=word)
        )
    return clients.order_by("last_name", "first_name", "id")


def client_get(*, tenant: Tenant, client_id: int) -> Client:
    client = Client.objects.filter(tenant=tenant, pk=client_id).select_related("user").first()
    if client is None:
        raise Http404("No such client.")
    return client


def client_for_user(*, tenant: Tenant, user) -> Client | None:
    """The tenant's card for a signed-in person: linked to them, or unlinked and carrying their email.
    A card linked to another login is never someone else's, whatever email it carries."""
    if not user.is_authenticated:
        return None
    linked = Client.objects.filter(tenant=tenant, user=user).first()
    if linked is not None:
        return linked
    if not user.email_verified:  # a login someone else made for this address does not own its card
        return None
    return Client.objects.filter(tenant=tenant, email__iexact=normalize_email(user.email), user__isnull=True).first()
