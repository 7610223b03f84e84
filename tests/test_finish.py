"""Finished, not a prototype: every destructive action asks first, every list has an empty state."""

import re

import pytest
from django.utils import timezone

from tenancy.models import Role
from tests.conftest import member, signed_in
from tests.test_isolation import make_values, tenant_routes, url_for
from tests.world import build_world

DESTRUCTIVE = re.compile(r"delete|remove|cancel|revoke|void|withdraw|erase|rotate")
CONFIRMATION_PAGES = {"confirm.html", "confirm_plain.html"}
# Actions whose own page is the question: it names what will go and asks for more before acting.
ASK_ON_THEIR_OWN_PAGE = {
    "packages:cancel": "packages_credits/client_package_cancel.html",  # the unused credits, and a reason
    "privacy:erase": "privacy/erase.html",  # the address; then privacy/erase_confirm.html lists what goes
}


def destructive_routes():
    return [route for route in tenant_routes() if DESTRUCTIVE.search(route.name.split(":")[1])]


def test_the_destructive_routes_are_found():
    assert len(destructive_routes()) >= 20


@pytest.mark.django_db
def test_every_destructive_action_asks_first(tenant):
    """A GET of a destructive action's URL is its confirmation page (the POST acts): the link on a
    page leads there, never straight to the change."""
    world = build_world(tenant)
    tenant.logo, tenant.logo_type, tenant.logo_updated_at = b"\x89PNG", "image/png", timezone.now()  # to remove
    tenant.save()
    owner = signed_in(member(tenant, Role.OWNER))
    from regcodes.models import SeatOrder

    buyer = SeatOrder.objects.get(pk=world.objects["order_id"]).buyer  # the My Account routes are theirs
    customers = {"buyer": signed_in(buyer)}
    unconfirmed = []
    for route in destructive_routes():
        url = url_for(route, tenant, make_values(route, world))
        response = owner.get(url)
        if response.status_code != 200 and customers:
            response = next(
                (r for r in (http.get(url) for http in customers.values()) if r.status_code == 200), response
            )
        used = {t.name for t in response.templates if t.name}
        asks = CONFIRMATION_PAGES | {ASK_ON_THEIR_OWN_PAGE.get(route.name)}
        if response.status_code != 200 or not used & asks:
            unconfirmed.append(f"{route.name} ({response.status_code}, {sorted(used)[:3]})")
    assert unconfirmed == [], "\n".join(unconfirmed)


@pytest.mark.django_db
def test_every_list_of_a_new_workspace_shows_an_empty_state(tenant):
    """On a workspace with nothing in it yet, no page shows a table with headings and no rows: each
    says there is nothing yet and what to do (partials/empty.html)."""
    owner = signed_in(member(tenant, Role.OWNER))
    bare, empty_states = [], []
    for route in tenant_routes():
        if route.object_arguments or route.callback.tenant_access == "public":
            continue
        response = owner.get(url_for(route, tenant, {}))
        if response.status_code != 200 or not response.get("Content-Type", "").startswith("text/html"):
            continue
        used = {t.name for t in response.templates if t.name}
        content = response.content.decode()
        empty_table = "<table" in content and "<td" not in content  # headings, and no rows under them
        if empty_table and "partials/empty.html" not in used:
            bare.append(route.name)
        if "partials/empty.html" in used:
            empty_states.append(route.name)
    assert bare == [], "\n".join(bare)
    assert len(empty_states) >= 15, empty_states  # the lists of a new workspace do say they are empty
