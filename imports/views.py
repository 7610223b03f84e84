"""Pages of the import pipeline: a job's progress, problems and "Complete Import"; the history."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from tenancy.decorators import staff_required
from tenancy.urlresolvers import tenant_reverse

from . import progress, registry, services
from .selectors import import_get, imports_all


def _job_and_kind(request, job_id):
    job = import_get(tenant=request.tenant, job_id=job_id)
    kind = registry.get(job.kind)
    if kind.customer_owned:  # a customer's upload: theirs to see and complete, in My Account
        raise Http404("No such import.")
    job.target = kind.target(tenant=request.tenant, params=job.params)  # 404 if what it belongs to is gone
    return job, kind


@staff_required()
def import_detail(request, job_id):
    job, kind = _job_and_kind(request, job_id)
    return render(
        request,
        "imports/import_detail.html",
        {
            "job": job,
            "kind": kind,
            "percent": progress.percent(job) if job.busy else job.progress,
            "back_url": kind.back_url(tenant=request.tenant, params=job.params),
        },
    )


@require_POST
@staff_required()
def import_commit(request, job_id):
    job, _ = _job_and_kind(request, job_id)
    try:
        services.import_request_commit(tenant=request.tenant, job=job, actor=request.user)
    except ValidationError as exc:
        messages.error(request, exc.messages[0])
    return redirect(tenant_reverse(request.tenant, "imports:detail", job_id=job.pk))


@staff_required()
def import_file(request, job_id):
    job, _ = _job_and_kind(request, job_id)
    response = HttpResponse(bytes(job.content), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="import-{job.pk}.csv"'
    return response


@staff_required()
def import_list(request):
    page = Paginator(imports_all(tenant=request.tenant), 50).get_page(request.GET.get("page"))
    rows = [{"job": job, "kind": registry.get(job.kind)} for job in page.object_list]
    return render(request, "imports/import_list.html", {"page": page, "rows": rows})
