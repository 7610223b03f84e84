"""My Account: book a session with a package credit."""

from django.http import Http404

from accounts.selectors import client_for_user
from tenancy.decorators import customer_required
from tenancy.urlresolvers import tenant_reverse

from .booking import credit_booking_page


@customer_required
def book(request):
    client = client_for_user(tenant=request.tenant, user=request.user)
    if client is None or client.email.lower() != request.user.email.lower():
        raise Http404("No packages here.")
    return credit_booking_page(
        request,
        client=client,
        template="packages_credits/portal_book.html",
        done_url=tenant_reverse(request.tenant, "portal:home"),
        extra={},
    )
