from django.utils.functional import SimpleLazyObject

from . import navigation
from .selectors import memberships_for_user


def tenancy(request):
    tenant = getattr(request, "tenant", None)
    membership = getattr(request, "membership", None)
    match = getattr(request, "resolver_match", None)
    current = f"{match.namespace}:{match.url_name}" if match else ""
    nav = []
    if tenant is not None and membership is not None:
        for item in navigation.items_for(membership.role):
            prefix = item.active_prefix or item.url_name
            nav.append({"item": item, "active": current == item.url_name or current.startswith(prefix)})
    return {
        "tenant": tenant,
        "membership": membership,
        "nav": nav,
        "user_memberships": SimpleLazyObject(lambda: memberships_for_user(user=request.user)),
    }
