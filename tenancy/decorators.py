"""View decorators for tenant URLs. They take ``tenant_slug`` off the view's arguments (the
middleware has already resolved ``request.tenant``) and check who may see the page."""

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from .models import Role
from .selectors import membership_for

NOT_A_MEMBER = gettext_noop("You are not a member of this workspace.")
ROLE_TOO_LOW = gettext_noop("Your role in this workspace does not allow this page.")


def staff_required(min_role: str = Role.STAFF):
    """Signed-in members of the tenant with at least ``min_role``; sets ``request.membership``."""

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, tenant_slug, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            membership = membership_for(tenant=request.tenant, user=request.user)
            if membership is None:
                raise PermissionDenied(_(NOT_A_MEMBER))
            if not membership.has_role(min_role):
                raise PermissionDenied(_(ROLE_TOO_LOW))
            request.membership = membership
            return view(request, *args, **kwargs)

        wrapper.tenant_access = "staff"
        wrapper.min_role = min_role
        return wrapper

    return decorator


def customer_required(view):
    """Any signed-in person, in this tenant's My Account portal."""

    @wraps(view)
    def wrapper(request, *args, tenant_slug, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        request.membership = membership_for(tenant=request.tenant, user=request.user)
        return view(request, *args, **kwargs)

    wrapper.tenant_access = "customer"
    return wrapper


def public(view):
    """Anyone, signed in or not: public booking pages, invitation links."""

    @wraps(view)
    def wrapper(request, *args, tenant_slug, **kwargs):
        request.membership = membership_for(tenant=request.tenant, user=request.user)
        return view(request, *args, **kwargs)

    wrapper.tenant_access = "public"
    return wrapper
