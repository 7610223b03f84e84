"""Reversing URLs under ``/t/<tenant_slug>/`` without repeating the slug at every call."""

from django.conf import settings
from django.urls import reverse

from .models import Tenant


def tenant_reverse(tenant: Tenant, name: str, **kwargs) -> str:
    return reverse(name, kwargs={"tenant_slug": tenant.slug, **kwargs})


def absolute_tenant_url(tenant: Tenant, name: str, **kwargs) -> str:
    """A link for an email: the configured public base URL plus the path."""
    return settings.SITE_URL.rstrip("/") + tenant_reverse(tenant, name, **kwargs)
