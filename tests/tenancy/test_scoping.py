"""Tenant scoping fails closed: no tenant, no rows; a tenant sees only its own rows."""

import pytest
from django.apps import apps
from django.test import RequestFactory

from accounts.models import Client
from tenancy.middleware import TenantMiddleware
from tenancy.models import Tenant
from tenancy.scoping import ScopeError, TenantScopedManager, isolated_scope, scope

from ..factories import ClientFactory, OutboundEmailFactory


def tenant_owned_models():
    return [m for m in apps.get_models() if any(f.name == "tenant" for f in m._meta.fields) and m is not Tenant]


def test_every_tenant_owned_model_uses_the_scoped_manager():
    models = tenant_owned_models()
    assert len(models) >= 5
    for model in models:
        assert isinstance(model._default_manager, TenantScopedManager), model


@pytest.mark.django_db
def test_querying_without_a_tenant_raises(tenant):
    ClientFactory(tenant=tenant)
    with isolated_scope():
        with pytest.raises(ScopeError):
            list(Client.objects.all())
        with pytest.raises(ScopeError):
            Client.objects.filter(tenant=tenant).count()
        with pytest.raises(ScopeError):
            Client.objects.get(tenant=tenant)


@pytest.mark.django_db
def test_a_scope_shows_only_its_own_tenant(tenant, other_tenant):
    mine = ClientFactory(tenant=tenant)
    theirs = ClientFactory(tenant=other_tenant)
    with isolated_scope(tenant=tenant):
        assert list(Client.objects.all()) == [mine]
        assert not Client.objects.filter(pk=theirs.pk).exists()


@pytest.mark.django_db
def test_the_platform_scope_sees_only_rows_without_a_tenant(tenant):
    from messaging.models import OutboundEmail

    tenant_email = OutboundEmailFactory(tenant=tenant)
    platform_email = OutboundEmailFactory(tenant=None)
    with isolated_scope(tenant=None):
        assert list(OutboundEmail.objects.all()) == [platform_email]
    with isolated_scope(tenant=tenant):
        assert list(OutboundEmail.objects.all()) == [tenant_email]


@pytest.mark.django_db
def test_requests_start_from_a_fresh_scope_whatever_surrounds_them(tenant):
    """Even inside scopes_disabled() (as test bodies are), a request outside /t/ has no scope."""
    ClientFactory(tenant=tenant)
    seen = {}

    def view(request):
        try:
            Client.objects.count()
        except ScopeError:
            seen["raised"] = True
        return None

    with scope(tenant=tenant):
        TenantMiddleware(view)(RequestFactory().get("/workspaces/"))
    assert seen == {"raised": True}


@pytest.mark.django_db
def test_a_tenant_request_is_scoped_to_that_tenant(tenant, other_tenant):
    ClientFactory(tenant=tenant)
    ClientFactory(tenant=other_tenant)
    ClientFactory(tenant=other_tenant)
    counts = []
    TenantMiddleware(lambda request: counts.append(Client.objects.count()))(
        RequestFactory().get(f"/t/{other_tenant.slug}/clients/")
    )
    assert counts == [2]
