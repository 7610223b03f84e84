"""Staff pages of packages: the package definitions, and a client card's Payments tab (the
client's packages with their usage, adding one with a payment, recording payments, cancelling)."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from accounts.selectors import client_get
from bookings.models import Service
from tenancy.decorators import staff_required
from tenancy.localization import money
from tenancy.models import Role
from tenancy.shortcuts import id_from, submit
from tenancy.urlresolvers import tenant_reverse

from . import selectors, services
from .booking import credit_booking_page
from .forms import AddPackageForm, CancelForm, PackageForm, PaymentForm


@staff_required()
def package_list(request):
    return render(
        request, "packages_credits/package_list.html", {"packages": selectors.packages_of(tenant=request.tenant)}
    )


@staff_required(Role.ADMIN)
def package_create(request):
    return _package_form(request, None)


@staff_required(Role.ADMIN)
def package_edit(request, package_id):
    return _package_form(request, selectors.package_get(tenant=request.tenant, package_id=package_id))


def _package_form(request, package):
    tenant = request.tenant
    form = PackageForm(request.POST or None, instance=package, services=Service.objects.filter(tenant=tenant))
    done = submit(
        request,
        form,
        lambda **data: services.package_save(tenant=tenant, package=package, **data),
        message=lambda saved: _("Package “{name}” saved.").format(name=saved.name),
        then=tenant_reverse(tenant, "packages:list"),
    )
    return done or render(request, "packages_credits/package_form.html", {"form": form, "package": package})


def _payments_url(request, client) -> str:
    return tenant_reverse(request.tenant, "packages:client", client_id=client.pk)


@staff_required()
def client_payments(request, client_id):
    tenant = request.tenant
    client = client_get(tenant=tenant, client_id=client_id)
    offered = selectors.packages_offered(tenant=tenant)
    first = offered.first()
    initial = (
        {"price": first.price, "expires_on": services.default_expiry(tenant=tenant, package=first)} if first else {}
    )
    return render(
        request,
        "packages_credits/client_payments.html",
        {
            "client": client,
            "held": selectors.client_packages(tenant=tenant, client=client),
            "uses": selectors.credit_uses_of(tenant=tenant, client=client)[:50],
            "add_form": AddPackageForm(packages=offered, initial=initial),
            "offered": [(p, services.default_expiry(tenant=tenant, package=p)) for p in offered],
        },
    )


@staff_required()
def client_package_add(request, client_id):
    tenant = request.tenant
    client = client_get(tenant=tenant, client_id=client_id)
    form = AddPackageForm(request.POST or None, packages=selectors.packages_offered(tenant=tenant))
    package = _picked(tenant, request.GET.get("package", "")) if request.method == "GET" else None
    if package is not None:  # "Add" next to a package: price and expiry prefilled, both adjustable
        initial = {"package": package, "price": package.price}
        initial["expires_on"] = services.default_expiry(tenant=tenant, package=package)
        form = AddPackageForm(packages=selectors.packages_offered(tenant=tenant), initial=initial)

    def save(*, package, price, expires_on, payment_method, payment_amount, payment_reference):
        payment = services.Payment(payment_method, payment_amount, payment_reference) if payment_method else None
        return services.client_package_add(
            tenant=tenant,
            client=client,
            package=package,
            price=price,
            expires_on=expires_on,
            payment=payment,
            actor=request.user,
        )

    done = submit(
        request,
        form,
        save,
        message=lambda held: (
            _("Package “{name}” added to {client}; {balance} still due.")
            if held.balance
            else _("Package “{name}” added to {client}, paid.")
        ).format(name=held.name, client=client.full_name, balance=money(held.balance, tenant.currency)),
        then=_payments_url(request, client),
    )
    return done or render(request, "packages_credits/client_package_add.html", {"client": client, "form": form})


def _picked(tenant, text: str):
    return selectors.packages_offered(tenant=tenant).filter(pk=id_from(text)).first() if id_from(text) else None


@staff_required()
def client_package_payment(request, client_id, client_package_id):
    tenant = request.tenant
    client = client_get(tenant=tenant, client_id=client_id)
    held = selectors.client_package_get(tenant=tenant, client=client, client_package_id=client_package_id)
    form = PaymentForm(request.POST or None, initial={"amount": held.balance})
    done = submit(
        request,
        form,
        lambda **data: services.payment_record(
            tenant=tenant, client_package=held, payment=services.Payment(**data), actor=request.user
        ),
        message=_("Payment recorded."),
        then=_payments_url(request, client),
    )
    return done or render(
        request, "packages_credits/client_package_payment.html", {"client": client, "held": held, "form": form}
    )


@staff_required()
def client_package_cancel(request, client_id, client_package_id):
    tenant = request.tenant
    client = client_get(tenant=tenant, client_id=client_id)
    held = selectors.client_package_get(tenant=tenant, client=client, client_package_id=client_package_id)
    form = CancelForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.client_package_cancel(
                tenant=tenant, client_package=held, reason=form.cleaned_data["reason"], actor=request.user
            )
        except ValidationError as exc:
            messages.error(request, exc.messages[0])
        else:
            messages.success(
                request, _("Package “{name}” cancelled; its unused credits are void.").format(name=held.name)
            )
        return redirect(_payments_url(request, client))
    return render(
        request, "packages_credits/client_package_cancel.html", {"client": client, "held": held, "form": form}
    )


@staff_required()
def book_pick(request):
    """From the calendar: pick the client (one holding a usable package), then the service and time."""
    holders = selectors.clients_with_active_packages(tenant=request.tenant)
    picked = (
        holders.filter(pk=id_from(request.GET.get("client"))).first() if id_from(request.GET.get("client")) else None
    )
    if picked is not None:
        return redirect(tenant_reverse(request.tenant, "packages:book", client_id=picked.pk))
    return render(request, "packages_credits/book_pick.html", {"holders": holders})


@staff_required()
def client_book(request, client_id):
    """Staff put an appointment on the calendar for the client, redeeming a package credit."""
    client = client_get(tenant=request.tenant, client_id=client_id)
    return credit_booking_page(
        request,
        client=client,
        template="packages_credits/book.html",
        done_url=_payments_url(request, client),
        extra={"staff": True},
    )
