"""Every page of the project as HTML, for the header, CSP and CSRF tests: each tenant URL filled in
from tests/world.py (as its owner, then anonymously for public pages) and the global pages."""

from dataclasses import dataclass
from html.parser import HTMLParser

from django.urls import reverse

from tenancy.models import Role
from tests.conftest import member, signed_in
from tests.test_isolation import GLOBAL_URL_ARGUMENTS, GLOBAL_URLS, make_values, tenant_routes, url_for
from tests.world import build_world


@dataclass
class Form:
    method: str
    action: str
    has_csrf_token: bool = False


class PageParts(HTMLParser):
    """What a page carries that the policy cares about."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self.inline_scripts = 0
        self.script_sources: list[str] = []
        self.style_attributes: list[str] = []
        self.style_nonces: list[str | None] = []
        self.event_handlers: list[str] = []
        self._open_forms: list[Form] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "style" in attrs and tag not in {"svg", "path", "circle", "rect", "line", "g", "polyline"}:
            self.style_attributes.append(f"<{tag} style={attrs['style']!r}>")
        self.event_handlers += [f"<{tag} {name}>" for name in attrs if name.startswith("on")]
        if tag == "form":
            form = Form((attrs.get("method") or "get").lower(), attrs.get("action") or "")
            self.forms.append(form)
            self._open_forms.append(form)
        elif tag == "input" and attrs.get("name") == "csrfmiddlewaretoken" and attrs.get("value"):
            if self._open_forms:
                self._open_forms[-1].has_csrf_token = True
        elif tag == "script":
            if attrs.get("src"):
                self.script_sources.append(attrs["src"])
            elif (attrs.get("type") or "").lower() not in {"application/json", "application/ld+json"}:
                self.inline_scripts += 1
        elif tag == "style":
            self.style_nonces.append(attrs.get("nonce"))

    def handle_endtag(self, tag):
        if tag == "form" and self._open_forms:
            self._open_forms.pop()


def parts(response) -> PageParts:
    found = PageParts()
    found.feed(response.content.decode())
    found.close()
    return found


def is_html_page(response) -> bool:
    return (
        response.status_code == 200
        and not response.streaming
        and response.get("Content-Type", "").startswith("text/html")
    )


def every_page(tenant):
    """(name, url, response) of every page a GET shows as HTML."""
    world = build_world(tenant)
    owner = signed_in(member(tenant, Role.OWNER))
    from django.test import Client

    anonymous = Client()
    for route in tenant_routes():
        url = url_for(route, tenant, make_values(route, world))
        clients = [owner] + ([anonymous] if route.callback.tenant_access == "public" else [])
        for http in clients:
            response = http.get(url)
            if is_html_page(response):
                yield route.name, url, response
    for name in GLOBAL_URLS:
        if name.startswith("api:") and name != "api:docs" or name == "accounts:password_reset_confirm":
            continue
        url = reverse(name, kwargs=GLOBAL_URL_ARGUMENTS.get(name))
        for http in (owner, anonymous):
            response = http.get(url)
            if is_html_page(response):
                yield name, url, response
