"""The analytics pages: tables, a group's page with its chart, CSV downloads, the period filter's
messages, and tenant isolation."""

import csv
import io
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from analytics.forms import BAD_DATE, ENDS_BEFORE_START, IGNORED, OUT_OF_RANGE
from tenancy.models import Role

from ..conftest import member, signed_in
from ..factories import CodeFactory, PriceFactory
from .data import build_codes, build_product, build_session

pytestmark = pytest.mark.django_db

MARCH = {"start": "2026-03-01", "end": "2026-03-31"}


@pytest.fixture
def known(tenant):
    tenant.time_zone = "Europe/Berlin"
    tenant.save()
    return build_codes(tenant)


@pytest.fixture
def http(tenant):
    return signed_in(member(tenant, Role.STAFF))


def downloaded(response) -> list[list[str]]:
    text = b"".join(response.streaming_content).decode("utf-8").lstrip("\ufeff")
    return list(csv.reader(io.StringIO(text)))


def cells(response) -> list[list[str]]:
    """The text of each body row of the page's first table."""
    body = response.content.decode().split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    rows = re.findall(r"<tr>(.*?)</tr>", body, re.S)
    return [
        [
            " ".join(re.sub(r"<[^>]+>", " ", cell).split())
            for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)
        ]
        for row in rows
    ]


def test_staff_find_analytics_in_the_navigation(http, known):
    page = http.get("/t/acme/")
    assert 'href="/t/acme/analytics/"' in page.content.decode()


def test_contracts_table_shows_each_contracts_figures_and_what_they_mean(http, known):
    response = http.get("/t/acme/analytics/")
    assert response.status_code == 200
    assert cells(response) == [
        ["Alpha contract Alpha Org", "7", "6", "5", "71.4%", "14 h"],
        ["Beta contract Beta Org", "3", "0", "0", "0.0%", "—"],
    ]
    page = response.content.decode()
    assert "not counting void codes" in page
    assert "All codes ever issued" in page


def test_the_period_filters_the_codes_issued_in_it_and_says_so(http, known):
    response = http.get("/t/acme/analytics/", MARCH)
    assert cells(response) == [
        ["Alpha contract Alpha Org", "6", "5", "4", "66.7%", "1 d"],
        ["Beta contract Beta Org", "2", "0", "0", "0.0%", "—"],
    ]
    page = " ".join(response.content.decode().split())
    assert "The codes issued from 1 Mar 2026 to 31 Mar 2026, with all their sends and redemptions" in page
    assert "Europe/Berlin" in page
    # The tabs and the rows' links keep the period.
    assert "/t/acme/analytics/campaigns/?start=2026-03-01&amp;end=2026-03-31" in page
    assert f"/t/acme/analytics/contracts/{known.contract_a.pk}/?start=2026-03-01&amp;end=2026-03-31" in page


@pytest.mark.parametrize(
    "query, message",
    [
        ({"start": "2026-13-01"}, BAD_DATE),
        ({"start": "yesterday", "end": "2026-01-01"}, BAD_DATE),
        ({"start": "2026-03-31", "end": "2026-03-01"}, ENDS_BEFORE_START),
        ({"end": "9999-12-31"}, OUT_OF_RANGE),
        ({"start": "0001-01-01"}, OUT_OF_RANGE),
        ({"start": "2026-03-01\x00"}, BAD_DATE),
    ],
)
def test_bad_dates_get_a_message_and_all_time_figures(http, known, query, message):
    for url in ("/t/acme/analytics/", f"/t/acme/analytics/contracts/{known.contract_a.pk}/"):
        response = http.get(url, query)
        assert response.status_code == 200
        page = response.content.decode()
        assert message in page
        assert IGNORED in page
    assert cells(http.get("/t/acme/analytics/", query))[0][1:4] == ["7", "6", "5"]


def test_the_table_csv_matches_the_page(http, known):
    for query in ({}, MARCH):
        page = cells(http.get("/t/acme/analytics/", query))
        response = http.get("/t/acme/analytics/contracts/download/", query)
        assert response["Content-Type"].startswith("text/csv")
        header, *rows = downloaded(response)
        assert header[:3] == ["Contract", "Organisation", "Issued"]
        assert [row[2:5] for row in rows] == [line[1:4] for line in page]
        assert [row[5] + "%" for row in rows] == [line[4] for line in page]
    assert downloaded(http.get("/t/acme/analytics/contracts/download/"))[1] == [
        "Alpha contract",
        "Alpha Org",
        "7",
        "6",
        "5",
        "71.4",
        "14.0",
    ]


def test_campaign_table_and_a_tags_page(http, known):
    response = http.get("/t/acme/analytics/campaigns/")
    assert cells(response) == [
        ["spring", "3", "2", "2", "66.7%", "13 h"],
        ["No campaign", "7", "4", "3", "42.9%", "1 d 14 h"],
    ]
    assert "/t/acme/analytics/campaigns/tag/?tag=spring" in response.content.decode()
    spring = http.get("/t/acme/analytics/campaigns/tag/", {"tag": "spring"})
    assert spring.status_code == 200
    assert "<h1>spring</h1>" in spring.content.decode()
    assert len(re.findall(r'<rect class="bar"', spring.content.decode())) == 2  # 2 and 3 March
    untagged = http.get("/t/acme/analytics/campaigns/tag/", {"tag": ""})
    assert "<h1>No campaign</h1>" in untagged.content.decode()
    header, *rows = downloaded(http.get("/t/acme/analytics/campaigns/tag/download/", {"tag": "spring"}))
    assert header == ["Day", "Redemptions"] and rows == [["2026-03-02", "1"], ["2026-03-03", "1"]]


def test_a_tag_no_code_carries_is_not_found(http, known):
    for query in ({"tag": "autumn"}, {}, {"tag": "x\x00"}):
        assert http.get("/t/acme/analytics/campaigns/tag/", query).status_code == 404
        assert http.get("/t/acme/analytics/campaigns/tag/download/", query).status_code == 404


def test_a_contracts_page_draws_a_bar_per_day_with_the_same_numbers_in_a_table(http, known):
    response = http.get(f"/t/acme/analytics/contracts/{known.contract_a.pk}/", MARCH)
    page = response.content.decode()
    assert "<h1>Alpha contract</h1>" in page
    main = page.split("<main", 1)[1].split("</main>", 1)[0]
    assert "<svg" in main and "<script" not in main  # drawn on the server, no script
    assert len(re.findall(r'<rect class="bar"', page)) == 31  # every day of March
    table = page.split("The numbers as a table", 1)[1]
    counts = re.findall(r"<tr><td>(2026-03-\d\d)</td><td>(\d+)</td></tr>", table)
    assert len(counts) == 31
    assert {day: n for day, n in counts if n != "0"} == {
        "2026-03-02": "1",
        "2026-03-03": "1",
        "2026-03-04": "1",
        "2026-03-05": "1",
    }
    header, *rows = downloaded(http.get(f"/t/acme/analytics/contracts/{known.contract_a.pk}/download/", MARCH))
    assert header == ["Day", "Redemptions"]
    assert rows == [list(pair) for pair in counts]


def test_a_group_without_redemptions_shows_an_empty_state(http, known):
    page = http.get(f"/t/acme/analytics/contracts/{known.contract_b.pk}/").content.decode()
    assert "No redemptions yet" in page and "<svg" not in page


def test_session_and_product_tables_and_pages(http, tenant):
    session = build_session(tenant)
    product = build_product(tenant)
    assert cells(http.get("/t/acme/analytics/sessions/"))[0][1:] == ["4", "3", "2", "50.0%", "3 h"]
    assert cells(http.get("/t/acme/analytics/products/"))[0] == ["Safety course", "4", "2", "2", "50.0%", "10 h"]
    page = http.get(f"/t/acme/analytics/sessions/{session.pk}/").content.decode()
    assert "<h1>Spring workshop</h1>" in page and len(re.findall(r'<rect class="bar"', page)) == 1
    page = http.get(f"/t/acme/analytics/products/{product.pk}/").content.decode()
    assert "<h1>Safety course</h1>" in page and len(re.findall(r'<rect class="bar"', page)) == 2  # 8 and 9 March
    header, *rows = downloaded(http.get("/t/acme/analytics/sessions/download/"))
    assert header[:2] == ["Session", "Starts"] and rows[0][2:] == ["4", "3", "2", "50.0", "3.0"]
    header, *rows = downloaded(http.get("/t/acme/analytics/products/download/"))
    assert rows == [["Safety course", "4", "2", "2", "50.0", "10.0"]]


@pytest.mark.parametrize("slug", ["", "campaigns/", "sessions/", "products/"])
def test_empty_tables_say_so(http, slug):
    response = http.get(f"/t/acme/analytics/{slug}")
    assert response.status_code == 200
    assert 'class="empty"' in response.content.decode()
    assert 'class="empty"' in http.get(f"/t/acme/analytics/{slug}", MARCH).content.decode()


def test_another_tenants_data_is_never_shown_and_its_ids_are_not_found(http, tenant, other_tenant, known):
    theirs = build_codes(other_tenant)
    their_session = build_session(other_tenant)
    their_product = build_product(other_tenant)
    CodeFactory(tenant=other_tenant, price=PriceFactory(tenant=other_tenant), campaign="theirs")
    assert [row[1:4] for row in cells(http.get("/t/acme/analytics/"))] == [["7", "6", "5"], ["3", "0", "0"]]
    assert 'class="empty"' in http.get("/t/acme/analytics/sessions/").content.decode()
    assert 'class="empty"' in http.get("/t/acme/analytics/products/").content.decode()
    assert "theirs" not in http.get("/t/acme/analytics/campaigns/").content.decode()
    for path in (
        f"contracts/{theirs.contract_a.pk}/",
        f"contracts/{theirs.contract_a.pk}/download/",
        f"sessions/{their_session.pk}/",
        f"sessions/{their_session.pk}/download/",
        f"products/{their_product.pk}/",
        f"products/{their_product.pk}/download/",
        "campaigns/tag/?tag=theirs",
        "campaigns/tag/download/?tag=theirs",
    ):
        assert http.get(f"/t/acme/analytics/{path}").status_code == 404, path
    downloads = downloaded(http.get("/t/acme/analytics/contracts/download/"))
    assert len(downloads) == 3  # the header and our two contracts


def test_people_outside_the_workspace_cannot_see_it(client, other_tenant, known):
    assert client.get("/t/acme/analytics/").status_code == 302
    outsider = signed_in(member(other_tenant, Role.OWNER))
    assert outsider.get("/t/acme/analytics/").status_code == 403
    assert outsider.get("/t/acme/analytics/contracts/download/").status_code == 403


@pytest.mark.parametrize(
    "url",
    [
        "/t/acme/analytics/",
        "/t/acme/analytics/campaigns/",
        "/t/acme/analytics/sessions/",
        "/t/acme/analytics/products/",
    ],
)
def test_a_tables_page_makes_the_same_queries_with_more_rows(http, tenant, known, url):
    def count():
        with CaptureQueriesContext(connection) as captured:
            assert http.get(url).status_code == 200
        return len(captured)

    build_session(tenant)
    build_product(tenant)
    few = count()
    for i in range(5):
        price = PriceFactory(tenant=tenant)
        for _ in range(4):
            CodeFactory(tenant=tenant, price=price, campaign=f"tag{i}")
    build_session(tenant, title="Another workshop")
    build_product(tenant, name="Another course")
    assert count() == few


def test_a_groups_page_makes_the_same_queries_with_more_redemptions(http, tenant, known):
    url = f"/t/acme/analytics/contracts/{known.contract_a.pk}/"

    def count():
        with CaptureQueriesContext(connection) as captured:
            assert http.get(url).status_code == 200
        return len(captured)

    few = count()
    from .data import code, utc

    for day in range(6, 20):
        code(tenant, known.codes["c1"].price, f"more{day}", utc(3, 1), sends=[utc(3, 2)], redeemed=[utc(3, day)])
    assert count() == few


def test_a_long_table_has_numbered_pages_and_the_csv_has_every_row(http, tenant):
    price = PriceFactory(tenant=tenant)
    for i in range(51):
        CodeFactory(tenant=tenant, price=price, campaign=f"tag-{i:02d}")
    first = http.get("/t/acme/analytics/campaigns/")
    assert len(cells(first)) == 50 and "Page 1 of 2" in first.content.decode()
    second = http.get("/t/acme/analytics/campaigns/", {"page": "2"})
    assert [row[0] for row in cells(second)] == ["tag-50"]
    assert len(cells(http.get("/t/acme/analytics/campaigns/", {"page": "99x"}))) == 50
    assert len(downloaded(http.get("/t/acme/analytics/campaigns/download/"))) == 52


def test_a_tags_page_keeps_the_tag_when_the_period_changes(http, known):
    page = http.get("/t/acme/analytics/campaigns/tag/", {"tag": "spring", **MARCH}).content.decode()
    assert '<input type="hidden" name="tag" value="spring">' in page
    assert "/t/acme/analytics/campaigns/tag/download/?tag=spring&amp;start=2026-03-01&amp;end=2026-03-31" in page


@pytest.mark.parametrize("path", ["contracts", "sessions", "products"])
def test_an_id_too_large_for_the_database_is_not_found(http, path):
    for suffix in ("", "download/"):
        assert http.get(f"/t/acme/analytics/{path}/99999999999999999999/{suffix}").status_code == 404
