"""My Account tile: the sessions the signed-in person registered for and the waitlists they are on."""

from django.utils.translation import gettext as _

from accounts.portal import Tile

from .selectors import registrations_for_person, waitlist_for_person


def sessions_tile(request, client):
    tenant, email = request.tenant, request.user.email
    registrations = list(registrations_for_person(tenant=tenant, email=email)[:20])
    waiting = list(waitlist_for_person(tenant=tenant, email=email))
    return Tile(
        _("Your sessions"),
        "sessions_roster/portal_tile.html",
        {"registrations": registrations, "waiting": waiting},
        order=20,
    )
