"""Contract Management: organisations → contracts → tabs Prices, Invitation Codes, Participants,
Bookings and History (codes and bookings live in ``invitations``)."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from imports.csv_export import stream_csv
from imports.selectors import imports_of
from imports.services import import_start
from invitations.selectors import listed_codes, with_codes
from invitations.services import codes_mark_downloaded
from tenancy.decorators import staff_required
from tenancy.models import Role
from tenancy.pagination import capped_count, keyset_page
from tenancy.shortcuts import confirm_page, submit
from tenancy.urlresolvers import tenant_reverse

from . import participants_csv, services
from .forms import (
    ContractForm,
    OrganisationFilterForm,
    OrganisationForm,
    ParticipantForm,
    PriceForm,
    SearchForm,
    UploadForm,
)
from .selectors import (
    PARTICIPANT_ORDER,
    contract_get,
    contracts_of,
    events_of,
    organisation_get,
    organisations_search,
    participant_get,
    participants_search,
    price_get,
    prices_of,
)

PER_PAGE = 25


def contract_page(request, contract, tab, template, context):
    """Every tab of a contract renders with the same header."""
    return render(
        request, template, {"contract": contract, "organisation": contract.organisation, "tab": tab, **context}
    )


@staff_required()
def organisation_list(request):
    filters = OrganisationFilterForm(request.GET)
    filters.is_valid()
    query, status = filters.cleaned_data.get("q", ""), filters.cleaned_data.get("status", "")
    rows = organisations_search(tenant=request.tenant, query=query, status=status)
    page = Paginator(rows, PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "contracts/organisation_list.html",
        {"filters": filters, "page": page, "filtered": bool(query or status)},
    )


@staff_required(Role.ADMIN)
def organisation_create(request):
    return _organisation_form(request, None)


@staff_required(Role.ADMIN)
def organisation_edit(request, organisation_id):
    return _organisation_form(request, organisation_get(tenant=request.tenant, organisation_id=organisation_id))


def _organisation_form(request, organisation):
    form = OrganisationForm(request.POST or None, instance=organisation)
    done = submit(
        request,
        form,
        lambda **data: services.organisation_save(tenant=request.tenant, organisation=organisation, **data),
        message=lambda saved: f"Organisation “{saved.name}” saved.",
        then=lambda saved: tenant_reverse(request.tenant, "contracts:organisation", organisation_id=saved.pk),
    )
    return done or render(request, "contracts/organisation_form.html", {"form": form, "organisation": organisation})


@staff_required()
def organisation_detail(request, organisation_id):
    organisation = organisation_get(tenant=request.tenant, organisation_id=organisation_id)
    contracts = contracts_of(tenant=request.tenant, organisation=organisation)
    return render(request, "contracts/organisation_detail.html", {"organisation": organisation, "contracts": contracts})


@staff_required(Role.ADMIN)
def contract_create(request, organisation_id):
    organisation = organisation_get(tenant=request.tenant, organisation_id=organisation_id)
    return _contract_form(request, organisation, None)


@staff_required(Role.ADMIN)
def contract_edit(request, contract_id):
    contract = contract_get(tenant=request.tenant, contract_id=contract_id)
    return _contract_form(request, contract.organisation, contract)


def _contract_form(request, organisation, contract):
    form = ContractForm(request.POST or None, instance=contract)
    done = submit(
        request,
        form,
        lambda **data: services.contract_save(
            tenant=request.tenant, organisation=organisation, contract=contract, actor=request.user, **data
        ),
        message=lambda saved: f"Contract “{saved.name}” saved.",
        then=lambda saved: tenant_reverse(request.tenant, "contracts:prices", contract_id=saved.pk),
    )
    return done or render(
        request, "contracts/contract_form.html", {"form": form, "organisation": organisation, "contract": contract}
    )


@staff_required()
def contract_detail(request, contract_id):
    contract = contract_get(tenant=request.tenant, contract_id=contract_id)
    return redirect(tenant_reverse(request.tenant, "contracts:prices", contract_id=contract.pk))


@staff_required()
def prices(request, contract_id):
    contract = contract_get(tenant=request.tenant, contract_id=contract_id)
    return contract_page(
        request,
        contract,
        "prices",
        "contracts/prices.html",
        {"prices": prices_of(tenant=request.tenant, contract=contract)},
    )


@staff_required(Role.ADMIN)
def price_create(request, contract_id):
    contract = contract_get(tenant=request.tenant, contract_id=contract_id)
    return _price_form(request, contract, None)


@staff_required(Role.ADMIN)
def price_edit(request, contract_id, price_id):
    contract = contract_get(tenant=request.tenant, contract_id=contract_id)
    return _price_form(request, contract, price_get(tenant=request.tenant, contract=contract, price_id=price_id))


def _price_form(request, contract, price):
    form = PriceForm(request.POST or None, instance=price, tenant=request.tenant)
    done = submit(
        request,
        form,
        lambda **data: services.price_save(
            tenant=request.tenant, contract=contract, price=price, actor=request.user, **data
        ),
        message="Price saved.",
        then=tenant_reverse(request.tenant, "contracts:prices", contract_id=contract.pk),
    )
    return done or contract_page(
        request, contract, "prices", "contracts/price_form.html", {"form": form, "price": price}
    )


@staff_required(Role.ADMIN)
def price_delete(request, contract_id, price_id):
    contract = contract_get(tenant=request.tenant, contract_id=contract_id)
    price = price_get(tenant=request.tenant, contract=contract, price_id=price_id)
    back = tenant_reverse(request.tenant, "contracts:prices", contract_id=contract.pk)
    if request.method == "POST":
        try:
            services.price_delete(tenant=request.tenant, contract=contract, price=price, actor=request.user)
        except ValidationError as exc:
            messages.error(request, exc.messages[0])
        else:
            messages.success(request, _("Price {price_code} removed.").format(price_code=price.price_code))
        return redirect(back)
    return confirm_page(
        request,
        title=_("Remove price"),
        question=_("Remove price {price_code} ({name}, {amount} {currency})?").format(
            price_code=price.price_code, name=price.service.name, amount=price.amount, currency=request.tenant.currency
        ),
        consequence="New codes can no longer be given this price. A price that codes carry cannot be removed.",
        confirm_label=_("Remove price"),
        cancel_url=back,
    )


@staff_required()
def participants(request, contract_id):
    contract = contract_get(tenant=request.tenant, contract_id=contract_id)
    search = SearchForm(request.GET)
    query = search.cleaned_data["q"] if search.is_valid() else ""
    found = participants_search(tenant=request.tenant, contract=contract, query=query)
    page = keyset_page(
        with_codes(found, tenant=request.tenant), order=PARTICIPANT_ORDER, per_page=PER_PAGE, params=request.GET
    )
    if not query:  # a search is not counted: that would read every participant a second time
        page.total = capped_count(found)
    rows = [{"participant": p, "codes": listed_codes(p.code_items, contract=contract)} for p in page.rows]
    history = imports_of(tenant=request.tenant, kind=participants_csv.KIND, params={"contract": contract.pk})[:10]
    return contract_page(
        request,
        contract,
        "participants",
        "contracts/participants.html",
        {"search": search, "query": query, "page": page, "rows": rows, "upload": UploadForm(), "imports": history},
    )


@staff_required()
def participant_create(request, contract_id):
    contract = contract_get(tenant=request.tenant, contract_id=contract_id)
    return _participant_form(request, contract, None)


@staff_required()
def participant_edit(request, contract_id, participant_id):
    contract = contract_get(tenant=request.tenant, contract_id=contract_id)
    participant = participant_get(tenant=request.tenant, contract=contract, participant_id=participant_id)
    return _participant_form(request, contract, participant)


def _participant_form(request, contract, participant):
    form = ParticipantForm(request.POST or None, instance=participant)
    done = submit(
        request,
        form,
        lambda **data: services.participant_save(
            tenant=request.tenant, contract=contract, participant=participant, actor=request.user, **data
        ),
        message="Participant saved.",
        then=tenant_reverse(request.tenant, "contracts:participants", contract_id=contract.pk),
    )
    return done or contract_page(
        request, contract, "participants", "contracts/participant_form.html", {"form": form, "participant": participant}
    )


@staff_required()
def participants_download(request, contract_id):
    contract = contract_get(tenant=request.tenant, contract_id=contract_id)
    tenant = request.tenant
    codes_mark_downloaded(
        tenant=tenant, contract=contract, actor=request.user, what="Participants list", participants_only=True
    )
    return stream_csv(
        tenant=tenant,
        filename=f"participants-{contract.invitation_prefix}.csv",
        header=list(participants_csv.COLUMNS),
        rows=lambda: participants_csv.export_rows(tenant=tenant, contract=contract),
    )


@staff_required()
def participants_upload(request, contract_id):
    contract = contract_get(tenant=request.tenant, contract_id=contract_id)
    back = tenant_reverse(request.tenant, "contracts:participants", contract_id=contract.pk)
    if request.method != "POST":
        return redirect(back)
    form = UploadForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            job = import_start(
                tenant=request.tenant,
                kind=participants_csv.KIND,
                params={"contract": contract.pk},
                upload=form.cleaned_data["file"],
                actor=request.user,
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            return redirect(tenant_reverse(request.tenant, "imports:detail", job_id=job.pk))
    for error in form.errors.get("file", []) + form.non_field_errors():
        messages.error(request, error)
    return redirect(back)


@staff_required()
def history(request, contract_id):
    contract = contract_get(tenant=request.tenant, contract_id=contract_id)
    page = Paginator(events_of(tenant=request.tenant, contract=contract), 50).get_page(request.GET.get("page"))
    return contract_page(request, contract, "history", "contracts/history.html", {"page": page})
