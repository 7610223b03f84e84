"""Sign-in and password pages, the client cards of the dashboard, and the My Account portal."""

import copy

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils.translation import gettext as _

from tenancy import ratelimit
from tenancy.decorators import customer_required, staff_required
from tenancy.models import Role
from tenancy.shortcuts import confirm_page, submit
from tenancy.urlresolvers import tenant_reverse

from . import portal, services
from .forms import ClientForm, ClientSearchForm, LoginForm, OutboxPasswordResetForm
from .models import Client
from .selectors import client_for_user, client_get, clients_search

CLIENTS_PER_PAGE = 25


class LoginView(auth_views.LoginView):
    form_class = LoginForm
    template_name = "accounts/login.html"
    redirect_authenticated_user = True

    def post(self, request, *args, **kwargs):
        # Failed sign-ins count per address and per account (tenancy/ratelimit.py); one that works is forgiven.
        self.counters = ratelimit.signin_counters(request, request.POST.get("username", ""))
        if outcome := ratelimit.attempt(*self.counters):
            return ratelimit.refused(request, outcome, _(ratelimit.SIGNIN_REFUSED))
        return super().post(request, *args, **kwargs)

    def form_valid(self, form):
        # The right password clears the account's failures; the address keeps its earlier ones, so
        # signing in to one's own account between guesses at others does not reset its count.
        address, account = self.counters
        ratelimit.forgive(address)
        ratelimit.clear(account)
        return super().form_valid(form)


class PasswordResetView(auth_views.PasswordResetView):
    form_class = OutboxPasswordResetForm
    template_name = "accounts/password_reset.html"
    success_url = reverse_lazy("accounts:password_reset_done")

    def post(self, request, *args, **kwargs):
        # Every request counts, per address and per email, whether or not the account exists.
        if outcome := ratelimit.attempt(*ratelimit.reset_counters(request, request.POST.get("email", ""))):
            return ratelimit.refused(request, outcome, _(ratelimit.RESET_REFUSED))
        return super().post(request, *args, **kwargs)


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("accounts:password_reset_complete")

    def form_valid(self, form):
        # The link reached this person's inbox: the address is theirs.
        services.user_mark_verified(user=form.user)
        return super().form_valid(form)


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("accounts:password_change_done")


@staff_required()
def client_list(request):
    search = ClientSearchForm(request.GET)
    query = search.cleaned_data["q"] if search.is_valid() else ""  # the page shows why it was ignored
    page = Paginator(clients_search(tenant=request.tenant, query=query), CLIENTS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    return render(request, "accounts/client_list.html", {"search": search, "query": query, "page": page})


@staff_required()
def client_create(request):
    form = ClientForm(request.POST or None, instance=Client(tenant=request.tenant))
    done = submit(
        request,
        form,
        lambda **data: services.client_create(tenant=request.tenant, **data),
        message=lambda client: f"Client {client.full_name} added.",
        then=lambda client: tenant_reverse(request.tenant, "clients:detail", client_id=client.pk),
    )
    return done or render(request, "accounts/client_form.html", {"form": form, "client": None})


@staff_required()
def client_detail(request, client_id):
    client = client_get(tenant=request.tenant, client_id=client_id)
    return render(request, "accounts/client_detail.html", {"client": client})


@staff_required()
def client_edit(request, client_id):
    client = client_get(tenant=request.tenant, client_id=client_id)
    form = ClientForm(request.POST or None, instance=copy.copy(client))
    done = submit(
        request,
        form,
        lambda **data: services.client_update(tenant=request.tenant, client=client, **data),
        message="Changes saved.",
        then=tenant_reverse(request.tenant, "clients:detail", client_id=client.pk),
    )
    return done or render(request, "accounts/client_form.html", {"form": form, "client": client})


@staff_required(Role.ADMIN)
def client_delete(request, client_id):
    client = client_get(tenant=request.tenant, client_id=client_id)
    detail_url = tenant_reverse(request.tenant, "clients:detail", client_id=client.pk)
    if request.method == "POST":
        try:
            services.client_delete(tenant=request.tenant, client=client)
        except ValidationError as exc:
            messages.error(request, exc.messages[0])
            return redirect(detail_url)
        messages.success(request, _("Client {full_name} deleted.").format(full_name=client.full_name))
        return redirect(tenant_reverse(request.tenant, "clients:list"))
    return confirm_page(
        request,
        title=_("Delete client"),
        question=_("Delete the card of {full_name}?").format(full_name=client.full_name),
        consequence="Their name, contact details and notes are removed for good.",
        confirm_label=_("Delete client"),
        cancel_url=detail_url,
    )


@customer_required
def portal_home(request):
    client = client_for_user(tenant=request.tenant, user=request.user)
    if client is not None:
        client = services.client_link_user(tenant=request.tenant, client=client, user=request.user)
    return render(request, "accounts/portal/home.html", {"client": client, "tiles": portal.tiles_for(request, client)})
