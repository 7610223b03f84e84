"""Resolve the tenant from ``/t/<slug>/…`` and run the request inside its scope.

Every request starts from a fresh scope state: a tenant path gets that tenant's scope (and its language
and time zone: tenancy/localization.py), the Django
admin (platform operators) runs with scopes disabled, and every other path has no scope at all, so
a tenant-owned model queried there raises instead of leaking.
"""

import re

from django.http import Http404

from .events import acting_as, actor_of
from .localization import tenant_locale
from .scoping import isolated_scope
from .selectors import tenant_by_slug

TENANT_PATH = re.compile(r"^/t/(?P<slug>[^/]+)/")
SLUG_SHAPE = re.compile(r"[a-z0-9-]{1,50}")
ADMIN_PATH = "/admin/"


class TenantMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        # What the request changes is done by its signed-in person (tenancy/events.py), looked up
        # only when an event needs it.
        with acting_as(lambda: actor_of(getattr(request, "user", None))):
            return self._in_scope(request)

    def _in_scope(self, request):
        request.tenant = None
        if "\x00" in request.path_info:  # no URL holds a NUL, and PostgreSQL refuses to compare one
            raise Http404("No such page.")
        match = TENANT_PATH.match(request.path_info)
        if match:
            # Anything that cannot be a slug (NUL bytes, 10 kB of text) is a 404 before any query.
            tenant = tenant_by_slug(match["slug"]) if SLUG_SHAPE.fullmatch(match["slug"]) else None
            if tenant is None:
                raise Http404("No such workspace.")
            request.tenant = tenant
            with isolated_scope(tenant=tenant), tenant_locale(tenant):
                return self.get_response(request)
        if request.path_info.startswith(ADMIN_PATH):
            with isolated_scope(_enabled=False):
                return self.get_response(request)
        with isolated_scope():
            return self.get_response(request)
