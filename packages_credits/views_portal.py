"""My Account: book a session with a package credit."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from accounts.selectors import client_for_user
from tenancy.decorators import customer_required
from tenancy.shortcuts import id_from
from tenancy.urlresolvers import tenant_reverse

from . import selectors, services
from .booking import credit_booking_page


@customer_required
def book(request):
    client = client_for_user(tenant=request.tenant, user=request.user)  # their card, or none for them
    if client is None:
        raise Http404("No packages here.")
    return credit_booking_page(
        request,
        client=client,
        template="packages_credits/portal_book.html",
        done_url=tenant_reverse(request.tenant, "portal:home"),
        extra={},
    )


@customer_required
def buy(request):
    tenant = request.tenant
    offered = selectors.packages_offered(tenant=tenant)
    if request.method == "POST":
        choice = request.POST.get("package", "")
        package = offered.filter(pk=id_from(choice)).first() if id_from(choice) else None
        if package is None:
            messages.error(request, _("Pick one of the packages shown."))
        else:
            try:
                held, instructions = services.client_package_buy(tenant=tenant, user=request.user, package=package)
            except ValidationError as exc:
                messages.error(request, exc.messages[0])
            else:
                messages.success(
                    request,
                    _("Package “{name}” ordered. {instructions}")
                    .format(name=held.name, instructions=instructions)
                    .strip(),
                )
                return redirect(tenant_reverse(tenant, "portal:home"))
    rows = [(package, services.default_expiry(tenant=tenant, package=package)) for package in offered]
    return render(request, "packages_credits/portal_buy.html", {"rows": rows})
