"""The figures behind the analytics tables, on a data set worked out by hand (tests/analytics/data.py)."""

from datetime import date
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from analytics.selectors import DIMENSIONS, Period, figures_for, figures_table, redemptions_series

from ..factories import CodeFactory, PriceFactory
from .data import H, build_codes, build_product, build_session, code, utc

pytestmark = pytest.mark.django_db

BERLIN = ZoneInfo("Europe/Berlin")
ALL_TIME = Period(zone=BERLIN)
MARCH = Period(date(2026, 3, 1), date(2026, 3, 31), BERLIN)
TODAY = date(2026, 11, 24)


@pytest.fixture
def known(tenant):
    tenant.time_zone = "Europe/Berlin"
    tenant.save()
    return build_codes(tenant)


def table(tenant, slug, period=ALL_TIME):
    return {row.label: row for row in figures_table(tenant=tenant, dimension=DIMENSIONS[slug], period=period)}


def numbers(row):
    return row.issued, row.sent, row.redeemed, row.rate_text, row.median_seconds


def test_contract_figures_count_codes_sends_and_first_redemptions(tenant, known):
    rows = table(tenant, "contracts")
    # c1–c6 and c8 (the void code is not counted); sent: all but c5; redeemed: c1, c2, c3, c5, c8
    # (c6's only booking was cancelled); median of 2 h, 4 h, 24 h, 72 h.
    assert numbers(rows["Alpha contract"]) == (7, 6, 5, "71.4%", 14 * 3600)
    assert rows["Alpha contract"].median_text == "14 h"
    assert rows["Alpha contract"].detail == "Alpha Org"
    assert numbers(rows["Beta contract"]) == (3, 0, 0, "0.0%", None)
    assert rows["Beta contract"].median_text == "—"
    assert list(rows) == ["Alpha contract", "Beta contract"]  # by organisation, then contract


def test_the_period_takes_the_codes_issued_in_it_in_the_tenants_time_zone(tenant, known):
    rows = table(tenant, "contracts", MARCH)
    # March: c1–c6 (c8 was made in April), with c3's redemption on 5 March counted.
    assert numbers(rows["Alpha contract"]) == (6, 5, 4, "66.7%", 24 * 3600)
    # 23:30 UTC on 28 February is 1 March in Berlin (in); 23:30 UTC on 31 March is 1 April (out).
    assert numbers(rows["Beta contract"]) == (2, 0, 0, "0.0%", None)
    april = table(tenant, "contracts", Period(date(2026, 4, 1), None, BERLIN))
    assert numbers(april["Alpha contract"]) == (1, 1, 1, "100.0%", 4 * 3600)
    assert numbers(april["Beta contract"]) == (1, 0, 0, "0.0%", None)
    assert table(tenant, "contracts", Period(None, date(2026, 2, 27), BERLIN)) == {}


def test_campaign_rows_group_codes_across_contracts(tenant, known):
    rows = table(tenant, "campaigns")
    assert list(rows) == ["spring", "No campaign"]
    assert numbers(rows["spring"]) == (3, 2, 2, "66.7%", 13 * 3600)  # c1, c2 (A) and c9 (B)
    assert numbers(rows["No campaign"]) == (7, 4, 3, "42.9%", 38 * 3600)  # median of 4 h and 72 h


def test_a_code_redeemed_before_it_was_sent_counts_as_redeemed_but_not_in_the_median(tenant, known):
    price = PriceFactory(tenant=tenant, contract__name="Gamma", contract__organisation__name="Gamma Org")
    code(tenant, price, "early", utc(3, 1), sends=[utc(3, 9)], redeemed=[utc(3, 2)])
    code(tenant, price, "late", utc(3, 1), sends=[utc(3, 9)], redeemed=[utc(3, 9) + 6 * H])
    assert numbers(table(tenant, "contracts")["Gamma"]) == (2, 2, 2, "100.0%", 6 * 3600)


def test_session_figures(tenant):
    build_session(tenant)
    rows = table(tenant, "sessions")
    # 4 invitations, 3 emailed, 2 accepted after 5 h and 1 h.
    assert numbers(rows["Spring workshop"]) == (4, 3, 2, "50.0%", 3 * 3600)
    assert table(tenant, "sessions", Period(date(2026, 3, 6), None, ZoneInfo("UTC"))) == {}


def test_product_figures(tenant):
    build_product(tenant)
    rows = table(tenant, "products")
    # 4 codes, 2 invited, 2 claimed; only the invited-then-claimed one has a time: 10 h.
    assert numbers(rows["Safety course"]) == (4, 2, 2, "50.0%", 10 * 3600)


def test_another_tenants_rows_are_never_counted(tenant, other_tenant, known):
    build_codes(other_tenant)
    build_session(other_tenant)
    build_product(other_tenant)
    assert numbers(table(tenant, "contracts")["Alpha contract"]) == (7, 6, 5, "71.4%", 14 * 3600)
    assert numbers(table(tenant, "campaigns")["spring"]) == (3, 2, 2, "66.7%", 13 * 3600)
    assert table(tenant, "sessions") == {}
    assert table(tenant, "products") == {}


def test_one_groups_figures_and_series(tenant, known):
    dim = DIMENSIONS["contracts"]
    figures = figures_for(tenant=tenant, dimension=dim, key=known.contract_a.pk, period=MARCH)
    assert numbers(figures) == (6, 5, 4, "66.7%", 24 * 3600)
    series = redemptions_series(tenant=tenant, dimension=dim, key=known.contract_a.pk, period=MARCH, today=TODAY)
    assert series.unit == "day"
    assert len(series.bars) == 31  # every day of March, zeros included
    counts = {bar.start.day: bar.count for bar in series.bars if bar.count}
    assert counts == {2: 1, 3: 1, 4: 1, 5: 1}  # c1, c2, c5, c3 (its second booking is not counted again)
    assert series.total == figures.redeemed


def test_the_series_groups_by_week_then_month_over_long_spans(tenant, known):
    dim, key = DIMENSIONS["contracts"], known.contract_a.pk
    half_year = Period(date(2026, 1, 1), date(2026, 6, 30), BERLIN)
    weekly = redemptions_series(tenant=tenant, dimension=dim, key=key, period=half_year, today=TODAY)
    assert weekly.unit == "week" and weekly.bars[0].start == date(2025, 12, 29)  # the Monday of its week
    assert {bar.start: bar.count for bar in weekly.bars if bar.count} == {date(2026, 3, 2): 4, date(2026, 4, 6): 1}
    years = Period(date(2020, 1, 1), None, BERLIN)
    monthly = redemptions_series(tenant=tenant, dimension=dim, key=key, period=years, today=TODAY)
    assert monthly.unit == "month" and len(monthly.bars) == 6 * 12 + 4  # Jan 2020 – Apr 2026
    assert [bar.count for bar in monthly.bars[-2:]] == [4, 1]


def test_a_series_without_redemptions_is_empty(tenant, known):
    series = redemptions_series(
        tenant=tenant, dimension=DIMENSIONS["contracts"], key=known.contract_b.pk, period=ALL_TIME, today=TODAY
    )
    assert series.bars == []


@pytest.mark.parametrize("slug", ["contracts", "campaigns", "sessions", "products"])
def test_a_table_costs_the_same_queries_for_few_rows_and_many(tenant, slug):
    def count_queries():
        with CaptureQueriesContext(connection) as captured:
            figures_table(tenant=tenant, dimension=DIMENSIONS[slug], period=ALL_TIME)
        return len(captured)

    empty = count_queries()
    build_codes(tenant)
    build_session(tenant)
    build_product(tenant)
    few = count_queries()
    for i in range(4):
        price = PriceFactory(tenant=tenant)
        for _ in range(3):
            CodeFactory(tenant=tenant, price=price, campaign=f"tag{i}")
    build_session(tenant, title="Another workshop")
    build_product(tenant, name="Another course")
    many = count_queries()
    assert few == many <= 2
    assert empty <= few  # no groups: no names to read
