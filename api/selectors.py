"""Reads of API keys."""

from django.db.models import QuerySet
from django.http import Http404

from tenancy.models import Tenant
from tenancy.scoping import scopes_disabled

from . import keys
from .models import ApiKey


def api_keys_of(*, tenant: Tenant) -> QuerySet[ApiKey]:
    """Active keys first, then revoked ones; newest first within each."""
    return (
        ApiKey.objects.filter(tenant=tenant)
        .select_related("created_by", "revoked_by")
        .order_by("revoked_at", "-created_at", "-id")
    )


def api_key_get(*, tenant: Tenant, api_key_id: int) -> ApiKey:
    key = ApiKey.objects.filter(tenant=tenant, pk=api_key_id).first()
    if key is None:
        raise Http404("No such API key.")
    return key


def api_key_for_text(text: str) -> ApiKey | None:
    """The key a request presents (revoked ones too: the caller says so), or None when the text is
    not a key, or no key has that prefix and secret.

    The one place the API crosses tenants: the key names its workspace, so it is found before any
    tenant scope exists; everything after runs inside that workspace's scope."""
    parts = keys.split(text)
    if parts is None:
        return None
    prefix, secret = parts
    with scopes_disabled():
        key = ApiKey.objects.filter(prefix=prefix).select_related("tenant").first()
    if key is None or not keys.secret_matches(secret, key.secret_hash):
        return None
    return key


def client_packages_listed(*, tenant: Tenant, email: str = "") -> QuerySet:
    """Packages clients hold, with their credits (a client's, when ``email`` is given)."""
    from packages_credits.models import ClientPackage

    rows = ClientPackage.objects.filter(tenant=tenant)
    if email:
        rows = rows.filter(client__email__iexact=email)
    return rows.select_related("client", "tenant").prefetch_related("credits__service")
