"""Two full workspaces (tests/world.py) for the tampering tests: this one, where the person acts,
and another one, whose ids they paste into forms, CSV files, query strings and task calls."""

import html

from tenancy.urlresolvers import tenant_reverse

from ..test_isolation import snapshot

INVALID_CHOICE = "Select a valid choice."

__all__ = ["INVALID_CHOICE", "page_text", "snapshot", "tenant_reverse"]


def page_text(response) -> str:
    return html.unescape(response.content.decode())
