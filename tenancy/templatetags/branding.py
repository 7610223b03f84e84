"""``{% load branding %}{% logo_path tenant as logo %}``: the workspace logo's URL path, or ""."""

from django import template

from tenancy import branding

register = template.Library()


@register.simple_tag
def logo_path(tenant) -> str:
    return branding.logo_path(tenant)
