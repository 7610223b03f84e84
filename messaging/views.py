"""The outbox pages and the email template editor."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from tenancy.decorators import staff_required
from tenancy.models import Role
from tenancy.shortcuts import confirm_page
from tenancy.urlresolvers import tenant_reverse

from . import registry, services
from .forms import EmailTemplateForm, OutboxFilterForm
from .rendering import EmailTemplateError, render_email
from .selectors import editable_kind_get, outbox_get, outbox_list, template_override, template_sources

EMAILS_PER_PAGE = 50


@staff_required()
def outbox(request):
    filters = OutboxFilterForm(request.GET)
    filters.is_valid()  # a bad value drops only its own filter; the page says so
    status, query = filters.cleaned_data.get("status", ""), filters.cleaned_data.get("q", "")
    channel = filters.cleaned_data.get("channel", "")
    emails = outbox_list(tenant=request.tenant, status=status, search=query, channel=channel)
    page = Paginator(emails, EMAILS_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "messaging/outbox.html",
        {"filters": filters, "page": page, "filtered": bool(status or query or channel)},
    )


@staff_required()
def outbox_detail(request, email_id):
    email = outbox_get(tenant=request.tenant, email_id=email_id)
    return render(
        request, "messaging/outbox_detail.html", {"email": email, "private_link_gone": services.PRIVATE_LINK_GONE}
    )


@require_POST
@staff_required(Role.ADMIN)
def outbox_resend(request, email_id):
    email = outbox_get(tenant=request.tenant, email_id=email_id)
    try:
        copy = services.outbox_resend(tenant=request.tenant, email=email, actor=request.user)
    except ValidationError as exc:
        messages.error(request, exc.messages[0])
        return redirect(tenant_reverse(request.tenant, "messaging:outbox_detail", email_id=email.pk))
    messages.success(request, _("A new copy to {recipient} is queued.").format(recipient=copy.recipient))
    return redirect(tenant_reverse(request.tenant, "messaging:outbox_detail", email_id=copy.pk))


@staff_required(Role.ADMIN)
def template_list(request):
    kinds = [
        {"kind": kind, "override": template_override(tenant=request.tenant, key=kind.key)}
        for kind in registry.editable_kinds()
    ]
    return render(request, "messaging/template_list.html", {"kinds": kinds})


@staff_required(Role.ADMIN)
def template_edit(request, key):
    """Edit, preview (without saving) and save one template. Nothing broken is ever saved."""
    kind = editable_kind_get(key)
    current = template_sources(tenant=request.tenant, kind=kind)
    initial = {"subject": current.subject.strip(), "text": current.text, "html": current.html}
    form = EmailTemplateForm(request.POST or None, initial=initial)
    sources = current if request.method == "GET" else (form.sources() if form.is_valid() else None)
    preview = preview_error = None
    if sources is not None:
        try:
            preview = render_email(sources, {**services.base_context(request.tenant), **kind.sample_context})
        except EmailTemplateError as exc:
            preview_error = str(exc)
    if preview is not None and request.method == "POST" and "save" in request.POST:
        services.template_override_save(tenant=request.tenant, key=key, sources=sources, actor=request.user)
        messages.success(request, _("“{label}” saved. New emails use it from now on.").format(label=kind.label))
        return redirect(tenant_reverse(request.tenant, "messaging:template_edit", key=key))
    preview_html = (
        services.html_in_layout(tenant=request.tenant, inner_html=preview.html, subject=preview.subject)
        if preview
        else ""
    )
    return render(
        request,
        "messaging/template_edit.html",
        {
            "kind": kind,
            "form": form,
            "preview": preview,
            "preview_html": preview_html,
            "preview_error": preview_error,
            "overridden": template_override(tenant=request.tenant, key=key) is not None,
        },
    )


@staff_required(Role.ADMIN)
def template_reset(request, key):
    kind = editable_kind_get(key)
    edit_url = tenant_reverse(request.tenant, "messaging:template_edit", key=key)
    if request.method == "POST":
        services.template_override_reset(tenant=request.tenant, key=key)
        messages.success(request, _("“{label}” is back to the default text.").format(label=kind.label))
        return redirect(edit_url)
    return confirm_page(
        request,
        title=_("Reset email template"),
        question=_("Go back to the default “{label}” email?").format(label=kind.label),
        consequence=_("Your own subject, text and HTML for this email are discarded."),
        confirm_label=_("Reset to default"),
        cancel_url=edit_url,
    )
