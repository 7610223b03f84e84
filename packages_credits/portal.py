"""My Account tile: the client's packages, credits left, expiry and history."""

from accounts.portal import Tile

from .selectors import client_packages, credit_uses_of


def packages_tile(request, client):
    if client is None:
        return None
    held = list(client_packages(tenant=request.tenant, client=client))
    if not held:
        return None
    uses = list(credit_uses_of(tenant=request.tenant, client=client)[:10])
    return Tile("Your packages", "packages_credits/portal_tile.html", {"held": held, "uses": uses}, order=30)
