"""The audit trail pages: search, one event, and the CSV of a search."""

from django.shortcuts import render
from django.utils import timezone

from imports.csv_export import stream_csv
from tenancy.decorators import staff_required
from tenancy.models import Role
from tenancy.pagination import keyset_page

from .forms import AuditFilterForm
from .models import Action
from .selectors import audit_get, audit_search

EVENTS_PER_PAGE = 50
CSV_HEADER = ["time", "action", "event", "actor", "object_type", "object_id", "object", "summary", "changes"]


def _search(request):
    form = AuditFilterForm(request.GET)
    form.is_valid()
    filters = form.filters()
    rows = audit_search(
        tenant=request.tenant,
        zone=request.tenant.zone,
        text=filters["q"],
        action=filters["action"],
        start=filters["start"],
        end=filters["end"],
        object_type=filters["object_type"],
        object_id=filters["object_id"],
    )
    return form, filters, rows


@staff_required(Role.ADMIN)
def audit_list(request):
    form, filters, rows = _search(request)
    page = keyset_page(rows, order=("-id",), per_page=EVENTS_PER_PAGE, params=request.GET)
    return render(
        request,
        "audit/list.html",
        {
            "filters": form,
            "page": page,
            "filtered": any(filters.values()),
            "export_query": request.GET.urlencode(),
        },
    )


@staff_required(Role.ADMIN)
def audit_detail(request, event_id):
    return render(request, "audit/detail.html", {"event": audit_get(tenant=request.tenant, event_id=event_id)})


@staff_required(Role.ADMIN)
def audit_export(request):
    _, _, rows = _search(request)
    zone = request.tenant.zone
    labels = dict(Action.choices)

    def lines():
        for event in rows.order_by("-id").iterator(chunk_size=2000):
            yield [
                timezone.localtime(event.occurred_at, zone).isoformat(timespec="seconds"),
                labels.get(event.action, event.action),
                event.event,
                event.actor_label,
                event.object_type,
                event.object_id,
                event.object_repr,
                event.summary,
                "; ".join(f"{name}: {before} → {after}" for name, before, after in event.change_rows),
            ]

    stamp = timezone.localtime(timezone.now(), zone).strftime("%Y%m%d-%H%M")
    return stream_csv(tenant=request.tenant, filename=f"audit-{stamp}.csv", header=CSV_HEADER, rows=lines)
