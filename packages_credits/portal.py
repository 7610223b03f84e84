"""My Account tile: the client's packages, credits left, expiry and history."""

from django.utils.translation import gettext as _

from accounts.portal import Tile

from .selectors import client_packages, credit_uses_of, packages_offered


def packages_tile(request, client):
    """The client's packages; shown too when they hold none but packages are on sale."""
    held = list(client_packages(tenant=request.tenant, client=client)) if client is not None else []
    if not held and not packages_offered(tenant=request.tenant).exists():
        return None
    uses = list(credit_uses_of(tenant=request.tenant, client=client)[:10]) if client is not None else []
    return Tile(_("Your packages"), "packages_credits/portal_tile.html", {"held": held, "uses": uses}, order=30)
