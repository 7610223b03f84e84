"""The tenant isolation test: it walks every URL pattern of the project.

* Under ``/t/<tenant_slug>/``, a staff page of another tenant answers 403/404 to a member of this
  one, and every URL filled in with another tenant's objects answers 403/404/405 — for GET and POST —
  and the other tenant's rows are unchanged afterwards.
* Anonymous visitors are sent to sign in; every page answers without a server error to junk input.

Later apps are covered without extra work: a URL argument not seen before must be registered in
``OBJECT_ARGUMENTS`` (and made in ``tests/world.py``) or ``PLAIN_ARGUMENTS``, and until it is, the
test fails and names it. Global URLs (outside any tenant) must be listed in ``GLOBAL_URLS``.
"""

from dataclasses import dataclass

import pytest
from django.apps import apps
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from tenancy.models import Role, Tenant

from .conftest import member, signed_in
from .world import build_world

# Every URL argument: an object of a tenant (made once per tenant, related to the others, by
# tests/world.py), or a value valid in every tenant.
OBJECT_ARGUMENTS = {
    "client_id",
    "member_id",
    "invitation_id",
    "email_id",
    "token",
    "organisation_id",
    "contract_id",
    "price_id",
    "participant_id",
    "code_id",
    "batch_id",
    "service_id",
    "availability_id",
    "booking_id",
    "reference",
    "job_id",
    "session_id",
    "session_key",
    "invite_id",
    "invite_token",
    "registration_id",
    "order_reference",
    "entry_id",
    "offer_token",
    "discount_id",
    "seat_token",
    "order_id",
    "seat_invite_id",
    "access_id",
    "product_id",
    "product_session_id",
    "learner_id",
    "package_id",
    "client_package_id",
    "api_key_id",
    "event_id",
    "endpoint_id",
    "delivery_id",
    "export_id",
}
PLAIN_ARGUMENTS = {"key": "tenancy.staff_invitation", "stamp": 1, "ext": "png"}  # stamp, ext: the logo URL


# Outside any tenant; each with the reason it holds no tenant data.
GLOBAL_URLS = {
    "root": "redirects to sign-in or the workspace list",
    "workspaces": "lists only the signed-in person's own memberships",
    "accounts:login": "sign-in",
    "accounts:logout": "sign-out",
    "accounts:password_reset": "asks for an email address",
    "accounts:password_reset_done": "static text",
    "accounts:password_reset_confirm": "Django's signed, per-user token",
    "accounts:password_reset_complete": "static text",
    "accounts:password_change": "the signed-in person's own password",
    "accounts:password_change_done": "static text",
    "api:schema": "the API's OpenAPI schema: no tenant data",
    "api:docs": "the API's docs page: no tenant data",
    "api:contracts": "JSON API: tenant from the API key",
    "api:codes": "JSON API: tenant from the API key",
    "api:batch": "JSON API: tenant from the API key",
    "api:participants": "JSON API: tenant from the API key",
    "api:contract_imports": "JSON API: tenant from the API key",
    "api:code_lookup": "JSON API: tenant from the API key",
    "api:code_redeem": "JSON API: tenant from the API key",
    "api:bookings": "JSON API: tenant from the API key",
    "api:sessions": "JSON API: tenant from the API key",
    "api:registrations": "JSON API: tenant from the API key",
    "api:packages": "JSON API: tenant from the API key",
    "api:learner_registrations": "JSON API: tenant from the API key",
    "api:import": "JSON API: tenant from the API key",
    "api:import_commit": "JSON API: tenant from the API key",
}
# Arguments of the global URLs that take some (the JSON API's), for the junk-input walk.
GLOBAL_URL_ARGUMENTS = {
    "api:codes": {"contract_id": 1},
    "api:batch": {"contract_id": 1, "batch_id": 1},
    "api:participants": {"contract_id": 1},
    "api:contract_imports": {"contract_id": 1},
    "api:registrations": {"session_id": 1},
    "api:import": {"job_id": 1},
    "api:import_commit": {"job_id": 1},
}
PLATFORM_PREFIX = "admin/"  # Django admin: platform operators (is_staff) only
JUNK_QUERY = {"page": "-1x", "q": "\x00<script>", "status": "nonsense", "sort": "'; drop table"}
JUNK_FORM = {"email": "not-an-email", "role": "emperor", "first_name": "x" * 500, "subject": "{% if %}"}


@dataclass(frozen=True)
class Route:
    name: str | None
    route: str
    callback: object
    arguments: tuple[str, ...]

    @property
    def in_tenant(self) -> bool:
        return "tenant_slug" in self.arguments

    @property
    def object_arguments(self) -> tuple[str, ...]:
        return tuple(a for a in self.arguments if a != "tenant_slug")


def _pattern_arguments(pattern) -> list[str]:
    converters = getattr(pattern.pattern, "converters", None)
    if converters is not None:
        return list(converters)
    return list(pattern.pattern.regex.groupindex)


def all_routes(patterns=None, prefix="", namespace="", arguments=()):
    patterns = get_resolver().url_patterns if patterns is None else patterns
    for pattern in patterns:
        found = tuple(arguments) + tuple(_pattern_arguments(pattern))
        if isinstance(pattern, URLResolver):
            inner = namespace + (f"{pattern.namespace}:" if pattern.namespace else "")
            yield from all_routes(pattern.url_patterns, prefix + str(pattern.pattern), inner, found)
        elif isinstance(pattern, URLPattern):
            name = f"{namespace}{pattern.name}" if pattern.name else None
            yield Route(name, prefix + str(pattern.pattern), pattern.callback, found)


def tenant_routes():
    return [r for r in all_routes() if r.in_tenant]


def url_for(route: Route, tenant: Tenant, values: dict) -> str:
    return reverse(route.name, kwargs={"tenant_slug": tenant.slug, **values})


def make_values(route: Route, world) -> dict:
    return {
        arg: world.objects[arg] if arg in OBJECT_ARGUMENTS else PLAIN_ARGUMENTS[arg] for arg in route.object_arguments
    }


def snapshot(tenant: Tenant) -> dict:
    """Every row of every tenant-owned model of ``tenant``, to prove nothing changed."""
    rows = {}
    for model in apps.get_models():
        if any(f.name == "tenant" for f in model._meta.fields) and model is not Tenant:
            rows[model._meta.label] = sorted(map(repr, model.objects.filter(tenant=tenant).values()))
    return rows


def test_every_url_is_named_and_every_tenant_view_declares_who_may_see_it():
    problems = []
    for route in all_routes():
        if route.route.startswith(PLATFORM_PREFIX):
            continue
        if route.name is None:
            problems.append(f"{route.route}: unnamed")
        elif route.in_tenant and getattr(route.callback, "tenant_access", None) is None:
            problems.append(f"{route.name}: decorate with staff_required, customer_required or public")
        elif not route.in_tenant and route.name not in GLOBAL_URLS:
            problems.append(f"{route.name}: a URL outside /t/<slug>/; list it in GLOBAL_URLS with a reason")
    assert not problems, "\n".join(problems)


def test_every_url_argument_can_be_filled_in():
    known = OBJECT_ARGUMENTS | set(PLAIN_ARGUMENTS)
    missing = sorted(
        {
            f"{arg} (used by {route.name})"
            for route in tenant_routes()
            for arg in route.object_arguments
            if arg not in known
        }
    )
    assert not missing, "Register these in OBJECT_ARGUMENTS (and tests/world.py) or PLAIN_ARGUMENTS: " + ", ".join(
        missing
    )


@pytest.mark.django_db
def test_no_url_reaches_another_tenants_objects(tenant, other_tenant):
    me = member(tenant, Role.OWNER)  # the highest role: if an owner cannot, nobody can
    member(other_tenant, Role.OWNER)
    http = signed_in(me)
    theirs = build_world(other_tenant)
    leaks = []
    for route in tenant_routes():
        values = make_values(route, theirs)
        before = snapshot(other_tenant)
        access = route.callback.tenant_access
        # 1. The other tenant's own pages, with its objects: not a member, so refused.
        if access == "staff":
            url = url_for(route, other_tenant, values)
            for method in ("get", "post"):
                status = getattr(http, method)(url).status_code
                if status not in (403, 404, 405):
                    leaks.append(f"{method.upper()} {url} ({route.name}) answered {status}")
        # 2. Our own tenant's URL with the other tenant's objects: the same 404 as a missing one.
        if any(a in OBJECT_ARGUMENTS for a in route.object_arguments):
            url = url_for(route, tenant, values)
            for method in ("get", "post"):
                status = getattr(http, method)(url).status_code
                if status not in (403, 404, 405):
                    leaks.append(f"{method.upper()} {url} ({route.name}) answered {status}")
        if snapshot(other_tenant) != before:
            leaks.append(f"{route.name} changed the other tenant's rows")
    assert not leaks, "\n".join(leaks)


@pytest.mark.django_db
def test_anonymous_visitors_are_sent_to_sign_in(client, tenant):
    world = build_world(tenant)
    for route in tenant_routes():
        if route.callback.tenant_access == "public":
            continue
        url = url_for(route, tenant, make_values(route, world))
        response = client.get(url)
        assert response.status_code in (302, 405), (route.name, response.status_code)
        if response.status_code == 302:
            assert response.url.startswith(reverse("accounts:login")), route.name


@pytest.mark.django_db
def test_no_page_fails_on_junk_input(tenant):
    """Every page, as its owner, with junk in the query string and the form: never a server error."""
    http = signed_in(member(tenant, Role.OWNER))
    http.raise_request_exception = False
    failures = []
    world = build_world(tenant)
    for route in tenant_routes():
        url = url_for(route, tenant, make_values(route, world))
        for response in (http.get(url, JUNK_QUERY), http.post(url, JUNK_FORM), http.post(url, {})):
            if response.status_code >= 500:
                failures.append(f"{route.name}: {response.status_code}")
    for junk_slug in ("%00", "demo%00", "a%00b", "x" * 300, "%C3%A9t%C3%A9", "UPPER", "..", "-"):
        for path in (f"/t/{junk_slug}/", f"/t/{junk_slug}/clients/1/"):
            status = http.get(path).status_code
            if status != 404:
                failures.append(f"{path}: {status} instead of 404")
    for name in GLOBAL_URLS:
        if name == "accounts:password_reset_confirm":
            url = reverse(name, kwargs={"uidb64": "junk", "token": "junk-token"})
        else:
            url = reverse(name, kwargs=GLOBAL_URL_ARGUMENTS.get(name))
        for response in (http.get(url, JUNK_QUERY), http.post(url, JUNK_FORM)):
            if response.status_code >= 500:
                failures.append(f"{name}: {response.status_code}")
    assert not failures, "\n".join(failures)


@pytest.mark.django_db
def test_the_platform_admin_refuses_tenant_owners(tenant):
    http = signed_in(member(tenant, Role.OWNER))
    response = http.get(reverse("admin:index"))
    assert response.status_code == 302 and "/admin/login/" in response.url
