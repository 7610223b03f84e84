"""Analytics pages: a table per dimension, a group's redemptions over time, their CSV downloads."""

import math
from urllib.parse import urlencode

from django.http import Http404
from django.shortcuts import render
from django.utils import timezone

from imports.csv_export import stream_csv
from tenancy.decorators import staff_required
from tenancy.pagination import ListPage, Total
from tenancy.urlresolvers import tenant_reverse

from .charts import bar_chart
from .forms import IGNORED, period_from
from .selectors import DIMENSIONS, figures_for, figures_table, figures_total, redemptions_series

ROWS_PER_PAGE = 50
DETAIL_URL = {"contracts": "contract", "sessions": "session", "products": "product", "campaigns": "campaign"}
CSV_HEADER = ["Issued", "Sent", "Redeemed", "Redemption rate (%)", "Median time to redemption (hours)"]


def _period(request):
    form, period = period_from(request.GET, zone=request.tenant.zone)
    chosen = {"start": period.first, "end": period.last}
    query = urlencode({k: v.isoformat() for k, v in chosen.items() if v})
    return form, period, query


def _page(rows: list, params) -> ListPage:
    """Numbered pages of a table already in memory (one row per group, not per item)."""
    num_pages = max(1, math.ceil(len(rows) / ROWS_PER_PAGE))
    try:
        number = min(max(int(params.get("page", 1)), 1), num_pages)
    except (TypeError, ValueError, OverflowError):
        number = 1

    def query(n):
        changed = params.copy()
        changed["page"] = n
        return "?" + changed.urlencode()

    start = (number - 1) * ROWS_PER_PAGE
    return ListPage(
        rows=rows[start : start + ROWS_PER_PAGE],
        next_query=query(number + 1) if number < num_pages else "",
        previous_query=query(number - 1) if number > 1 else "",
        number=number,
        num_pages=num_pages,
        total=Total(len(rows)),
    )


def _detail_url(tenant, slug: str, key, query: str, *, csv=False) -> str:
    name = f"analytics:{DETAIL_URL[slug]}{'_csv' if csv else ''}"
    if slug == "campaigns":
        return tenant_reverse(tenant, name) + "?" + urlencode({"tag": key}) + (f"&{query}" if query else "")
    url = tenant_reverse(tenant, name, **{f"{DETAIL_URL[slug]}_id": key})
    return url + (f"?{query}" if query else "")


def _csv_row(figures, *names) -> list:
    return [*names, figures.issued, figures.sent, figures.redeemed, _rate_number(figures), figures.median_hours]


def _rate_number(figures) -> str:
    return "" if figures.rate is None else f"{figures.rate:.1f}"


def _filename(slug: str, period) -> str:
    span = "-".join(day.isoformat() for day in (period.first, period.last) if day) or "all-time"
    return f"analytics-{slug}-{span}.csv"


@staff_required()
def table(request, dimension):
    dim = DIMENSIONS[dimension]
    form, period, query = _period(request)
    rows = figures_table(tenant=request.tenant, dimension=dim, period=period)
    page = _page(rows, request.GET)
    for figures in page.rows:
        figures.url = _detail_url(request.tenant, dimension, figures.key, query)
    csv_url = tenant_reverse(request.tenant, f"analytics:{dimension}_csv") + (f"?{query}" if query else "")
    return render(
        request,
        "analytics/table.html",
        {
            "dimension": dim,
            "dimensions": DIMENSIONS.values(),
            "form": form,
            "period": period,
            "period_ignored": IGNORED if form.errors else "",
            "period_query": query,
            "page": page,
            "total": figures_total(rows),
            "csv_url": csv_url,
        },
    )


@staff_required()
def table_csv(request, dimension):
    dim = DIMENSIONS[dimension]
    _, period, _ = _period(request)
    tenant = request.tenant
    header = [dim.column, "Organisation"] if dimension == "contracts" else [dim.column]
    if dimension == "sessions":
        header.append("Starts")

    def rows():
        for figures in figures_table(tenant=tenant, dimension=dim, period=period):
            if dimension == "contracts":
                yield _csv_row(figures, figures.label, figures.detail)
            elif dimension == "sessions":
                starts = timezone.localtime(figures.detail, tenant.zone).strftime("%Y-%m-%d %H:%M")
                yield _csv_row(figures, figures.label, starts)
            else:
                yield _csv_row(figures, figures.label)

    return stream_csv(tenant=tenant, filename=_filename(dimension, period), header=header + CSV_HEADER, rows=rows)


def _key(request, dimension, ids: dict):
    if dimension != "campaigns":
        return next(iter(ids.values()))
    tag = request.GET.get("tag")
    if tag is None or "\x00" in tag or len(tag) > 50:
        raise Http404("No codes carry this campaign tag.")
    return tag


@staff_required()
def detail(request, dimension, **ids):
    dim = DIMENSIONS[dimension]
    key = _key(request, dimension, ids)
    form, period, query = _period(request)
    figures = figures_for(tenant=request.tenant, dimension=dim, key=key, period=period)
    today = timezone.localdate(timezone=request.tenant.zone)
    series = redemptions_series(tenant=request.tenant, dimension=dim, key=key, period=period, today=today)
    return render(
        request,
        "analytics/detail.html",
        {
            "dimension": dim,
            "dimensions": DIMENSIONS.values(),
            "figures": figures,
            "series": series,
            "chart": bar_chart(series),
            "form": form,
            "period": period,
            "period_ignored": IGNORED if form.errors else "",
            "tag": key if dimension == "campaigns" else None,
            "back_url": tenant_reverse(request.tenant, f"analytics:{dimension}") + (f"?{query}" if query else ""),
            "csv_url": _detail_url(request.tenant, dimension, key, query, csv=True),
        },
    )


@staff_required()
def detail_csv(request, dimension, **ids):
    dim = DIMENSIONS[dimension]
    key = _key(request, dimension, ids)
    _, period, _ = _period(request)
    tenant = request.tenant
    figures = figures_for(tenant=tenant, dimension=dim, key=key, period=period)  # 404 before streaming
    today = timezone.localdate(timezone=tenant.zone)
    series = redemptions_series(tenant=tenant, dimension=dim, key=key, period=period, today=today)
    bars = [[bar.start.isoformat(), bar.count] for bar in series.bars]
    # A campaign tag is free text: it stays out of the file name (and so out of the header).
    name = _filename(dimension if dimension == "campaigns" else f"{dimension}-{figures.key}", period)
    return stream_csv(tenant=tenant, filename=name, header=[series.unit_heading, "Redemptions"], rows=lambda: bars)
