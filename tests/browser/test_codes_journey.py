"""In a real browser, with JavaScript off: staff create an organisation and a contract with a prefix
and two prices, generate 500 codes and watch the batch's progress to the end, filter the list, open a
code, edit it, delete an unused one (after the confirmation) and download the CSV of the rest."""

import csv
import io
import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from contracts.models import Contract
from invitations import services
from invitations.models import InvitationCode
from tenancy.models import Role

from ..conftest import member
from ..factories import DEFAULT_PASSWORD, ServiceFactory
from .slow_worker import SlowWorker

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

STD, EXAM = "STD: Driving lesson 45.00", "EXAM: Theory exam 80.00"  # the prices as their menus name them
CHUNK = 100  # codes per committed step of the batch here, so its page has something to show midway


def sign_in(page, base, email, then):
    page.goto(f"{base}/accounts/login/?next={then}")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


@pytest.fixture
def worker(monkeypatch):
    slow = SlowWorker(monkeypatch, "invitations.tasks.run_code_batch")
    slow.gate(services, "_insert_codes")  # each chunk of codes waits for a step()
    monkeypatch.setattr(services, "CHUNK", CHUNK)
    try:
        yield slow
    finally:
        slow.finish()


def test_staff_generate_filter_edit_delete_and_download_500_codes(live_server, page, screens, tenant, worker):
    owner = member(tenant, Role.OWNER, email="olga@acme.example", first_name="Olga", last_name="Owner")
    ServiceFactory(tenant=tenant, name="Driving lesson")
    ServiceFactory(tenant=tenant, name="Theory exam")
    base = live_server.url
    sign_in(page, base, owner.email, then=f"/t/{tenant.slug}/clients/")

    # An organisation, then a contract with a prefix.
    page.locator(".sidebar").get_by_role("link", name="Contracts").click()
    expect(page.get_by_text("No organisations yet")).to_be_visible()
    screens.shot("contracts-empty")
    page.get_by_role("link", name="Add an organisation").click()
    page.get_by_label("Name", exact=True).fill("Northwind Logistics")
    page.get_by_label("Contact name").fill("Nadia Noor")
    page.get_by_label("Email").fill("nadia@northwind.example")
    screens.shot("organisation-form")
    page.get_by_role("button", name="Save organisation").click()
    expect(page.get_by_text("Organisation “Northwind Logistics” saved.")).to_be_visible()
    page.get_by_role("link", name="Add contract").click()
    page.get_by_label("Name", exact=True).fill("Drivers 2027")
    page.get_by_label("Invitation prefix").fill("lo")  # "L" is refused: it looks like 1
    page.get_by_label("Starts on").fill((date.today() - timedelta(days=30)).isoformat())  # running already
    page.get_by_role("button", name="Save contract").click()
    expect(page.locator("#id_invitation_prefix_error")).to_contain_text("except I, L, O and U")
    screens.shot("contract-prefix-refused")
    page.get_by_label("Invitation prefix").fill("nw")
    page.get_by_role("button", name="Save contract").click()
    expect(page.get_by_text("Contract “Drivers 2027” saved.")).to_be_visible()
    expect(page.get_by_text("No prices yet")).to_be_visible()
    contract = Contract.objects.get(tenant=tenant, name="Drivers 2027")
    assert contract.invitation_prefix == "NW" and contract.organisation.name == "Northwind Logistics"

    # Two prices: every code carries one.
    for service, amount, code in (("Driving lesson", "45.00", "std"), ("Theory exam", "80.00", "exam")):
        page.get_by_role("link", name=re.compile("Add (a )?price")).first.click()
        page.get_by_label("Service").select_option(label=service)
        page.get_by_label("Amount").fill(amount)
        page.get_by_label("Price code").fill(code)
        page.get_by_role("button", name="Save price").click()
        expect(page.get_by_text("Price saved.")).to_be_visible()
    prices = page.get_by_role("row")
    expect(prices.filter(has_text="STD")).to_contain_text("45.00 EUR")
    expect(prices.filter(has_text="EXAM")).to_contain_text("80.00 EUR")
    screens.shot("prices")

    # 500 codes, and the batch's page while the worker makes them.
    page.get_by_role("navigation", name="Contract").get_by_role("link", name="Invitation Codes").click()
    expect(page.get_by_text("No codes yet")).to_be_visible()
    page.get_by_role("link", name="Generate Codes").first.click()
    page.get_by_label("Quantity").fill("500")
    page.get_by_label("Price").select_option(label=STD)
    screens.shot("generate-form")
    page.get_by_role("button", name="Generate").click()
    expect(page.get_by_text("Waiting… 0 of 500")).to_be_visible()
    assert page.locator("progress#progress").get_attribute("value") == "0"
    screens.shot("batch-waiting")
    worker.start()
    worker.step()  # the first 100 codes are committed; the next chunk waits
    # No script: the page's own refresh (a meta tag) brings the new figure.
    expect(page.get_by_text("Generating… 100 of 500")).to_be_visible(timeout=15_000)
    assert page.locator("progress#progress").get_attribute("value") == "20"
    screens.shot("batch-progress")
    worker.finish()
    expect(page.get_by_text("500 codes generated.")).to_be_visible(timeout=15_000)
    assert page.locator("progress").count() == 0
    screens.shot("batch-done")
    assert InvitationCode.objects.filter(tenant=tenant, contract=contract).count() == 500

    # The list, filtered: by a price no code has, then all active unassigned codes, then one code.
    page.get_by_role("link", name="See the codes").click()
    active = page.locator(".stat").filter(has_text="Active")
    expect(active.locator(".stat-value")).to_have_text("500")
    page.locator("#id_price").select_option(label=EXAM)
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_text("No codes match these filters")).to_be_visible()
    screens.shot("codes-filter-empty")
    page.locator("#id_status").select_option(label="Active")
    page.locator("#id_price").select_option(label=STD)
    page.locator("#id_assigned").select_option(label="Unassigned")
    page.get_by_role("button", name="Filter").click()
    codes = page.locator("table tbody tr")
    expect(codes).to_have_count(50)
    expect(page.get_by_role("navigation", name="Pages")).to_contain_text("500 in all")
    assert re.search(r"[?&]status=active\b", page.url) and "assigned=no" in page.url  # a URL to share
    screens.shot("codes-filtered")
    chosen = codes.nth(3).locator("code").first.inner_text()
    doomed = codes.nth(7).locator("code").first.inner_text()
    assert re.fullmatch(r"NW-[0-9A-Z]{5}-[0-9A-Z]{5}", chosen), chosen
    page.get_by_label("Search codes").fill(chosen[:8].lower())  # the start of it, as typed
    page.get_by_role("button", name="Filter").click()
    expect(codes).to_have_count(1)
    screens.shot("codes-search")

    # Open it, and edit it: another price, three uses, a campaign.
    page.get_by_role("link", name=chosen).click()
    expect(page.locator(".code-big")).to_have_text(chosen)
    expect(page.get_by_text("0 of 1")).to_be_visible()
    screens.shot("code-detail")
    page.get_by_role("link", name="Edit", exact=True).click()
    page.get_by_label("Price").select_option(label=EXAM)
    page.get_by_label("Uses allowed").fill("3")
    page.get_by_label("Campaign").fill("spring  mailing")
    screens.shot("code-edit")
    page.get_by_role("button", name="Save code").click()
    expect(page.get_by_text("Code saved.")).to_be_visible()
    expect(page.get_by_text("0 of 3")).to_be_visible()
    expect(page.get_by_text("Theory exam, 80.00 EUR")).to_be_visible()
    screens.shot("code-saved")

    # Delete another, unused code: the page asks first; Cancel keeps it.
    page.get_by_role("navigation", name="Contract").get_by_role("link", name="Invitation Codes").click()
    page.get_by_role("row").filter(has_text=doomed).get_by_text("Actions").click()
    page.get_by_role("link", name="Delete", exact=True).click()
    expect(page.get_by_text(f"Delete code {doomed}?")).to_be_visible()
    screens.shot("delete-confirmation")
    page.get_by_role("link", name="Cancel", exact=True).click()
    assert InvitationCode.objects.filter(tenant=tenant, code=doomed.replace("-", "")).exists()
    page.get_by_role("row").filter(has_text=doomed).get_by_text("Actions").click()
    page.get_by_role("link", name="Delete", exact=True).click()
    page.get_by_role("button", name="Delete code").click()
    expect(page.get_by_text(f"Code {doomed} deleted.")).to_be_visible()
    expect(page.get_by_role("row").filter(has_text=doomed)).to_have_count(0)
    expect(active.locator(".stat-value")).to_have_text("499")
    screens.shot("code-deleted")

    # The CSV: the 499 left, each with the prefix and its price.
    with page.expect_download() as download:
        page.get_by_role("link", name="Download CSV").click()
    assert download.value.suggested_filename == "codes-NW.csv"
    rows = list(csv.DictReader(io.StringIO(open(download.value.path(), encoding="utf-8-sig").read())))
    assert len(rows) == 499
    assert all(re.fullmatch(r"NW-[0-9A-Z]{5}-[0-9A-Z]{5}", row["code"]) for row in rows)
    assert len({row["code"] for row in rows}) == 499 and doomed not in {row["code"] for row in rows}
    by_code = {row["code"]: row for row in rows}
    edited = by_code.pop(chosen)
    assert (edited["price_code"], Decimal(edited["amount"]), edited["max_uses"], edited["campaign"]) == (
        "EXAM",
        Decimal("80.00"),
        "3",
        "spring mailing",
    )
    assert {(r["price_code"], r["service"], Decimal(r["amount"]), r["max_uses"]) for r in by_code.values()} == {
        ("STD", "Driving lesson", Decimal("45.00"), "1")
    }
    assert {row["status"] for row in rows} == {"Active"} and not any(row["participant_id"] for row in rows)
