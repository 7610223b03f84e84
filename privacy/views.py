"""Pages of the data export (owners) and of erasing one person's data (owners and admins)."""

from django.contrib import messages
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from tenancy.decorators import staff_required
from tenancy.models import Role
from tenancy.urlresolvers import tenant_reverse

from .erasure import NOTHING_LEFT, ErasureRefused, erasure_plan, person_erase
from .forms import ErasureForm
from .models import DataExport
from .selectors import data_exports_of, erasures_of
from .services import ExportRefused, data_export_download, data_export_request, data_exports_sweep

EXPORT_ASKED = gettext_noop(
    "The export is being prepared. This page shows its progress; the archive can be downloaded for 24 hours."
)


@staff_required(Role.OWNER)
def export_page(request):
    back = tenant_reverse(request.tenant, "privacy:export")
    if request.method == "POST":
        try:
            data_export_request(tenant=request.tenant, user=request.user)
        except ExportRefused as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, _(EXPORT_ASKED))
        return redirect(back)
    data_exports_sweep(tenant=request.tenant)  # archives past their day go before the list is shown
    exports = list(data_exports_of(tenant=request.tenant))
    return render(
        request,
        "privacy/export.html",
        {"exports": exports, "busy": any(export.busy for export in exports), "now": timezone.now()},
    )


@staff_required(Role.OWNER)
def export_download(request, export_id):
    try:
        export, path = data_export_download(tenant=request.tenant, export_id=export_id, user=request.user)
    except DataExport.DoesNotExist:
        raise Http404("No such export.") from None
    except ExportRefused as exc:
        messages.error(request, str(exc))
        return redirect(tenant_reverse(request.tenant, "privacy:export"))
    stamp = timezone.localtime(export.finished_at).strftime("%Y%m%d-%H%M")
    response = FileResponse(
        path.open("rb"),
        as_attachment=True,
        filename=f"tessera-{request.tenant.slug}-export-{stamp}.zip",
        content_type="application/zip",
    )
    response["Cache-Control"] = "no-store"
    return response


@staff_required(Role.ADMIN)
def erase_page(request):
    form = ErasureForm(request.POST or None)
    context = {"form": form, "erasures": erasures_of(tenant=request.tenant)}
    if request.method != "POST" or not form.is_valid():
        return render(request, "privacy/erase.html", context)
    email = form.cleaned_data["email"]
    try:
        if request.POST.get("confirm") != "yes":
            plan = erasure_plan(tenant=request.tenant, email=email)
            if plan.empty:
                raise ErasureRefused(_(NOTHING_LEFT).format(email=plan.email))
            return render(request, "privacy/erase_confirm.html", {"plan": plan})
        erasure = person_erase(tenant=request.tenant, email=email, actor=request.user)
    except ErasureRefused as exc:
        form.add_error("email", str(exc))
        return render(request, "privacy/erase.html", context)
    messages.success(
        request,
        (
            _("Erased: {total} row(s) now show {email}; the login was deactivated.")
            if erasure.login_deactivated
            else _("Erased: {total} row(s) now show {email}.")
        ).format(total=erasure.total, email=erasure.placeholder_email),
    )
    return redirect(tenant_reverse(request.tenant, "privacy:erase"))
