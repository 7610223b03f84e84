"""Security headers on every response: a Content-Security-Policy without inline script, and a
Permissions-Policy. Django's SecurityMiddleware and XFrameOptionsMiddleware add the rest (nosniff,
Referrer-Policy, Cross-Origin-Opener-Policy, X-Frame-Options, HSTS).

The policy is ``settings.CONTENT_SECURITY_POLICY`` (directive -> sources). A few pages need more, by URL
name, in ``settings.CONTENT_SECURITY_POLICY_BY_VIEW`` (those directives replace the default's). Script
never runs inline anywhere: pages load ``static/js/*.js`` only. The one inline style a page may carry is
the workspace's brand colour: ``<style nonce="{{ request.csp_nonce }}">``; the nonce is made only when a
template reads it, and only then is it added to ``style-src`` (not where the page allows inline style
anyway: a nonce would switch ``'unsafe-inline'`` off). A response that already carries a policy
keeps it.
"""

import secrets

from django.conf import settings

CSP_HEADER = "Content-Security-Policy"


class CspNonce:
    """A per-request nonce, made the first time a template prints it."""

    def __init__(self):
        self._value = ""

    def __str__(self) -> str:
        if not self._value:
            self._value = secrets.token_urlsafe(18)
        return self._value

    @property
    def used(self) -> bool:
        return bool(self._value)


def policy_for(request) -> str:
    directives = {name: list(sources) for name, sources in settings.CONTENT_SECURITY_POLICY.items()}
    match = getattr(request, "resolver_match", None)
    if match is not None and match.view_name in settings.CONTENT_SECURITY_POLICY_BY_VIEW:
        directives.update(settings.CONTENT_SECURITY_POLICY_BY_VIEW[match.view_name])
    nonce = getattr(request, "csp_nonce", None)
    style = directives.get("style-src", ["'self'"])
    # A nonce would switch 'unsafe-inline' off, where a page allows it (the email previews).
    if isinstance(nonce, CspNonce) and nonce.used and "'unsafe-inline'" not in style:
        directives["style-src"] = [*style, f"'nonce-{nonce}'"]
    return "; ".join(" ".join([name, *sources]) for name, sources in directives.items())


class SecurityHeadersMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.csp_nonce = CspNonce()
        response = self.get_response(request)
        if CSP_HEADER not in response:
            response[CSP_HEADER] = policy_for(request)
        if settings.PERMISSIONS_POLICY and "Permissions-Policy" not in response:
            response["Permissions-Policy"] = settings.PERMISSIONS_POLICY
        return response
