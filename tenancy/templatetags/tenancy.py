from django import template

from ..localization import money as format_money
from ..urlresolvers import tenant_reverse

register = template.Library()


@register.simple_tag(takes_context=True)
def turl(context, name, **kwargs):
    """``{% turl "clients:detail" client_id=c.pk %}``: reverse inside the current tenant."""
    return tenant_reverse(context["tenant"], name, **kwargs)


@register.simple_tag(takes_context=True)
def query_with(context, **changes):
    """The current query string with some parameters changed (``None`` or "" drops one)."""
    params = context["request"].GET.copy()
    for key, value in changes.items():
        if value in (None, ""):
            params.pop(key, None)
        else:
            params[key] = value
    encoded = params.urlencode()
    return f"?{encoded}" if encoded else "?"


@register.filter
def money(amount, currency=""):
    """``{{ price|money:tenant.currency }}``: "30.00 EUR" in English, "30,00 EUR" in Dutch."""
    return format_money(amount, currency)
