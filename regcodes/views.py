"""Staff pages of registration codes: courses and their runs, seat orders (entered for a customer),
a customer's Registration Code Users, and a learner's Content Access."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from accounts.selectors import client_get
from tenancy.decorators import staff_required
from tenancy.models import Role
from tenancy.shortcuts import confirm_page, submit
from tenancy.urlresolvers import tenant_reverse

from . import selectors, services
from .forms import AccessDatesForm, OrderFilterForm, ProductForm, ProductSessionForm, StaffOrderForm

PER_PAGE = 25


@staff_required()
def product_list(request):
    return render(request, "regcodes/product_list.html", {"products": selectors.products(tenant=request.tenant)})


@staff_required(Role.ADMIN)
def product_create(request):
    return _product_form(request, None)


@staff_required(Role.ADMIN)
def product_edit(request, product_id):
    return _product_form(request, selectors.product_get(tenant=request.tenant, product_id=product_id))


def _product_form(request, product):
    form = ProductForm(request.POST or None, instance=product)
    done = submit(
        request,
        form,
        lambda **data: services.product_save(tenant=request.tenant, product=product, **data),
        message=lambda saved: _("Course “{name}” saved.").format(name=saved.name),
        then=tenant_reverse(request.tenant, "courses:products"),
    )
    return done or render(
        request, "regcodes/form.html", {"form": form, "title": _("Course") if product else _("Add course")}
    )


@staff_required(Role.ADMIN)
def session_create(request, product_id):
    product = selectors.product_get(tenant=request.tenant, product_id=product_id)
    return _session_form(request, product, None)


@staff_required(Role.ADMIN)
def session_edit(request, product_id, product_session_id):
    product = selectors.product_get(tenant=request.tenant, product_id=product_id)
    session = selectors.product_session_get(tenant=request.tenant, product=product, session_id=product_session_id)
    return _session_form(request, product, session)


def _session_form(request, product, product_session):
    form = ProductSessionForm(request.POST or None, instance=product_session)
    done = submit(
        request,
        form,
        lambda **data: services.product_session_save(
            tenant=request.tenant, product=product, product_session=product_session, **data
        ),
        message=lambda saved: _("Session “{name}” of {product} saved.").format(name=saved.name, product=product.name),
        then=tenant_reverse(request.tenant, "courses:products"),
    )
    title = f"{product.name}: " + ("edit session" if product_session else "add session")
    return done or render(request, "regcodes/form.html", {"form": form, "title": title})


@staff_required()
def order_list(request):
    filters = OrderFilterForm(request.GET)
    query = filters.cleaned_data.get("q", "") if filters.is_valid() else ""
    page = Paginator(selectors.orders_search(tenant=request.tenant, query=query), PER_PAGE).get_page(
        request.GET.get("page")
    )
    return render(request, "regcodes/order_list.html", {"page": page, "query": query})


@staff_required()
def order_create(request):
    tenant = request.tenant
    form = StaffOrderForm(request.POST or None, sessions=selectors.sessions_on_sale(tenant=tenant))

    done = submit(
        request,
        form,
        lambda **data: services.seat_order_for_customer(tenant=tenant, actor=request.user, **data),
        message=lambda order: _("Order {number} for {email} recorded; they were emailed.").format(
            number=order.number, email=order.buyer.email
        ),
        then=tenant_reverse(tenant, "courses:orders"),
    )
    return done or render(request, "regcodes/form.html", {"form": form, "title": _("Enter an order of seats")})


@staff_required()
def client_code_users(request, client_id):
    client = client_get(tenant=request.tenant, client_id=client_id)
    rows = selectors.code_users_of_client(tenant=request.tenant, client=client)
    page = Paginator(rows, PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "regcodes/client_code_users.html", {"client": client, "page": page})


@staff_required()
def learner_access(request, learner_id):
    learner, rows = selectors.access_of_learner(tenant=request.tenant, learner_id=learner_id)
    return render(request, "regcodes/learner_access.html", {"learner": learner, "rows": rows})


@staff_required()
def access_edit(request, access_id):
    access = selectors.access_get(tenant=request.tenant, access_id=access_id)
    form = AccessDatesForm(request.POST or None, initial={"starts_on": access.starts_on, "ends_on": access.ends_on})
    done = submit(
        request,
        form,
        lambda **data: services.access_change_dates(tenant=request.tenant, access=access, **data),
        message=_("Access dates saved."),
        then=tenant_reverse(request.tenant, "courses:learner_access", learner_id=access.learner_id),
    )
    title = _("Content Access: {email}, {session}").format(email=access.learner.email, session=access.product_session)
    return done or render(request, "regcodes/form.html", {"form": form, "title": title})


@staff_required()
def access_remove(request, access_id):
    access = selectors.access_get(tenant=request.tenant, access_id=access_id)
    back = tenant_reverse(request.tenant, "courses:learner_access", learner_id=access.learner_id)
    if request.method != "POST":
        return confirm_page(
            request,
            title=_("Remove access"),
            question=_("Remove {email}'s access to {product_session}?").format(
                email=access.learner.email, product_session=access.product_session
            ),
            consequence=_("They lose the course at once; the seat goes back to the customer's remaining seats."),
            confirm_label=_("Remove access"),
            cancel_url=back,
        )
    try:
        services.access_remove(tenant=request.tenant, access=access, actor=request.user)
    except ValidationError as exc:
        messages.error(request, exc.messages[0])
    else:
        messages.success(request, _("Access removed; the seat is back in the customer's pool."))
    return redirect(back)


@staff_required()
def order_mark_paid(request, order_id):
    order = selectors.order_get(tenant=request.tenant, order_id=order_id)
    back = tenant_reverse(request.tenant, "courses:orders")
    if request.method != "POST":
        return confirm_page(
            request,
            title=_("Record payment"),
            question=_("Record that order {number} ({total} {currency}) was paid?").format(
                number=order.number, total=order.total, currency=request.tenant.currency
            ),
            consequence=_("The order is marked paid and the customer gets an email."),
            confirm_label=_("Mark paid"),
            cancel_url=back,
        )
    try:
        services.seat_order_mark_paid(tenant=request.tenant, order=order, actor=request.user)
    except ValidationError as exc:
        messages.error(request, exc.messages[0])
    else:
        messages.success(
            request,
            _("Order {number} marked paid; {email} was told.").format(number=order.number, email=order.buyer.email),
        )
    return redirect(back)
