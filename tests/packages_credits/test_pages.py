"""Pages of prepaid packages (issue 6), through the Django test client on PostgreSQL, as the people using them
see them: the Packages page and its form (admins only), a client card's Payments · Packages page, adding a
package with or without a payment, recording payments, cancelling, booking with a credit by staff and in
My Account, and the separation of tenants and clients on every packages URL.
"""

import html
import re
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.utils.dateformat import format as date_format

from bookings.models import Booking
from messaging.models import OutboundEmail
from packages_credits.booking import BOOKED
from packages_credits.models import ClientPackage, ClientPackageStatus, Credit, Package, PackagePayment
from packages_credits.services import (
    MORE_THAN_DUE,
    NEEDS_A_SERVICE,
    NO_CREDIT,
    ONE_VALIDITY,
    POOL_NEEDS_SESSIONS,
    WHY_CANCELLED,
    WHY_EXPIRED,
    WHY_USED_UP,
    Payment,
    client_package_add,
    default_expiry,
    package_save,
)
from tenancy.urlresolvers import tenant_reverse

from ..conftest import signed_in
from ..factories import ClientFactory, ServiceFactory, UserFactory, open_every_day

pytestmark = pytest.mark.django_db

ADDED = "packages_credits.package_added"


# Fixtures and helpers ---------------------------------------------------------------------------------------


@pytest.fixture
def yoga(tenant):
    return open_every_day(ServiceFactory(tenant=tenant, name="Yoga"))


@pytest.fixture
def pilates(tenant):
    return open_every_day(ServiceFactory(tenant=tenant, name="Pilates"))


@pytest.fixture
def massage(tenant):
    return open_every_day(ServiceFactory(tenant=tenant, name="Massage"))


@pytest.fixture
def ten_yoga(tenant, yoga, pilates, massage):
    """10 yoga and 5 pilates classes, 120.00, valid 90 days. Massage is not covered."""
    return define(tenant, "Ten yoga", [(yoga, 10), (pilates, 5)], price="120.00", validity_days=90)


@pytest.fixture
def chris(tenant):
    return ClientFactory(tenant=tenant, first_name="Chris", last_name="Carter", email="chris@clients.example.com")


@pytest.fixture
def held(tenant, chris, ten_yoga):
    """Chris holds Ten yoga, unpaid."""
    return give(chris, ten_yoga)


@pytest.fixture
def chris_http(chris):
    """Chris, signed in to My Account with the email of their card."""
    return signed_in(UserFactory(email=chris.email, first_name="Chris", last_name="Carter"))


def define(tenant, name, items, *, price="100.00", validity_days=None, valid_until=None, **fields) -> Package:
    return package_save(
        tenant=tenant,
        items=items,
        name=name,
        price=Decimal(price),
        validity_days=validity_days,
        valid_until=valid_until,
        **fields,
    )


def give(client, package, **kwargs):
    tenant = client.tenant
    kwargs.setdefault("price", package.price)
    kwargs.setdefault("expires_on", default_expiry(tenant=tenant, package=package))
    return client_package_add(tenant=tenant, client=client, package=package, **kwargs)


def url(tenant, name, **kwargs) -> str:
    return tenant_reverse(tenant, name, **kwargs)


def payments_url(client) -> str:
    return url(client.tenant, "packages:client", client_id=client.pk)


def book_url(client, service=None) -> str:
    base = url(client.tenant, "packages:book", client_id=client.pk)
    return f"{base}?service={service.pk}" if service else base


def portal_book_url(tenant, service=None) -> str:
    base = url(tenant, "packages_portal:book")
    return f"{base}?service={service.pk}" if service else base


def today(tenant):
    return datetime.now(ZoneInfo(tenant.time_zone)).date()


def day(value) -> str:
    """A date as the pages show it."""
    return date_format(value, "j M Y")


def plain(response) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.content.decode())).split())


def flashes(response) -> list[str]:
    return [html.unescape(m) for m in re.findall(r'<p class="flash flash-\w+">(.*?)</p>', response.content.decode())]


def field_errors(response, field) -> list[str]:
    text = response.content.decode()
    return [html.unescape(m) for m in re.findall(rf'<p class="field-error" id="id_{field}_error">(.*?)</p>', text)]


def form_errors(response) -> list[str]:
    blocks = re.findall(r'<div class="form-errors" role="alert">(.*?)</div>', response.content.decode(), re.S)
    return [html.unescape(m) for block in blocks for m in re.findall(r"<p>(.*?)</p>", block, re.S)]


def input_value(response, name) -> str | None:
    tag = re.search(rf'<input[^>]*name="{name}"[^>]*>', response.content.decode())
    assert tag, f"no input {name}"
    value = re.search(r'value="([^"]*)"', tag.group(0))
    return html.unescape(value.group(1)) if value else None


def options(response, name) -> list[tuple[str, str]]:
    select = re.search(rf'<select name="{name}"[^>]*>(.*?)</select>', response.content.decode(), re.S)
    assert select, f"no select {name}"
    return [
        (html.unescape(v), html.unescape(label).strip())
        for v, label in re.findall(r'<option value="([^"]*)"[^>]*>(.*?)</option>', select.group(1), re.S)
    ]


def selected(response, name) -> str | None:
    select = re.search(rf'<select name="{name}"[^>]*>(.*?)</select>', response.content.decode(), re.S)
    chosen = re.search(r'<option value="([^"]*)"[^>]*selected', select.group(1))
    return chosen.group(1) if chosen else None


def book_button(response) -> str:
    button = re.search(r"<button[^>]*>Book with a credit</button>", response.content.decode())
    assert button, "no Book with a credit button"
    return button.group(0)


def package_row(response, name) -> str:
    """The text of the row of the client's package ``name`` on the Payments page."""
    for row in re.findall(r"<tr>(.*?)</tr>", response.content.decode(), re.S):
        text = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", row)).split())
        if text.startswith(name):
            return text
    raise AssertionError(f"no row of {name}: {plain(response)[:1500]}")


def package_form_data(services=(), **overrides) -> dict:
    data = {
        "name": "Ten yoga",
        "description": "",
        "price": "120.00",
        "pool_sessions": "",
        "validity_days": "90",
        "valid_until": "",
        "is_active": "on",
    }
    for service, sessions in services:
        data[f"service_{service.pk}"] = str(sessions)
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def add_data(package, **overrides) -> dict:
    data = {
        "package": str(package.pk),
        "price": str(package.price),
        "expires_on": default_expiry(tenant=package.tenant, package=package).isoformat(),
        "payment_method": "",
        "payment_amount": "",
        "payment_reference": "",
    }
    data.update(overrides)
    return data


def snapshot(tenant) -> dict:
    """Everything a refused request must leave as it was."""
    return {
        "packages": sorted(Package.objects.filter(tenant=tenant).values_list("pk", "name", "is_active", "price")),
        "held": sorted(
            ClientPackage.objects.filter(tenant=tenant).values_list(
                "pk", "status", "price", "amount_paid", "expires_on"
            )
        ),
        "credits": sorted(Credit.objects.filter(tenant=tenant).values_list("pk", "used", "total")),
        "payments": PackagePayment.objects.filter(tenant=tenant).count(),
        "bookings": Booking.objects.filter(tenant=tenant).count(),
        "emails": OutboundEmail.objects.filter(tenant=tenant).count(),
    }


def first_time(response) -> str:
    """The first time offered on a booking page (value of the starts_at choice)."""
    return options(response, "starts_at")[0][0]


# The Packages page ------------------------------------------------------------------------------------------


def test_the_packages_page_lists_covers_price_validity_status_and_how_many_hold_it(
    staff_http, tenant, yoga, pilates, ten_yoga, chris
):
    until = today(tenant) + timedelta(days=400)
    pool = [(yoga, 1), (pilates, 1)]
    define(tenant, "Any eight", pool, price="90.00", shared_pool=True, pool_sessions=8, valid_until=until)
    define(tenant, "Old offer", [(yoga, 3)], price="30.00", validity_days=30, is_active=False)
    give(chris, ten_yoga)
    page = staff_http.get(url(tenant, "packages:list"))
    assert page.status_code == 200
    rows = {
        row.split(" ")[0]: row
        for row in (
            " ".join(html.unescape(re.sub(r"<[^>]+>", " ", r)).split())
            for r in re.findall(r"<tr>(.*?)</tr>", page.content.decode(), re.S)[1:]
        )
    }
    assert rows["Ten"] == "Ten yoga 10 × Yoga, 5 × Pilates 120.00 EUR 90 days 1 Active"
    assert rows["Any"] == f"Any eight 8 sessions of: Yoga, Pilates 90.00 EUR until {day(until)} 0 Active"
    assert rows["Old"] == "Old offer 3 × Yoga 30.00 EUR 30 days 0 Archived"
    assert list(rows) == ["Any", "Ten", "Old"]  # active ones first, archived ones still listed


def test_the_packages_page_has_an_empty_state(admin_http, tenant):
    page = admin_http.get(url(tenant, "packages:list"))
    assert "No packages yet" in plain(page)
    assert url(tenant, "packages:create") in page.content.decode()


def test_staff_see_packages_but_cannot_add_or_edit_them(staff_http, tenant, yoga, ten_yoga):
    page = staff_http.get(url(tenant, "packages:list")).content.decode()
    assert url(tenant, "packages:create") not in page
    assert url(tenant, "packages:edit", package_id=ten_yoga.pk) not in page
    before = snapshot(tenant)
    assert staff_http.get(url(tenant, "packages:create")).status_code == 403
    assert staff_http.get(url(tenant, "packages:edit", package_id=ten_yoga.pk)).status_code == 403
    created = staff_http.post(url(tenant, "packages:create"), package_form_data([(yoga, 3)], name="Sneaky"))
    edited = staff_http.post(
        url(tenant, "packages:edit", package_id=ten_yoga.pk), package_form_data([(yoga, 1)], price="1.00")
    )
    assert (created.status_code, edited.status_code) == (403, 403)
    assert snapshot(tenant) == before


def test_the_form_asks_sessions_of_each_service_of_this_workspace_only(admin_http, tenant, other_tenant, yoga):
    ServiceFactory(tenant=tenant, name="Pilates")
    ServiceFactory(tenant=other_tenant, name="Globex spinning")
    page = admin_http.get(url(tenant, "packages:create"))
    labels = re.findall(r"<label[^>]*>(Sessions of [^<]*)</label>", page.content.decode())
    assert sorted(labels) == ["Sessions of Pilates", "Sessions of Yoga"]
    assert input_value(page, f"service_{yoga.pk}") == "0"


def test_an_admin_adds_a_package_with_its_sessions_per_service(admin_http, tenant, yoga, pilates, massage):
    response = admin_http.post(
        url(tenant, "packages:create"), package_form_data([(yoga, 10), (pilates, 5), (massage, 0)])
    )
    assert response.status_code == 302 and response.url == url(tenant, "packages:list")
    package = Package.objects.get(tenant=tenant)
    assert (package.name, package.price, package.validity_days, package.valid_until) == (
        "Ten yoga",
        Decimal("120.00"),
        90,
        None,
    )
    assert sorted((i.service.name, i.sessions) for i in package.items.all()) == [("Pilates", 5), ("Yoga", 10)]
    listed = admin_http.get(response.url)
    assert "Package “Ten yoga” saved." in flashes(listed)
    assert "5 × Pilates, 10 × Yoga" in plain(listed) or "10 × Yoga, 5 × Pilates" in plain(listed)


def test_the_edit_form_shows_the_current_sessions_and_saves_changes(admin_http, tenant, yoga, pilates, ten_yoga):
    edit = url(tenant, "packages:edit", package_id=ten_yoga.pk)
    page = admin_http.get(edit)
    assert (input_value(page, f"service_{yoga.pk}"), input_value(page, f"service_{pilates.pk}")) == ("10", "5")
    assert input_value(page, "price") == "120.00"
    admin_http.post(edit, package_form_data([(yoga, 12), (pilates, 0)], price="150.00"))
    ten_yoga.refresh_from_db()
    assert ten_yoga.price == Decimal("150.00")
    assert [(i.service.name, i.sessions) for i in ten_yoga.items.all()] == [("Yoga", 12)]


@pytest.mark.parametrize(
    "validity",
    [
        pytest.param({"validity_days": "90", "valid_until": "2031-01-31"}, id="both"),
        pytest.param({"validity_days": "", "valid_until": ""}, id="neither"),
    ],
)
def test_a_package_with_both_or_no_validity_is_refused_and_nothing_saved(admin_http, tenant, yoga, validity):
    page = admin_http.post(url(tenant, "packages:create"), package_form_data([(yoga, 10)], **validity))
    assert page.status_code == 200 and form_errors(page)
    assert not Package.objects.filter(tenant=tenant).exists()


@pytest.mark.parametrize(
    "validity",
    [
        pytest.param({"validity_days": "90", "valid_until": "2031-01-31"}, id="both"),
        pytest.param({"validity_days": "", "valid_until": ""}, id="neither"),
    ],
)
def test_a_package_needs_exactly_one_validity_shown_beside_the_days(admin_http, tenant, yoga, validity):
    page = admin_http.post(url(tenant, "packages:create"), package_form_data([(yoga, 10)], **validity))
    assert field_errors(page, "validity_days") == [ONE_VALIDITY]
    assert "Constraint" not in plain(page)


def test_a_shared_pool_needs_its_number_of_sessions(admin_http, tenant, yoga, pilates):
    page = admin_http.post(
        url(tenant, "packages:create"), package_form_data([(yoga, 1), (pilates, 1)], shared_pool="on")
    )
    assert page.status_code == 200
    assert field_errors(page, "pool_sessions") == [POOL_NEEDS_SESSIONS]
    assert not Package.objects.filter(tenant=tenant).exists()


def test_a_shared_pool_with_its_sessions_is_saved(admin_http, tenant, yoga, pilates):
    data = package_form_data([(yoga, 1), (pilates, 1)], shared_pool="on", pool_sessions="8")
    assert admin_http.post(url(tenant, "packages:create"), data).status_code == 302
    package = Package.objects.get(tenant=tenant)
    assert (package.shared_pool, package.pool_sessions) == (True, 8)


def test_a_package_without_any_service_is_refused_with_a_message(admin_http, tenant, yoga):
    page = admin_http.post(url(tenant, "packages:create"), package_form_data([(yoga, 0)]))
    assert page.status_code == 200
    assert NEEDS_A_SERVICE in plain(page)
    assert not Package.objects.filter(tenant=tenant).exists()


def test_archiving_a_package_keeps_it_listed_but_no_longer_offered(admin_http, tenant, yoga, pilates, ten_yoga, chris):
    admin_http.post(
        url(tenant, "packages:edit", package_id=ten_yoga.pk),
        package_form_data([(yoga, 10), (pilates, 5)], is_active=None),
    )
    ten_yoga.refresh_from_db()
    assert not ten_yoga.is_active
    assert "Archived" in plain(admin_http.get(url(tenant, "packages:list")))
    card = admin_http.get(payments_url(chris))
    assert url(tenant, "packages:add", client_id=chris.pk) + f"?package={ten_yoga.pk}" not in card.content.decode()
    assert "No active packages." in plain(card)


# The client card's Payments page ----------------------------------------------------------------------------


def test_the_client_card_links_to_payments_and_packages(staff_http, tenant, chris):
    page = staff_http.get(url(tenant, "clients:detail", client_id=chris.pk))
    link = re.search(r'<a [^>]*href="([^"]+)"[^>]*>Payments · Packages</a>', html.unescape(page.content.decode()))
    assert link and link.group(1) == payments_url(chris)
    assert staff_http.get(link.group(1)).status_code == 200


def test_the_payments_page_has_empty_states(staff_http, admin_http, tenant, chris):
    page = plain(staff_http.get(payments_url(chris)))
    assert "No packages yet" in page and "No credits used yet" in page
    assert "No active packages." in page and "Add one" not in page  # staff cannot define packages
    assert "Add one" in plain(admin_http.get(payments_url(chris)))


def test_the_payments_page_lists_packages_with_counter_expiry_and_payment_status(
    staff_http, tenant, chris, yoga, ten_yoga
):
    five = define(tenant, "Five yoga", [(yoga, 5)], price="50.00", validity_days=30)
    unpaid = give(chris, ten_yoga)
    paid = give(chris, five, payment=_cash("50.00"))
    page = staff_http.get(payments_url(chris))
    row = package_row(page, "Ten yoga")
    assert f"0 / 15 {day(unpaid.expires_on)}" in row
    assert "0.00 of 120.00 EUR 120.00 due Active" in row
    assert "0 / 10 Yoga · 0 / 5 Pilates" in row
    row = package_row(page, "Five yoga")
    assert f"0 / 5 {day(paid.expires_on)} 50.00 of 50.00 EUR Paid Active" in row
    # Paid packages offer no "Record payment"; both can be cancelled.
    text = page.content.decode()
    assert url(tenant, "packages:payment", client_id=chris.pk, client_package_id=unpaid.pk) in text
    assert url(tenant, "packages:payment", client_id=chris.pk, client_package_id=paid.pk) not in text
    assert url(tenant, "packages:cancel", client_id=chris.pk, client_package_id=paid.pk) in text
    # The offered packages, each with its price and the expiry if added today.
    assert f"Five yoga · 50.00 EUR · until {day(default_expiry(tenant=tenant, package=five))}" in plain(page)


def _cash(amount, reference=""):
    return Payment("cash", Decimal(amount), reference)


# Adding a package --------------------------------------------------------------------------------------------


def test_add_prefills_price_and_expiry_in_the_workspace_time_zone(admin_http, tenant, chris, ten_yoga):
    tenant.time_zone = "Pacific/Kiritimati"  # UTC+14: its date is often not the server's
    tenant.save(update_fields=["time_zone"])
    page = admin_http.get(url(tenant, "packages:add", client_id=chris.pk) + f"?package={ten_yoga.pk}")
    assert page.status_code == 200
    assert selected(page, "package") == str(ten_yoga.pk)
    assert input_value(page, "price") == "120.00"
    expected = datetime.now(ZoneInfo("Pacific/Kiritimati")).date() + timedelta(days=90 - 1)
    assert input_value(page, "expires_on") == expected.isoformat()


def test_a_fixed_end_date_is_prefilled_as_is(admin_http, tenant, chris, yoga):
    until = today(tenant) + timedelta(days=200)
    fixed = define(tenant, "Season", [(yoga, 20)], price="300.00", valid_until=until)
    page = admin_http.get(url(tenant, "packages:add", client_id=chris.pk) + f"?package={fixed.pk}")
    assert input_value(page, "expires_on") == until.isoformat()


def test_an_adjusted_price_and_expiry_with_a_payment_are_saved_and_the_balance_shows(
    staff_http, tenant, chris, ten_yoga
):
    expires = today(tenant) + timedelta(days=30)
    data = add_data(
        ten_yoga,
        price="100.00",
        expires_on=expires.isoformat(),
        payment_method="bank_transfer",
        payment_amount="40.00",
        payment_reference="INV-42",
    )
    response = staff_http.post(url(tenant, "packages:add", client_id=chris.pk), data)
    assert response.status_code == 302 and response.url == payments_url(chris)
    held = ClientPackage.objects.get(tenant=tenant, client=chris)
    assert (held.price, held.expires_on, held.amount_paid, held.status) == (
        Decimal("100.00"),
        expires,
        Decimal("40.00"),
        ClientPackageStatus.ACTIVE,
    )
    assert list(held.payments.values_list("method", "amount", "reference")) == [
        ("bank_transfer", Decimal("40.00"), "INV-42")
    ]
    page = staff_http.get(response.url)
    assert "Package “Ten yoga” added to Chris Carter; 60.00 EUR still due." in flashes(page)
    assert f"0 / 15 {day(expires)} 40.00 of 100.00 EUR 60.00 due Active" in package_row(page, "Ten yoga")


def test_a_package_added_without_payment_shows_what_is_due(staff_http, tenant, chris, ten_yoga):
    response = staff_http.post(url(tenant, "packages:add", client_id=chris.pk), add_data(ten_yoga))
    page = staff_http.get(response.url)
    assert "Package “Ten yoga” added to Chris Carter; 120.00 EUR still due." in flashes(page)
    assert "0.00 of 120.00 EUR 120.00 due" in package_row(page, "Ten yoga")
    assert not PackagePayment.objects.filter(tenant=tenant).exists()


def test_a_package_paid_in_full_says_paid(staff_http, tenant, chris, ten_yoga):
    data = add_data(ten_yoga, payment_method="cash", payment_amount="120.00")
    page = staff_http.post(url(tenant, "packages:add", client_id=chris.pk), data, follow=True)
    assert "Package “Ten yoga” added to Chris Carter, paid." in flashes(page)
    assert "120.00 of 120.00 EUR Paid" in package_row(page, "Ten yoga")


def test_the_client_gets_one_confirmation_email(staff_http, tenant, chris, ten_yoga):
    staff_http.post(url(tenant, "packages:add", client_id=chris.pk), add_data(ten_yoga))
    emails = OutboundEmail.objects.filter(tenant=tenant, template_key=ADDED)
    assert [e.to_email for e in emails] == [chris.email]
    assert "Ten yoga" in emails[0].subject + emails[0].body_text


@pytest.mark.parametrize(
    "payment, field, message",
    [
        pytest.param({"payment_amount": "40.00"}, "payment_method", "Say how it was paid.", id="amount-no-method"),
        pytest.param({"payment_method": "cash"}, "payment_amount", "Enter the amount received.", id="method-no-amount"),
        pytest.param(
            {"payment_method": "cash", "payment_amount": "120.01"},
            "payment_amount",
            "That is more than the price.",
            id="above-price",
        ),
    ],
)
def test_payment_mistakes_are_shown_and_nothing_is_added(staff_http, tenant, chris, ten_yoga, payment, field, message):
    before = snapshot(tenant)
    page = staff_http.post(url(tenant, "packages:add", client_id=chris.pk), add_data(ten_yoga, **payment))
    assert page.status_code == 200
    assert field_errors(page, field) == [message]
    assert snapshot(tenant) == before


def test_an_expiry_in_the_past_is_refused(staff_http, tenant, chris, ten_yoga):
    before = snapshot(tenant)
    data = add_data(ten_yoga, expires_on=(today(tenant) - timedelta(days=1)).isoformat())
    page = staff_http.post(url(tenant, "packages:add", client_id=chris.pk), data)
    assert page.status_code == 200 and "The expiry cannot be in the past." in plain(page)
    assert snapshot(tenant) == before


@pytest.mark.parametrize("junk", ["abc", "", "-1", "1.5", "0", "999999999", "9" * 30, "1e3", "<script>"])
def test_a_junk_package_in_the_link_never_breaks_the_add_page(staff_http, tenant, chris, ten_yoga, junk):
    page = staff_http.get(url(tenant, "packages:add", client_id=chris.pk), {"package": junk})
    assert page.status_code == 200
    assert input_value(page, "price") is None  # nothing prefilled


@pytest.mark.parametrize("name", ["packages:add", "packages:book"])
def test_a_superscript_digit_in_the_link_never_breaks_the_page(staff_http, tenant, chris, ten_yoga, name):
    page = staff_http.get(url(tenant, name, client_id=chris.pk), {"package": "²", "service": "²"})
    assert page.status_code == 200


def test_an_archived_package_cannot_be_added(staff_http, tenant, chris, yoga, ten_yoga):
    old = define(tenant, "Old offer", [(yoga, 3)], price="30.00", validity_days=30, is_active=False)
    add = url(tenant, "packages:add", client_id=chris.pk)
    page = staff_http.get(add, {"package": old.pk})
    assert page.status_code == 200
    assert [label for _, label in options(page, "package")] == ["Ten yoga"]
    assert input_value(page, "price") is None
    before = snapshot(tenant)
    refused = staff_http.post(add, add_data(old))
    assert refused.status_code == 200 and field_errors(refused, "package")
    assert snapshot(tenant) == before


# Recording payments -----------------------------------------------------------------------------------------


def test_a_partial_payment_then_the_rest_makes_it_paid(staff_http, tenant, chris, held):
    pay = url(tenant, "packages:payment", client_id=chris.pk, client_package_id=held.pk)
    form = staff_http.get(pay)
    assert input_value(form, "amount") == "120.00"  # what is due, prefilled
    first = staff_http.post(pay, {"method": "cash", "amount": "50.00", "reference": ""}, follow=True)
    assert "Payment recorded." in flashes(first)
    assert "50.00 of 120.00 EUR 70.00 due" in package_row(first, "Ten yoga")
    rest = staff_http.post(pay, {"method": "cheque", "amount": "70.00", "reference": "CHQ 7"}, follow=True)
    assert "120.00 of 120.00 EUR Paid" in package_row(rest, "Ten yoga")
    assert pay not in rest.content.decode()  # no more "Record payment"
    held.refresh_from_db()
    assert held.amount_paid == Decimal("120.00")
    assert list(held.payments.values_list("method", "amount")) == [
        ("cash", Decimal("50.00")),
        ("cheque", Decimal("70.00")),
    ]


def test_a_payment_above_what_is_due_is_refused(staff_http, tenant, chris, held):
    pay = url(tenant, "packages:payment", client_id=chris.pk, client_package_id=held.pk)
    staff_http.post(pay, {"method": "cash", "amount": "50.00"})
    before = snapshot(tenant)
    page = staff_http.post(pay, {"method": "cash", "amount": "70.01"})
    assert page.status_code == 200
    assert field_errors(page, "amount") == [MORE_THAN_DUE.format(balance="70.00 EUR")]
    assert snapshot(tenant) == before


# Cancelling ------------------------------------------------------------------------------------------------


def test_cancelling_with_a_reason_voids_the_credits_and_shows_the_reason(
    staff_http, chris_http, tenant, chris, held, yoga
):
    cancel = url(tenant, "packages:cancel", client_id=chris.pk, client_package_id=held.pk)
    assert "Unused credits become void" in plain(staff_http.get(cancel))
    page = staff_http.post(cancel, {"reason": "Moved to another city"}, follow=True)
    assert "Package “Ten yoga” cancelled; its unused credits are void." in flashes(page)
    row = package_row(page, "Ten yoga")
    assert "Cancelled Moved to another city" in row
    assert "Record payment" not in row and "Cancel" not in row.replace("Cancelled", "")
    held.refresh_from_db()
    assert held.status == ClientPackageStatus.CANCELLED and held.cancel_reason == "Moved to another city"
    # Its credits no longer book anything.
    before = snapshot(tenant)
    booking_page = staff_http.get(book_url(chris, yoga))
    assert "disabled>Book with a credit" in booking_page.content.decode()
    assert WHY_CANCELLED.format(name="Ten yoga") in booking_page.content.decode()
    staff_http.post(book_url(chris, yoga), {"starts_at": _any_future_slot(tenant)})
    chris_http.post(portal_book_url(tenant, yoga), {"starts_at": _any_future_slot(tenant)})
    payment = url(tenant, "packages:payment", client_id=chris.pk, client_package_id=held.pk)
    refused = staff_http.post(payment, {"method": "cash", "amount": "10.00"})
    assert "This package is already cancelled." in form_errors(refused)
    assert snapshot(tenant) == before
    # The client sees it cancelled in My Account.
    assert "Ten yoga · 15 sessions, 0 used Cancelled" in plain(chris_http.get(url(tenant, "portal:home")))


def test_a_reason_is_needed_to_cancel(staff_http, tenant, chris, held):
    cancel = url(tenant, "packages:cancel", client_id=chris.pk, client_package_id=held.pk)
    page = staff_http.post(cancel, {"reason": ""})
    assert page.status_code == 200 and field_errors(page, "reason")
    held.refresh_from_db()
    assert held.status == ClientPackageStatus.ACTIVE


def test_after_cancelling_a_new_appointment_says_no_credit_applies_and_why(staff_http, tenant, chris, held, yoga):
    staff_http.post(
        url(tenant, "packages:cancel", client_id=chris.pk, client_package_id=held.pk), {"reason": "Refunded"}
    )
    page = staff_http.get(book_url(chris, yoga))
    assert f"No credit applies: {WHY_CANCELLED.format(name='Ten yoga')}" in flashes(page)


def _any_future_slot(tenant) -> str:
    local = datetime.now(ZoneInfo(tenant.time_zone)).replace(hour=10, minute=0, second=0, microsecond=0)
    return (local + timedelta(days=2)).isoformat()


# Staff: new appointment with a credit -------------------------------------------------------------------------


def test_staff_book_with_a_credit_and_the_counter_moves(staff_http, tenant, chris, held, yoga):
    start = staff_http.get(payments_url(chris))
    assert book_url(chris) in start.content.decode()
    picker = staff_http.get(book_url(chris))
    assert [label for _, label in options(picker, "service")] == ["Pilates", "Yoga"]  # not Massage
    page = staff_http.get(book_url(chris, yoga))
    assert "A credit of “Ten yoga” pays for this booking: no charge. 10 left of this credit." in flashes(page)
    assert "disabled" not in book_button(page)
    when = first_time(page)
    response = staff_http.post(book_url(chris, yoga), {"starts_at": when})
    assert response.status_code == 302 and response.url == payments_url(chris)
    booking = Booking.objects.get(tenant=tenant)
    assert (booking.service, booking.price_amount, booking.email) == (yoga, Decimal("0"), chris.email)
    assert booking.starts_at == datetime.fromisoformat(when)
    card = staff_http.get(response.url)
    local = booking.starts_at.astimezone(tenant.zone)
    assert BOOKED.format(service="Yoga", when=f"{local:%A %-d %B, %H:%M}") in flashes(card)
    row = package_row(card, "Ten yoga")
    assert row.startswith("Ten yoga 1 / 10 Yoga · 0 / 5 Pilates 1 / 15")
    # The booking shows among those that used a credit.
    assert f"Yoga, {date_format(local, 'j M Y, H:i')} Ten yoga Used" in plain(card)  # in the workspace's zone
    assert url(tenant, "bookings:booking_detail", booking_id=booking.pk) in card.content.decode()
    assert "No credits used yet" not in plain(card)


def test_a_service_the_packages_do_not_cover_offers_no_times(staff_http, tenant, chris, held, massage):
    page = staff_http.get(book_url(chris, massage))
    assert page.status_code == 200
    assert "Book with a credit" not in page.content.decode()
    before = snapshot(tenant)
    staff_http.post(book_url(chris, massage), {"starts_at": _any_future_slot(tenant)})
    assert snapshot(tenant) == before


def test_a_client_without_packages_is_told_there_is_none(staff_http, tenant, chris, yoga):
    page = staff_http.get(book_url(chris, yoga))
    assert page.status_code == 200 and "No active package" in plain(page)


def test_when_the_credits_are_used_up_the_page_says_why_and_booking_is_refused(staff_http, tenant, chris, yoga):
    one = define(tenant, "One yoga", [(yoga, 1)], price="12.00", validity_days=30)
    give(chris, one)
    staff_http.post(book_url(chris, yoga), {"starts_at": first_time(staff_http.get(book_url(chris, yoga)))})
    assert Booking.objects.filter(tenant=tenant).count() == 1
    page = staff_http.get(book_url(chris, yoga))
    why = WHY_USED_UP.format(name="One yoga")
    assert f"No credit applies: {why}" in flashes(page)
    assert "disabled" in book_button(page)
    before = snapshot(tenant)
    refused = staff_http.post(book_url(chris, yoga), {"starts_at": first_time(page)})
    assert refused.status_code == 200
    assert form_errors(refused) == [f"{NO_CREDIT} {why}"]
    assert snapshot(tenant) == before


def test_a_time_not_offered_is_refused(staff_http, tenant, chris, held, yoga):
    before = snapshot(tenant)
    page = staff_http.post(book_url(chris, yoga), {"starts_at": "2001-01-01T10:00:00+00:00"})
    assert page.status_code == 200 and field_errors(page, "starts_at")
    assert snapshot(tenant) == before


# My Account -------------------------------------------------------------------------------------------------


def test_my_account_shows_your_packages_with_credits_used_and_expiry(chris_http, tenant, chris, held):
    page = chris_http.get(url(tenant, "portal:home"))
    assert page.status_code == 200
    text = plain(page)
    assert "Your packages" in text
    assert f"Ten yoga · 15 sessions, 0 used Until {day(held.expires_on)} · 120.00 EUR due" in text
    link = re.search(r'<a href="([^"]+)">Book with a credit</a>', page.content.decode())
    assert link and link.group(1) == portal_book_url(tenant)


def test_booking_in_my_account_applies_the_credit_with_no_charge(chris_http, tenant, chris, held, yoga):
    picker = chris_http.get(portal_book_url(tenant))
    assert [label for _, label in options(picker, "service")] == ["Pilates", "Yoga"]
    page = chris_http.get(portal_book_url(tenant, yoga))
    assert "A credit of “Ten yoga” pays for this booking: no charge. 10 left of this credit." in flashes(page)
    response = chris_http.post(portal_book_url(tenant, yoga), {"starts_at": first_time(page)})
    assert response.status_code == 302 and response.url == url(tenant, "portal:home")
    home = chris_http.get(response.url)
    [message] = [m for m in flashes(home) if m.startswith("Booked: Yoga")]
    assert "no charge" in message
    assert "Ten yoga · 15 sessions, 1 used" in plain(home)
    booking = Booking.objects.get(tenant=tenant)
    assert (booking.price_amount, booking.client_id) == (Decimal("0"), chris.pk)
    assert Credit.objects.get(client_package=held, service=yoga).used == 1


def test_a_person_without_a_card_gets_404_on_booking_with_a_credit(tenant, held, yoga):
    stranger = signed_in(UserFactory(email="stranger@elsewhere.example"))
    assert stranger.get(portal_book_url(tenant)).status_code == 404
    assert stranger.post(portal_book_url(tenant, yoga), {"starts_at": _any_future_slot(tenant)}).status_code == 404
    assert not Booking.objects.exists()


def test_an_anonymous_visitor_is_sent_to_sign_in(client, tenant, held):
    response = client.get(portal_book_url(tenant))
    assert response.status_code == 302 and "/login/" in response.url


def test_an_expired_package_says_why_and_books_nothing(chris_http, tenant, chris, held, yoga):
    yesterday = today(tenant) - timedelta(days=1)
    ClientPackage.objects.filter(pk=held.pk).update(expires_on=yesterday)  # time has passed
    page = chris_http.get(portal_book_url(tenant, yoga))
    why = WHY_EXPIRED.format(name="Ten yoga", day=f"{yesterday:%-d %B %Y}")
    assert f"No credit applies: {why}" in flashes(page)
    assert "disabled" in book_button(page)
    before = snapshot(tenant)
    refused = chris_http.post(portal_book_url(tenant, yoga), {"starts_at": first_time(page)})
    assert refused.status_code == 200 and form_errors(refused) == [f"{NO_CREDIT} {why}"]
    assert snapshot(tenant) == before


# Isolation ----------------------------------------------------------------------------------------------------


@pytest.fixture
def globex(other_tenant):
    """Another workspace's service, package, client and the client's package."""
    service = open_every_day(ServiceFactory(tenant=other_tenant, name="Spinning"))
    package = define(other_tenant, "Globex ten", [(service, 10)], price="99.00", validity_days=60)
    client = ClientFactory(tenant=other_tenant, email="gina@globex.example")
    return {"service": service, "package": package, "client": client, "held": give(client, package)}


def test_another_workspaces_clients_and_packages_are_404_here(admin_http, tenant, other_tenant, chris, held, globex):
    theirs, their_held = globex["client"], globex["held"]
    before = snapshot(other_tenant)
    for name in ["packages:client", "packages:add", "packages:book"]:
        target = url(tenant, name, client_id=theirs.pk)
        assert admin_http.get(target).status_code == 404, name
        assert admin_http.post(target, add_data(globex["package"])).status_code == 404, name
    for name, data in [
        ("packages:payment", {"method": "cash", "amount": "1.00"}),
        ("packages:cancel", {"reason": "x"}),
    ]:
        for client_id in (theirs.pk, chris.pk):  # their client, or ours with their package
            target = url(tenant, name, client_id=client_id, client_package_id=their_held.pk)
            assert admin_http.get(target).status_code == 404, (name, client_id)
            assert admin_http.post(target, data).status_code == 404, (name, client_id)
    edit = url(tenant, "packages:edit", package_id=globex["package"].pk)
    assert admin_http.get(edit).status_code == 404
    assert admin_http.post(edit, package_form_data([], price="1.00")).status_code == 404
    assert snapshot(other_tenant) == before


def test_another_workspaces_package_is_never_prefilled_nor_added_here(admin_http, tenant, chris, ten_yoga, globex):
    add = url(tenant, "packages:add", client_id=chris.pk)
    page = admin_http.get(add, {"package": globex["package"].pk})
    assert page.status_code == 200 and input_value(page, "price") is None
    assert "Globex ten" not in page.content.decode()
    refused = admin_http.post(add, add_data(globex["package"]))
    assert refused.status_code == 200 and field_errors(refused, "package")
    assert not ClientPackage.objects.filter(tenant=tenant).exists()


def test_another_workspaces_service_is_not_bookable_with_a_credit_here(admin_http, tenant, chris, held, globex):
    page = admin_http.get(book_url(chris, globex["service"]))
    assert page.status_code == 200 and "Book with a credit" not in page.content.decode()


def test_another_clients_package_under_this_clients_url_is_404(staff_http, tenant, chris, held, ten_yoga):
    dana = ClientFactory(tenant=tenant, first_name="Dana", email="dana@clients.example.com")
    danas = give(dana, ten_yoga)
    before = snapshot(tenant)
    for name, data in [
        ("packages:payment", {"method": "cash", "amount": "1.00"}),
        ("packages:cancel", {"reason": "x"}),
    ]:
        target = url(tenant, name, client_id=chris.pk, client_package_id=danas.pk)
        assert staff_http.get(target).status_code == 404, name
        assert staff_http.post(target, data).status_code == 404, name
    assert snapshot(tenant) == before
    chris_page = staff_http.get(payments_url(chris)).content.decode()
    assert f"/{danas.pk}/payment/" not in chris_page and f"/{held.pk}/payment/" in chris_page
