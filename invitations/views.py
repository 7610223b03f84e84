"""Staff pages of invitation codes: the contract's Invitation Codes and Bookings tabs, generating
codes (with the progress of a batch), one code's page, editing, voiding, deleting, the CSV, sending
codes to a list of people and sending one again."""

import uuid

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from contracts.selectors import contract_get, events_of, participant_get, prices_of
from contracts.views import contract_page
from imports.csv_export import stream_csv
from imports.services import import_start
from tenancy.decorators import staff_required
from tenancy.pagination import capped_count, keyset_page
from tenancy.shortcuts import confirm_page, id_from
from tenancy.urlresolvers import tenant_reverse

from . import codes as code_text
from . import sending, sends_csv, services
from .forms import (
    CodeEditForm,
    CodeFilterForm,
    CodeSendForm,
    GenerateForm,
    ParticipantCodeForm,
    attempts_per_hour,
    guessability,
    workspace_attempts_per_hour,
)
from .models import BatchStatus, InvitationCode
from .selectors import (
    batch_get,
    code_counts,
    code_get,
    code_totals,
    codes_for_contract,
    redemptions_for_contract,
    redemptions_of_code,
    send_get,
    send_imports,
    sends_of_code,
    sent_codes,
)

CODES_PER_PAGE = 50
NO_SUCH_PARTICIPANT = gettext_noop("No participant with this id in this contract.")
NEEDS_A_PRICE = gettext_noop("Every code carries a price, and this contract has none yet: add one first.")
CSV_HEADER = [
    "code",
    "status",
    "price_code",
    "service",
    "amount",
    "uses",
    "max_uses",
    "valid_from",
    "valid_until",
    "restricted_domain",
    "campaign",
    "participant_id",
    "participant_name",
    "participant_email",
    "created_at",
]


def _code_url(request, contract, name="invitations:codes", **kwargs):
    return tenant_reverse(request.tenant, name, contract_id=contract.pk, **kwargs)


@staff_required()
def codes(request, contract_id):
    contract = contract_get(tenant=request.tenant, contract_id=contract_id)
    prices = prices_of(tenant=request.tenant, contract=contract)
    filters = CodeFilterForm(request.GET, prices=prices)
    filters.is_valid()
    data = filters.cleaned_data
    price = data.get("price")
    rows = codes_for_contract(
        tenant=request.tenant,
        contract=contract,
        status=data.get("status", ""),
        price_id=price.pk if price else None,
        assigned=data.get("assigned", ""),
        query=data.get("q", ""),
    )
    # Pages by key and counts stopped at a cap: a contract may hold hundreds of thousands of codes.
    page = keyset_page(rows, order=("-id",), per_page=CODES_PER_PAGE, params=request.GET)
    if not data.get("q"):  # then the list is one queryset; a search is not counted (it would be read again)
        page.total = capped_count(rows[0])
    filtered = any(data.get(name) for name in ("status", "price", "assigned", "q"))
    return contract_page(
        request,
        contract,
        "codes",
        "invitations/codes.html",
        {
            "filters": filters,
            "page": page,
            "filtered": filtered,
            "counts": code_totals(tenant=request.tenant, contract=contract),
            "has_prices": prices.exists(),
        },
    )


@staff_required()
def code_generate(request, contract_id):
    contract = contract_get(tenant=request.tenant, contract_id=contract_id)
    prices = prices_of(tenant=request.tenant, contract=contract)
    if not prices.exists():
        messages.error(request, _(NEEDS_A_PRICE))
        return redirect(tenant_reverse(request.tenant, "contracts:prices", contract_id=contract.pk))
    form = GenerateForm(request.POST or None, prices=prices)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        batch = services.code_batch_create(
            tenant=request.tenant,
            contract=contract,
            price=data["price"],
            quantity=data["quantity"],
            width=data["width"],
            terms=services.CodeTerms(
                data["max_uses"], data["valid_from"], data["valid_until"], data["restricted_domain"], data["campaign"]
            ),
            actor=request.user,
        )
        return redirect(_code_url(request, contract, "invitations:batch", batch_id=batch.pk))
    return contract_page(
        request, contract, "codes", "invitations/generate.html", {"form": form, **_odds(request, contract, form)}
    )


def _odds(request, contract, form, adding: int = 100) -> dict:
    """How guessable each width is with the contract's live codes (plus those being made)."""
    entered = getattr(form, "cleaned_data", {})
    counts = code_counts(tenant=request.tenant, contract=contract)
    issued = counts["active"] + counts["not_yet_valid"]  # only codes a guesser could still use
    live = issued + (entered.get("quantity") or adding)
    odds = [guessability(w, live) for w in range(code_text.MIN_WIDTH, code_text.MAX_WIDTH + 1)]
    chosen = entered.get("width") or code_text.DEFAULT_WIDTH
    return {
        "odds": odds,
        "chosen": next(o for o in odds if o["width"] == chosen),
        "issued": issued,
        "attempts_per_hour": attempts_per_hour(),
        "workspace_attempts_per_hour": workspace_attempts_per_hour(),
    }


@staff_required()
def batch_detail(request, contract_id, batch_id):
    contract = contract_get(tenant=request.tenant, contract_id=contract_id)
    batch = batch_get(tenant=request.tenant, contract=contract, batch_id=batch_id)
    busy = batch.status in (BatchStatus.QUEUED, BatchStatus.RUNNING)
    return contract_page(request, contract, "codes", "invitations/batch.html", {"batch": batch, "busy": busy})


@staff_required()
def code_detail(request, contract_id, code_id):
    contract = contract_get(tenant=request.tenant, contract_id=contract_id)
    code = code_get(tenant=request.tenant, contract=contract, code_id=code_id)
    services.code_mark_shown(tenant=request.tenant, code=code, actor=request.user)
    return contract_page(
        request,
        contract,
        "codes",
        "invitations/code_detail.html",
        {
            "code": code,
            "events": events_of(tenant=request.tenant, contract=contract, code_id=code.pk)[:100],
            "redemptions": redemptions_of_code(tenant=request.tenant, code=code),
            "sends": sends_of_code(tenant=request.tenant, code=code),
        },
    )


@staff_required()
def code_edit(request, contract_id, code_id):
    contract = contract_get(tenant=request.tenant, contract_id=contract_id)
    code = code_get(tenant=request.tenant, contract=contract, code_id=code_id)
    prices = prices_of(tenant=request.tenant, contract=contract)
    initial = {
        "code": code.shown,
        "price": code.price,
        "participant_id": code.participant_id,
        "max_uses": code.max_uses,
        "valid_from": code.valid_from,
        "valid_until": code.valid_until,
        "restricted_domain": code.restricted_domain,
        "campaign": code.campaign,
    }
    form = CodeEditForm(request.POST or None, initial=initial, prices=prices, locked_text=code.text_locked)
    if request.method == "POST" and form.is_valid():
        changes = dict(form.cleaned_data)
        participant_id = changes.pop("participant_id")
        try:
            changes["participant"] = (
                participant_get(tenant=request.tenant, contract=contract, participant_id=participant_id)
                if participant_id
                else None
            )
        except Http404:
            form.add_error("participant_id", _(NO_SUCH_PARTICIPANT))
        else:
            try:
                services.code_update(tenant=request.tenant, code=code, actor=request.user, changes=changes)
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                messages.success(request, _("Code saved."))
                return redirect(_code_url(request, contract, "invitations:code", code_id=code.pk))
    return contract_page(request, contract, "codes", "invitations/code_edit.html", {"code": code, "form": form})


@staff_required()
def code_void(request, contract_id, code_id):
    contract = contract_get(tenant=request.tenant, contract_id=contract_id)
    code = code_get(tenant=request.tenant, contract=contract, code_id=code_id)
    back = _code_url(request, contract, "invitations:code", code_id=code.pk)
    if request.method == "POST":
        try:
            services.code_void(tenant=request.tenant, code=code, actor=request.user)
        except ValidationError as exc:
            messages.error(request, exc.messages[0])
        else:
            messages.success(request, _("Code {shown} is void.").format(shown=code.shown))
        return redirect(back)
    return confirm_page(
        request,
        title=_("Void code"),
        question=_("Void code {shown}?").format(shown=code.shown),
        consequence="Nobody can book with it any more. Bookings already made with it stay. This cannot be undone.",
        confirm_label=_("Void code"),
        cancel_url=back,
    )


@staff_required()
def code_delete(request, contract_id, code_id):
    contract = contract_get(tenant=request.tenant, contract_id=contract_id)
    code = code_get(tenant=request.tenant, contract=contract, code_id=code_id)
    back = _code_url(request, contract)
    if request.method == "POST":
        try:
            services.code_delete(tenant=request.tenant, code=code, actor=request.user)
        except ValidationError as exc:
            messages.error(request, exc.messages[0])
            return redirect(_code_url(request, contract, "invitations:code", code_id=code.pk))
        messages.success(request, _("Code {shown} deleted.").format(shown=code.shown))
        return redirect(back)
    if code.uses or code.redemptions.exists():
        messages.error(request, _(services.CODE_IN_USE))
        return redirect(_code_url(request, contract, "invitations:code", code_id=code.pk))
    return confirm_page(
        request,
        title=_("Delete code"),
        question=_("Delete code {shown}?").format(shown=code.shown),
        consequence="It was never used. It disappears from the list; the contract's history keeps a line about it.",
        confirm_label=_("Delete code"),
        cancel_url=back,
    )


@staff_required()
def codes_download(request, contract_id):
    tenant = request.tenant
    contract = contract_get(tenant=tenant, contract_id=contract_id)
    rows = InvitationCode.objects.filter(tenant=tenant, contract=contract)
    services.codes_mark_downloaded(tenant=tenant, contract=contract, actor=request.user, what="Codes list")
    zone = tenant.zone

    def local(moment):
        return timezone.localtime(moment, zone).isoformat() if moment else ""

    def lines():
        for code in rows.select_related("price__service", "participant").order_by("id").iterator(chunk_size=5000):
            participant = code.participant
            yield [
                code_text.display(code.code, contract.invitation_prefix),
                code.shown_status_label,
                code.price.price_code,
                code.price.service.name,
                code.price.amount,
                code.uses,
                code.max_uses,
                local(code.valid_from),
                local(code.valid_until),
                code.restricted_domain,
                code.campaign,
                participant.pk if participant else "",
                participant.full_name if participant else "",
                participant.email if participant else "",
                local(code.created_at),
            ]

    return stream_csv(tenant=tenant, filename=f"codes-{contract.invitation_prefix}.csv", header=CSV_HEADER, rows=lines)


@staff_required()
def participant_code(request, contract_id, participant_id):
    contract = contract_get(tenant=request.tenant, contract_id=contract_id)
    participant = participant_get(tenant=request.tenant, contract=contract, participant_id=participant_id)
    prices = prices_of(tenant=request.tenant, contract=contract)
    form = ParticipantCodeForm(request.POST or None, prices=prices)
    if request.method == "POST" and form.is_valid():
        try:
            code = services.code_for_participant(
                tenant=request.tenant,
                contract=contract,
                participant=participant,
                actor=request.user,
                price=form.cleaned_data["price"],
                width=form.cleaned_data["width"],
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(
                request,
                _("Code {shown} generated for {full_name}.").format(shown=code.shown, full_name=participant.full_name),
            )
            return redirect(tenant_reverse(request.tenant, "contracts:participants", contract_id=contract.pk))
    return contract_page(
        request,
        contract,
        "participants",
        "invitations/participant_code.html",
        {"form": form, "participant": participant, "has_prices": prices.exists(), **_odds(request, contract, form, 1)},
    )


@staff_required()
def bookings(request, contract_id):
    contract = contract_get(tenant=request.tenant, contract_id=contract_id)
    page = Paginator(redemptions_for_contract(tenant=request.tenant, contract=contract), 50).get_page(
        request.GET.get("page")
    )
    return contract_page(request, contract, "bookings", "invitations/bookings.html", {"page": page})


SELECTION_REFUSED = gettext_noop(
    "Some of the selected codes are not codes of this contract. Select the codes again from the list."
)
NOTHING_TICKED = gettext_noop(
    "Tick the codes to send first, or use Send Codes to send the unassigned codes never sent."
)
TOO_MANY_SELECTED = gettext_noop("More than {limit:,} codes selected: send them in smaller groups.")
PASTED_NAME = "pasted-recipients.csv"
SELECTION_SHOWN = 100


def _selection(request, contract, data) -> list[int] | None:
    """The codes ticked on the list (``code`` values), all of this contract; None for "all unassigned".
    An id that is not one of this contract's codes (another tenant's, a made-up one) refuses the lot."""
    raw = data.getlist("code")
    if not raw:
        if data.get("selection"):  # "Send selected codes" with nothing ticked
            raise ValidationError(_(NOTHING_TICKED))
        return None
    if len(raw) > sending.MAX_CODES:
        raise ValidationError(_(TOO_MANY_SELECTED).format(limit=sending.MAX_CODES))
    ids = {id_from(value) for value in raw}
    if None in ids:
        raise ValidationError(_(SELECTION_REFUSED))
    found = InvitationCode.objects.filter(tenant=request.tenant, contract=contract, pk__in=ids).count()
    if found != len(ids):
        raise ValidationError(_(SELECTION_REFUSED))
    return sorted(ids)


@staff_required()
def codes_send(request, contract_id):
    """Send codes (the ticked ones, or the unassigned unsent ones) to a pasted list or a CSV: the list
    goes through the imports pipeline (check, problems by row, Complete Import sends once)."""
    tenant = request.tenant
    contract = contract_get(tenant=tenant, contract_id=contract_id)
    back = _code_url(request, contract)
    try:
        code_ids = _selection(request, contract, request.POST if request.method == "POST" else request.GET)
    except ValidationError as exc:
        messages.error(request, exc.messages[0])
        return redirect(back)
    form = CodeSendForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"] or SimpleUploadedFile(
            PASTED_NAME, sends_csv.pasted_as_csv(form.cleaned_data["recipients"]), content_type="text/csv"
        )
        try:
            job = import_start(
                tenant=tenant,
                kind=sends_csv.KIND,
                params={"contract": contract.pk, "code_ids": code_ids, "key": uuid.uuid4().hex},
                upload=upload,
                actor=request.user,
            )
        except ValidationError as exc:
            form.add_error(None, exc.messages[0])
        else:
            return redirect(tenant_reverse(tenant, "imports:detail", job_id=job.pk))
    selected = available = None
    if code_ids is not None:
        selected = list(sent_codes(tenant=tenant, contract=contract, code_ids=code_ids[:SELECTION_SHOWN]))
    else:
        available = capped_count(sending.unassigned_codes(tenant=tenant, contract=contract))
    return contract_page(
        request,
        contract,
        "codes",
        "invitations/send.html",
        {
            "form": form,
            "code_ids": code_ids,
            "selected": selected,
            "available": available,
            "imports": send_imports(tenant=tenant, contract=contract)[:10],
            "limits": {
                "recipients": f"{sending.MAX_RECIPIENTS:,}",
                "codes": f"{sending.MAX_CODES:,}",
                "per_email": sending.MAX_CODES_PER_EMAIL,
                "per_sms": sending.MAX_CODES_PER_SMS,
            },
        },
    )


@staff_required()
def code_resend(request, contract_id, code_id):
    """Send a code again to someone it was sent to (``?send=<id>``): asks first, then a new message."""
    contract = contract_get(tenant=request.tenant, contract_id=contract_id)
    code = code_get(tenant=request.tenant, contract=contract, code_id=code_id)
    send = send_get(tenant=request.tenant, code=code, send_id=id_from(request.GET.get("send")))
    back = _code_url(request, contract, "invitations:code", code_id=code.pk)
    channel = send.get_channel_display() if send.channel == "sms" else "email"
    if request.method == "POST":
        try:
            sending.code_resend(tenant=request.tenant, code=code, send=send, actor=request.user)
        except ValidationError as exc:
            messages.error(request, exc.messages[0])
        else:
            messages.success(
                request,
                _("Code {shown} is queued again by {channel} to {recipient}.").format(
                    shown=code.shown, channel=channel, recipient=send.recipient
                ),
            )
        return redirect(back)
    return confirm_page(
        request,
        title=_("Resend code"),
        question=_("Send code {shown} again to {recipient}?").format(shown=code.shown, recipient=send.recipient),
        consequence=f"A new {channel} with the code goes to {send.recipient}"
        f"{f' ({send.name})' if send.name else ''}. The code's page lists it with the earlier sends.",
        confirm_label=_("Resend by {channel}").format(channel=channel),
        cancel_url=back,
    )
