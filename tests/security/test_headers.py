"""Security headers and the Content-Security-Policy (tenancy/security_headers.py) on every page."""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders
from django.urls import reverse

from .pages import every_page, parts

STRICT_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; "
    "form-action 'self'; base-uri 'none'; object-src 'none'"
)
PREVIEW_PAGES = {"messaging:outbox_detail", "messaging:template_edit"}


def directives(response) -> dict[str, list[str]]:
    policy = response["Content-Security-Policy"]
    return {name: sources for name, *sources in (part.split() for part in policy.split(";"))}


def test_the_sign_in_page_carries_the_strict_policy_and_the_other_headers(client, db):
    response = client.get(reverse("accounts:login"))
    assert response["Content-Security-Policy"] == STRICT_POLICY
    assert "camera=()" in response["Permissions-Policy"] and "geolocation=()" in response["Permissions-Policy"]
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"


def test_a_workspace_page_gets_its_brand_colour_through_a_nonce_that_changes_per_request(owner_http, tenant):
    tenant.brand_color = "#aa3300"
    tenant.save(update_fields=["brand_color"])
    first, second = (owner_http.get(reverse("tenancy:home", kwargs={"tenant_slug": tenant.slug})) for _ in range(2))
    nonces = []
    for response in (first, second):
        [nonce] = parts(response).style_nonces
        assert directives(response)["style-src"] == ["'self'", f"'nonce-{nonce}'"]
        assert f'<style nonce="{nonce}">:root {{ --brand: #aa3300; --brand-fill: #aa3300; --on-brand: #ffffff; ' in (
            response.content.decode()
        )
        nonces.append(nonce)
    assert nonces[0] != nonces[1] and len(nonces[0]) >= 24


@pytest.mark.django_db
def test_no_page_runs_inline_script_or_carries_inline_style(tenant):
    """Every page, filled in from tests/world.py: no inline script or event handler, inline style only
    in the nonce'd brand block (the email previews' iframes are escaped attributes, not markup)."""
    problems, seen = [], set()
    for name, url, response in every_page(tenant):
        seen.add(name)
        found = parts(response)
        policy = directives(response)
        if policy["script-src"] != ["'self'"]:
            problems.append(f"{url}: script-src {policy['script-src']}")
        if found.inline_scripts or found.event_handlers:
            problems.append(f"{url}: {found.inline_scripts} inline scripts, handlers {found.event_handlers}")
        if found.style_attributes:
            problems.append(f"{url}: inline style {found.style_attributes[:3]}")
        for nonce in found.style_nonces:
            if name not in PREVIEW_PAGES and f"'nonce-{nonce}'" not in policy["style-src"]:
                problems.append(f"{url}: a <style> block the policy does not allow")
        for directive in ("default-src", "frame-ancestors", "base-uri", "object-src", "form-action"):
            if policy[directive] != directives_of(STRICT_POLICY)[directive]:
                problems.append(f"{url}: {directive} {policy[directive]}")
    assert not problems, "\n".join(problems)
    assert {"tenancy:home", "accounts:login", "api:docs", *PREVIEW_PAGES} <= seen


def directives_of(policy: str) -> dict[str, list[str]]:
    return {name: sources for name, *sources in (part.split() for part in policy.split(";"))}


def test_email_previews_allow_inline_style_for_the_email_but_never_script(owner_http, tenant):
    url = reverse("messaging:template_edit", kwargs={"tenant_slug": tenant.slug, "key": "tenancy.staff_invitation"})
    response = owner_http.get(url)
    assert response.status_code == 200
    assert 'sandbox title="HTML preview" srcdoc="' in response.content.decode()
    policy = directives(response)
    # A nonce next to 'unsafe-inline' would switch it off and leave the preview unstyled.
    assert policy["style-src"] == ["'self'", "'unsafe-inline'"]
    assert policy["script-src"] == ["'self'"]


def test_the_api_docs_start_swagger_ui_from_a_static_script(client, db):
    response = client.get(reverse("api:docs"))
    found = parts(response)
    assert found.inline_scripts == 0 and not found.style_nonces
    assert any(src.endswith("js/api-docs.js") for src in found.script_sources)
    assert f'data-schema-url="{reverse("api:schema")}"' in response.content.decode()
    assert directives(response)["script-src"] == ["'self'"]
    assert finders.find("js/api-docs.js") and finders.find("css/api-docs.css")


def test_the_server_error_page_has_no_inline_style_and_the_policy(rf):
    from django.views.defaults import server_error

    from tenancy.security_headers import SecurityHeadersMiddleware

    response = SecurityHeadersMiddleware(server_error)(rf.get("/"))
    assert response.status_code == 500
    assert "Something went wrong" in response.content.decode()
    assert response["Content-Security-Policy"] == STRICT_POLICY
    assert not parts(response).style_attributes and not parts(response).style_nonces
    assert "css/app.css" in response.content.decode()


def test_a_response_that_sets_its_own_policy_keeps_it(rf):
    from django.http import HttpResponse

    from tenancy.security_headers import SecurityHeadersMiddleware

    own = "default-src 'none'"
    response = SecurityHeadersMiddleware(lambda request: HttpResponse(headers={"Content-Security-Policy": own}))(
        rf.get("/")
    )
    assert response["Content-Security-Policy"] == own


TEMPLATE_ROOTS = [Path(settings.BASE_DIR) / "templates", *Path(settings.BASE_DIR).glob("*/templates")]
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
INLINE_STYLE = re.compile(r"<style(?![^>]*\bnonce=)[^>]*>|\sstyle=\"|\son[a-z]+=\"", re.IGNORECASE)


def test_no_template_writes_inline_script_or_style():
    """Pages not reached by the walk are held to it too. Emails are exempt: mail clients need inline
    style, and they are shown only in the sandboxed previews."""
    problems = []
    for root in TEMPLATE_ROOTS:
        for template in root.rglob("*.html"):
            relative = template.relative_to(root)
            if relative.parts[0] == "emails":
                continue
            text = template.read_text()
            for pattern in (INLINE_SCRIPT, INLINE_STYLE):
                for match in pattern.finditer(text):
                    line = text.count("\n", 0, match.start()) + 1
                    problems.append(f"{template.relative_to(settings.BASE_DIR)}:{line}: {match.group(0).strip()}")
    assert not problems, "\n".join(problems)
