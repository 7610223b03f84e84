"""In a real browser, with JavaScript off: staff download a contract's participants CSV, fill in price
codes and two new people with mistakes, upload it and read the problems by row and column (nothing
changed), upload the corrected file, watch the check and the import move on the progress bar,
complete it once, and download the CSV again with a code for every participant."""

import csv
import io
import re
from datetime import date
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from contracts import participants_csv
from contracts.models import Participant
from imports.models import ImportJob, ImportStatus
from invitations.models import InvitationCode
from tenancy.models import Role

from ..conftest import member
from ..factories import DEFAULT_PASSWORD, ContractFactory, ParticipantFactory, PriceFactory
from .slow_worker import SlowWorker

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def worker(monkeypatch):
    slow = SlowWorker(monkeypatch, "imports.tasks.validate_import", "imports.tasks.commit_import")
    slow.gate(participants_csv, "codes_for_participants")  # the import's last stage waits for a step()
    try:
        yield slow
    finally:
        slow.finish()


def sign_in(page, base, email, then):
    page.goto(f"{base}/accounts/login/?next={then}")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


def download(page, link_name) -> tuple[str, list[dict]]:
    with page.expect_download() as info:
        page.get_by_role("link", name=link_name).click()
    with open(info.value.path(), encoding="utf-8-sig", newline="") as file:
        return info.value.suggested_filename, list(csv.DictReader(file))


def as_csv(rows: list[dict]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=participants_csv.COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


def upload(page, name, rows):
    page.get_by_text("Upload CSV").click()  # a <details>: opens without a script
    page.get_by_label("CSV file").set_input_files({"name": name, "mimeType": "text/csv", "buffer": as_csv(rows)})
    page.get_by_role("button", name="Upload and check").click()


def test_staff_import_participants_with_mistakes_then_clean_and_download_their_codes(
    live_server, page, screens, tenant, worker
):
    contract = ContractFactory(
        tenant=tenant, organisation__name="Northwind Logistics", name="Drivers 2027", invitation_prefix="NW"
    )
    PriceFactory(contract=contract, price_code="STD", amount=Decimal("45.00"))
    PriceFactory(contract=contract, price_code="STUDENT", amount=Decimal("30.00"))
    for first, last in (("Ana", "Lima"), ("Ben", "Okafor"), ("Chen", "Wu")):
        ParticipantFactory(
            contract=contract, first_name=first, last_name=last, email=f"{first.lower()}@northwind.example"
        )
    staff = member(tenant, Role.STAFF, email="stan@acme.example", first_name="Stan", last_name="Staff")
    tab = f"/t/{tenant.slug}/contracts/{contract.pk}/participants/"
    sign_in(page, live_server.url, staff.email, then=tab)

    expect(page.get_by_role("heading", name="Participants")).to_be_visible()
    screens.shot("participants")
    name, rows = download(page, "Download CSV")
    assert name == "participants-NW.csv"
    assert [(r["first_name"], r["price_code"], r["invitation_code"]) for r in rows] == [
        ("Ana", "", ""),
        ("Ben", "", ""),
        ("Chen", "", ""),
    ]

    # The spreadsheet, filled in with four mistakes: spreadsheet rows 2, 4, 5 and 6.
    ana, ben, chen = rows
    new = {"participant_id": "", "phone": "", "invitation_code": ""}
    sam = {**new, "first_name": "Sam", "last_name": "Jones", "email": "sam.example.com", "date_of_birth": ""}
    rosa = {**new, "first_name": "", "last_name": "Diaz", "email": "rosa@example.com", "date_of_birth": "2004-05-06"}
    mistaken = [
        {**ana, "price_code": "gold"},
        {**ben, "price_code": "std"},
        {**chen, "price_code": "STUDENT", "date_of_birth": "31.02.2001"},
        {**sam, "price_code": "STD"},
        {**rosa, "price_code": "STUDENT"},
    ]
    upload(page, "participants-filled.csv", mistaken)
    expect(page.get_by_text("Checking every row…")).to_be_visible()
    assert page.locator("progress#progress").get_attribute("value") == "0"
    screens.shot("checking")
    worker.start()  # the check; the page refreshes by itself
    expect(page.get_by_role("heading", name="4 problems to fix — nothing was changed")).to_be_visible(timeout=15_000)
    problems = [
        [cell.strip() for cell in row.locator("td").all_inner_texts()]
        for row in page.locator("table.problems tbody tr").all()
    ]
    assert [(row, column) for row, column, _ in problems] == [
        ("2", "price_code"),
        ("4", "date_of_birth"),
        ("5", "email"),
        ("6", "first_name"),
    ]
    assert problems[0][2] == "Unknown price code “GOLD”. This contract has: STD, STUDENT."
    assert "“31.02.2001” is not a date" in problems[1][2]
    assert problems[2][2] == "“sam.example.com” is not a valid email address."
    assert problems[3][2].startswith("This cell is empty")
    screens.shot("problems")
    assert Participant.objects.filter(tenant=tenant, contract=contract).count() == 3
    assert not InvitationCode.objects.filter(tenant=tenant).exists()
    expect(page.get_by_role("button", name="Complete Import")).to_have_count(0)  # only a clean file

    # The corrected file.
    page.get_by_role("link", name="Upload a corrected file").click()
    fixed = [
        {**ana, "price_code": "STD"},
        {**ben, "price_code": "std"},
        {**chen, "price_code": "STUDENT", "date_of_birth": "28.02.2001"},
        {**sam, "price_code": "STD", "email": "sam@example.com"},
        {**rosa, "price_code": "STUDENT", "first_name": "Rosa"},
    ]
    upload(page, "participants-fixed.csv", fixed)
    expect(page.get_by_text("Checking every row…")).to_be_visible()
    worker.start()
    expect(page.get_by_text("No problems found. Nothing has changed yet.")).to_be_visible(timeout=15_000)
    plan = page.locator("ul.plan")
    for line in ("2 participants to add", "1 participant to update", "5 invitation codes to generate", "5 rows"):
        expect(plan).to_contain_text(line)
    screens.shot("clean-plan")
    assert Participant.objects.filter(tenant=tenant, contract=contract).count() == 3

    # Complete Import: the bar moves while the worker writes, then the summary.
    page.get_by_role("button", name="Complete Import").click()
    expect(page.get_by_text("Importing…")).to_be_visible()
    worker.start()  # runs up to the codes, then waits for a step
    expect(page.locator("progress#progress")).to_have_attribute("value", "72", timeout=15_000)
    screens.shot("importing")
    job = ImportJob.objects.get(tenant=tenant, original_name="participants-fixed.csv")
    assert job.status == ImportStatus.COMMITTING
    assert Participant.objects.filter(tenant=tenant, contract=contract).count() == 3  # one transaction
    worker.finish()
    expect(page.get_by_text(re.compile(r"^Imported \d"))).to_be_visible(timeout=15_000)
    for line in ("2 participants added", "1 participant updated", "5 invitation codes generated"):
        expect(page.locator("ul.plan")).to_contain_text(line)
    screens.shot("imported")
    expect(page.get_by_role("button", name="Complete Import")).to_have_count(0)

    # Back on the list, every participant has a code; the CSV has them with their price codes.
    page.get_by_role("link", name="Back to the list").click()
    participants = page.get_by_role("row").filter(has=page.get_by_role("link", name="Generate Code"))
    expect(participants).to_have_count(5)
    expect(participants.filter(has_text=re.compile(r"NW-\w{5}-\w{5}"))).to_have_count(5)
    expect(page.get_by_role("row").filter(has_text="Diaz, Rosa")).to_contain_text("NW-")
    screens.shot("participants-with-codes")
    name, rows = download(page, "Download CSV")
    assert name == "participants-NW.csv"
    got = {(r["first_name"], r["last_name"], r["email"], r["price_code"]) for r in rows}
    assert got == {
        ("Ana", "Lima", "ana@northwind.example", "STD"),
        ("Ben", "Okafor", "ben@northwind.example", "STD"),
        ("Chen", "Wu", "chen@northwind.example", "STUDENT"),
        ("Sam", "Jones", "sam@example.com", "STD"),
        ("Rosa", "Diaz", "rosa@example.com", "STUDENT"),
    }
    assert all(re.fullmatch(r"NW-[0-9A-Z]{5}-[0-9A-Z]{5}", r["invitation_code"]) for r in rows), rows
    assert next(r for r in rows if r["first_name"] == "Chen")["date_of_birth"] == "2001-02-28"
    stored = {
        f"NW-{c.code[2:7]}-{c.code[7:]}": (c.participant.email, c.price.price_code)
        for c in InvitationCode.objects.filter(tenant=tenant, contract=contract).select_related("participant", "price")
    }
    assert stored == {r["invitation_code"]: (r["email"], r["price_code"]) for r in rows}
    assert Participant.objects.get(tenant=tenant, email="chen@northwind.example").date_of_birth == date(2001, 2, 28)
