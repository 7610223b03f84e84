"""Bearer API keys for the JSON API, and the view base that runs every request inside the key's
workspace.

The key names its tenant, so the key is looked up before any scope exists (``api_key_for_text``,
the one crossing); then the whole view runs inside ``isolated_scope(tenant=…)``, the tenant's time
zone and ``acting_as`` the key, exactly as the tenant middleware runs a page: the fail-closed
managers guard every query and the audit trail names the key as the actor.
"""

import logging

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions, permissions, throttling
from rest_framework.authentication import BaseAuthentication
from rest_framework.renderers import JSONRenderer
from rest_framework.views import APIView

from tenancy.events import Actor, acting_as
from tenancy.localization import tenant_locale
from tenancy.scoping import isolated_scope

from .selectors import api_key_for_text
from .services import api_key_mark_used

NO_KEY = "Send your API key in the header “Authorization: Bearer <key>”."
BAD_KEY = "This API key is not valid: check that it was copied whole."
REVOKED_KEY = "This API key was revoked. Ask an admin of the workspace for a new one."
READ_ONLY_KEY = "This API key may only read. An admin can create a read-and-write key."

logger = logging.getLogger(__name__)


def presented_key(request):
    """``(key, problem)``: the active key of the request, or None and why not."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    kind, _, text = header.partition(" ")
    if kind.lower() != "bearer" or not text.strip():
        return None, NO_KEY
    key = api_key_for_text(text)
    if key is None:
        return None, BAD_KEY
    if key.revoked_at is not None:
        return None, REVOKED_KEY
    return key, ""


class ApiKeyAuthentication(BaseAuthentication):
    """Reads what ``TenantApiView.dispatch`` found; the request has no user (AnonymousUser), its
    ``request.auth`` is the key."""

    def authenticate(self, request):
        key = getattr(request._request, "api_key", None)
        if key is None:
            raise exceptions.AuthenticationFailed(getattr(request._request, "api_key_problem", NO_KEY))
        return AnonymousUser(), key

    def authenticate_header(self, request):
        return 'Bearer realm="api"'


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = ApiKeyAuthentication
    name = "ApiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "tess_<prefix>_<secret>",
            "description": "An API key of one workspace (dashboard → API keys).",
        }


class KeyScopeAllows(permissions.BasePermission):
    """Read keys: safe methods only. Read-and-write keys: everything."""

    message = READ_ONLY_KEY

    def has_permission(self, request, view):
        key = request.auth
        if key is None:
            return False
        return request.method in permissions.SAFE_METHODS or key.can_write


class ApiKeyRateThrottle(throttling.SimpleRateThrottle):
    """``API_RATE_LIMIT`` requests per key, counted in the default cache (shared by every web
    process when it is Redis). Read at each request, so a changed setting applies at once."""

    scope = "api_key"

    def get_rate(self):
        return settings.API_RATE_LIMIT

    def get_cache_key(self, request, view):
        if request.auth is None:
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.auth.pk}

    def allow_request(self, request, view):
        """With the cache down (Redis stopped) requests go through uncounted, as the pages' limits do
        (tenancy/ratelimit.py): an outage of the cache must not become an outage of the API."""
        try:
            return super().allow_request(request, view)
        except Exception:  # any backend's connection error
            logger.warning("API rate limit not counted: the cache is unavailable", exc_info=True)
            return True


class TenantApiView(APIView):
    authentication_classes = [ApiKeyAuthentication]
    permission_classes = [KeyScopeAllows]
    throttle_classes = [ApiKeyRateThrottle]
    renderer_classes = [JSONRenderer]

    def dispatch(self, request, *args, **kwargs):
        key, problem = presented_key(request)
        request.api_key, request.api_key_problem = key, problem
        if key is None:
            with isolated_scope():  # refused by the authentication class, with no scope at all
                return super().dispatch(request, *args, **kwargs)
        tenant = key.tenant
        request.tenant = tenant
        actor = Actor(label=f"API key “{key.name}”", api_key_id=key.pk)
        with isolated_scope(tenant=tenant), tenant_locale(tenant), acting_as(actor):
            api_key_mark_used(tenant=tenant, key=key)
            return super().dispatch(request, *args, **kwargs)
