"""My Account tiles: a customer's registration codes, and a learner's courses."""

from django.utils.translation import gettext as _

from accounts.portal import Tile

from .selectors import customer_orders, learner_courses, sessions_on_sale


def codes_tile(request, client):
    """The customer's seat orders; shown too when they have none but courses are on sale."""
    orders = list(customer_orders(tenant=request.tenant, buyer=request.user)[:20])
    if not orders and not sessions_on_sale(tenant=request.tenant).exists():
        return None
    return Tile(_("Registration Codes"), "regcodes/portal/tile_codes.html", {"orders": orders}, order=15)


def courses_tile(request, client):
    courses = list(learner_courses(tenant=request.tenant, learner=request.user))
    if not courses:
        return None
    return Tile(_("Your courses"), "regcodes/portal/tile_courses.html", {"courses": courses}, order=10)
