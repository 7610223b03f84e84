"""Staff pages of session rosters: sessions, a session's roster and waitlist, inviting people,
acting on invitations, registrations and waitlist entries, and discount codes."""

import copy

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from tenancy.decorators import staff_required
from tenancy.models import Role
from tenancy.pagination import numbered_page
from tenancy.shortcuts import confirm_page, submit
from tenancy.urlresolvers import tenant_reverse

from . import selectors
from .forms import DiscountFilterForm, DiscountForm, InviteForm, SessionFilterForm, SessionForm
from .models import Session
from .services import checkout, discounts, invitations, sessions, waitlist

PER_PAGE = 25
ROSTER_PER_PAGE = 50  # rows carry action menus: rendering, not the queries, is what a longer page costs
CLOSED_SHOWN = 25


def _roster_url(request, session, name="sessions:roster", **kwargs):
    return tenant_reverse(request.tenant, name, session_id=session.pk, **kwargs)


def _confirm_then(request, *, act, success: str, back: str, **confirm):
    """GET asks (``confirm_page``); POST runs ``act()`` and goes ``back`` with its outcome."""
    if request.method != "POST":
        return confirm_page(request, cancel_url=back, **confirm)
    try:
        act()
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, success)
    return redirect(back)


@staff_required()
def session_list(request):
    filters = SessionFilterForm(request.GET)
    filters.is_valid()
    query = filters.cleaned_data.get("q", "")
    when = filters.cleaned_data.get("when") or "upcoming"
    rows = selectors.sessions_search(tenant=request.tenant, query=query, when=when)
    page = Paginator(rows, PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "sessions_roster/session_list.html",
        {"filters": filters, "page": page, "when": when, "filtered": bool(query) or when != "upcoming"},
    )


@staff_required(Role.ADMIN)
def session_create(request):
    return _session_form(request, None)


@staff_required(Role.ADMIN)
def session_edit(request, session_id):
    return _session_form(request, selectors.session_get(tenant=request.tenant, session_id=session_id))


def _session_form(request, session: Session | None):
    form = SessionForm(request.POST or None, instance=session)

    def save(**data):
        if session is None:
            return sessions.session_create(tenant=request.tenant, **data)
        return sessions.session_update(tenant=request.tenant, session=session, **data)

    done = submit(
        request,
        form,
        save,
        message=lambda saved: _("Session “{title}” saved.").format(title=saved.title),
        then=lambda saved: _roster_url(request, saved),
    )
    return done or render(request, "sessions_roster/session_form.html", {"form": form, "session": session})


@staff_required(Role.ADMIN)
def session_delete(request, session_id):
    session = selectors.session_get(tenant=request.tenant, session_id=session_id)
    if request.method == "POST":
        try:
            sessions.session_delete(tenant=request.tenant, session=session)
        except ValidationError as exc:
            messages.error(request, exc.messages[0])
            return redirect(_roster_url(request, session))
        messages.success(request, _("Session “{title}” deleted.").format(title=session.title))
        return redirect(tenant_reverse(request.tenant, "sessions:list"))
    return confirm_page(
        request,
        title=_("Delete session"),
        question=_("Delete the session “{title}”?").format(title=session.title),
        consequence=_("Only a session nobody registered for, was invited to or waits for can be deleted."),
        confirm_label=_("Delete session"),
        cancel_url=_roster_url(request, session),
    )


def _session_page(request, session, tab, template, context, summary=None):
    summary = summary or selectors.capacity_summary(tenant=request.tenant, session=session)
    return render(request, template, {"session": session, "summary": summary, "tab": tab, **context})


@staff_required()
def roster(request, session_id):
    tenant = request.tenant
    session = selectors.session_get(tenant=tenant, session_id=session_id)
    summary = selectors.capacity_summary(tenant=tenant, session=session)
    # The summary has counted both lists already: their pages need no COUNT query of their own.
    registered = numbered_page(
        selectors.registrations_of(tenant=tenant, session=session, status="holding"),
        count=summary.confirmed + summary.awaiting_payment,
        per_page=ROSTER_PER_PAGE,
        params=request.GET,
    )
    invited = numbered_page(
        selectors.invitations_of(tenant=tenant, session=session, open_only=True),
        count=summary.invited,
        per_page=ROSTER_PER_PAGE,
        params=request.GET,
        param="invited_page",
    )
    return _session_page(
        request,
        session,
        "roster",
        "sessions_roster/roster.html",
        {
            "registered": registered,
            "invited": invited,
            # The latest closures only; each person's full story is in their order and the Outbox.
            "cancelled": selectors.registrations_of(tenant=tenant, session=session, status="cancelled")[:CLOSED_SHOWN],
            "closed_invitations": selectors.invitations_of(tenant=tenant, session=session, open_only=False)[
                :CLOSED_SHOWN
            ],
            "closed_shown": CLOSED_SHOWN,
            "public_url": request.build_absolute_uri(
                tenant_reverse(tenant, "register:session", session_key=session.key)
            ),
        },
        summary=summary,
    )


@staff_required()
def waitlist_tab(request, session_id):
    session = selectors.session_get(tenant=request.tenant, session_id=session_id)
    entries = selectors.waitlist_of(tenant=request.tenant, session=session)
    page = Paginator(entries, ROSTER_PER_PAGE).get_page(request.GET.get("page"))
    return _session_page(request, session, "waitlist", "sessions_roster/waitlist.html", {"page": page})


@staff_required()
def invite(request, session_id):
    tenant = request.tenant
    session = selectors.session_get(tenant=tenant, session_id=session_id)
    form = InviteForm(
        request.POST or None,
        discounts=discounts.discounts_for_session(tenant=tenant, session=session),
    )
    if not session.is_full:  # the capacity question is asked only of a full session
        del form.fields["raise_capacity"]
    done = submit(
        request,
        form,
        lambda **data: invitations.invitation_send(tenant=tenant, session=session, actor=request.user, **data),
        message=lambda saved: (
            _("Invitation sent to {email}. Their spot is held (the capacity was raised by one).")
            if saved.raised_capacity
            else _("Invitation sent to {email}. Their spot is held.")
        ).format(email=saved.email),
        then=_roster_url(request, session),
    )
    if done:
        return done
    full = session.is_full or any(error.code == "full" for error in form.errors.as_data().get("__all__", []))
    if full and "raise_capacity" not in form.fields:
        form.fields["raise_capacity"] = copy.deepcopy(InviteForm.base_fields["raise_capacity"])
    return render(request, "sessions_roster/invite.html", {"form": form, "session": session, "full": full})


@staff_required()
def invitation_resend(request, session_id, invite_id):
    session = selectors.session_get(tenant=request.tenant, session_id=session_id)
    invitation = selectors.invitation_get(tenant=request.tenant, session=session, invitation_id=invite_id)
    return _confirm_then(
        request,
        act=lambda: invitations.invitation_resend(tenant=request.tenant, invitation=invitation, actor=request.user),
        success=_("Invitation sent again to {email}, with the same link.").format(email=invitation.email),
        back=_roster_url(request, session),
        title=_("Resend invitation"),
        question=_("Send the invitation to {email} again?").format(email=invitation.email),
        consequence=_("A new email goes out with the same link; the spot stays held."),
        confirm_label=_("Resend"),
    )


@staff_required()
def invitation_cancel(request, session_id, invite_id):
    session = selectors.session_get(tenant=request.tenant, session_id=session_id)
    invitation = selectors.invitation_get(tenant=request.tenant, session=session, invitation_id=invite_id)
    return _confirm_then(
        request,
        act=lambda: invitations.invitation_cancel(tenant=request.tenant, invitation=invitation, actor=request.user),
        success=_("Invitation for {email} cancelled; the spot is free again.").format(email=invitation.email),
        back=_roster_url(request, session),
        title=_("Cancel invitation"),
        question=_("Cancel the invitation for {email}?").format(email=invitation.email),
        consequence=_("The link stops working and the spot is freed (offered to the waitlist first, if anyone waits).")
        + (
            " " + _("The capacity raised for this invitation stays: edit the session to lower it.")
            if invitation.raised_capacity
            else ""
        ),
        confirm_label=_("Cancel invitation"),
    )


@staff_required()
def registration_paid(request, session_id, registration_id):
    session = selectors.session_get(tenant=request.tenant, session_id=session_id)
    registration = selectors.registration_get(tenant=request.tenant, session=session, registration_id=registration_id)
    order = registration.order
    return _confirm_then(
        request,
        act=lambda: checkout.order_mark_paid(tenant=request.tenant, order=order, actor=request.user),
        success=_("Order {number} marked paid; {email} was told.").format(number=order.number, email=order.email),
        back=_roster_url(request, session),
        title=_("Record payment"),
        question=_("Record that order {number} ({total} {currency}) was paid?").format(
            number=order.number, total=order.total, currency=request.tenant.currency
        ),
        consequence=_("Every registration in the order is confirmed and the buyer gets an email."),
        confirm_label=_("Mark paid"),
    )


@staff_required()
def registration_cancel(request, session_id, registration_id):
    session = selectors.session_get(tenant=request.tenant, session_id=session_id)
    registration = selectors.registration_get(tenant=request.tenant, session=session, registration_id=registration_id)
    return _confirm_then(
        request,
        act=lambda: checkout.registration_cancel(tenant=request.tenant, registration=registration, actor=request.user),
        success=_("Registration of {full_name} cancelled; the spot is free again.").format(
            full_name=registration.full_name
        ),
        back=_roster_url(request, session),
        title=_("Cancel registration"),
        question=_("Cancel the registration of {full_name} ({email})?").format(
            full_name=registration.full_name, email=registration.email
        ),
        consequence=_(
            "They get an email; the spot is freed and offered to the waitlist first. Any refund is up to you."
        ),
        confirm_label=_("Cancel registration"),
    )


@staff_required()
def waitlist_remove(request, session_id, entry_id):
    session = selectors.session_get(tenant=request.tenant, session_id=session_id)
    entry = selectors.waitlist_entry_get(tenant=request.tenant, session=session, entry_id=entry_id)
    return _confirm_then(
        request,
        act=lambda: waitlist.waitlist_remove(tenant=request.tenant, entry=entry),
        success=_("{full_name} removed from the waitlist.").format(full_name=entry.full_name),
        back=_roster_url(request, session, "sessions:waitlist"),
        title=_("Remove from waitlist"),
        question=_("Remove {full_name} ({email}) from the waitlist?").format(
            full_name=entry.full_name, email=entry.email
        ),
        consequence=_("If a spot is being held for them, it goes to the next person waiting."),
        confirm_label=_("Remove"),
    )


@staff_required()
def discount_list(request):
    filters = DiscountFilterForm(request.GET)
    filters.is_valid()
    query = filters.cleaned_data.get("q", "")
    rows = selectors.discounts_search(tenant=request.tenant, query=query)
    page = Paginator(rows, PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request, "sessions_roster/discount_list.html", {"filters": filters, "page": page, "filtered": bool(query)}
    )


@staff_required(Role.ADMIN)
def discount_create(request):
    return _discount_form(request, None)


@staff_required(Role.ADMIN)
def discount_edit(request, discount_id):
    return _discount_form(request, selectors.discount_get(tenant=request.tenant, discount_id=discount_id))


def _discount_form(request, discount):
    tenant = request.tenant
    named = list(discount.sessions.all()) if discount else []
    form = DiscountForm(
        request.POST or None, instance=discount, sessions=selectors.session_choices(tenant=tenant, selected=named)
    )
    done = submit(
        request,
        form,
        lambda **data: discounts.discount_save(tenant=tenant, discount=discount, **data),
        message=lambda saved: _("Discount code {code} saved.").format(code=saved.code),
        then=tenant_reverse(tenant, "sessions:discounts"),
    )
    return done or render(request, "sessions_roster/discount_form.html", {"form": form, "discount": discount})
