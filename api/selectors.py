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


def learner_registrations_listed(
    *, tenant: Tenant, email: str = "", product_session: int | None = None, active: bool | None = None
) -> QuerySet:
    """Learners' access to courses through registration codes (a learner's, a course session's,
    only current or only removed ones)."""
    from regcodes.models import CourseAccess

    rows = CourseAccess.objects.filter(tenant=tenant)
    if email:
        rows = rows.filter(learner__email__iexact=email)
    if product_session is not None:
        rows = rows.filter(product_session_id=product_session)
    if active is not None:
        rows = rows.filter(revoked_at__isnull=active)
    return rows.select_related("learner", "product_session__product", "code__order")
