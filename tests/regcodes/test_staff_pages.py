"""Staff (dashboard) pages of registration codes (issue 5), and the customer's Buy seats page, through the Django
test client on PostgreSQL, as a user of each page notices them: the Courses page with its sessions (and who may
change them), entering an order of seats for a customer, the Seat orders list, a client's Registration Code
Users, a learner's Content Access (edit dates, remove), buying seats in My Account, and the demo data.

Every refusal is checked to change nothing (``snapshot``); every change to seats ends with ``assert_conserved``.
"""

import html
import re
from datetime import date, timedelta
from decimal import Decimal
from io import StringIO
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.core.management import call_command
from django.test import Client as HttpClient
from django.urls import resolve
from django.utils import timezone
from django.utils.dateformat import format as date_format

from accounts.models import User
from messaging.models import OutboundEmail
from regcodes.forms import ENDS_BEFORE_START as SESSION_ENDS_BEFORE_START
from regcodes.models import (
    CodeStatus,
    CourseAccess,
    LearnerInvite,
    Product,
    ProductSession,
    RegistrationCode,
    SeatOrder,
    SeatOrderStatus,
)
from regcodes.services import ENDS_BEFORE_START as ACCESS_ENDS_BEFORE_START
from regcodes.services import ONE_SEAT_ONLY, PRODUCT_NAME_TAKEN, NewLearner, access_remove, learners_assign, seats
from tenancy.models import Role
from tenancy.urlresolvers import tenant_reverse

from ..conftest import member, signed_in
from ..factories import ClientFactory, ProductFactory, ProductSessionFactory, UserFactory, seat_invite, seat_order
from .test_services import assert_conserved, flashes, plain, snapshot

pytestmark = pytest.mark.django_db

ORDER_CONFIRMATION = "regcodes.order_confirmation"
OUT_OF_RANGE = "Enter a date between 2000 and 2100."
NOT_A_CHOICE = "Select a valid choice. That choice is not one of the available choices."


# Fixtures and helpers ---------------------------------------------------------------------------------------


@pytest.fixture
def course(tenant):
    """An active course with a code-generating session a month ahead."""
    return ProductSessionFactory(
        tenant=tenant,
        product=ProductFactory(tenant=tenant, name="First aid at work"),
        name="Spring run",
        price=Decimal("120.00"),
        access_days=180,
    )


@pytest.fixture
def buyer(tenant):
    return UserFactory(email="buyer@customer.example", first_name="Bea", last_name="Buyer")


def url(tenant, name, **kwargs) -> str:
    return tenant_reverse(tenant, f"courses:{name}", **kwargs)


def buy_url(tenant) -> str:
    return tenant_reverse(tenant, "seats_portal:buy")


def today(tenant) -> date:
    return timezone.localdate(timezone=tenant.zone)


def day(value) -> str:
    return date_format(value, "j M Y")


def field_errors(page, field) -> list[str]:
    return [html.unescape(m) for m in re.findall(rf'<p class="field-error" id="id_{field}_error">(.*?)</p>', page.text)]


def form_errors(page) -> list[str]:
    blocks = re.findall(r'<div class="form-errors" role="alert">(.*?)</div>', page.text, re.S)
    return [html.unescape(m) for block in blocks for m in re.findall(r"<p>(.*?)</p>", block, re.S)]


def text_of(fragment: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def body_rows(page) -> list[str]:
    """The text of every table body row on the page."""
    bodies = re.findall(r"<tbody>(.*?)</tbody>", page.text, re.S)
    return [text_of(row) for body in bodies for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)]


def row_with(page, needle) -> str:
    rows = [r for r in body_rows(page) if needle in r]
    assert len(rows) == 1, (needle, body_rows(page))
    return rows[0]


def options(page, field="product_session") -> set[int]:
    select = re.search(rf'<select name="{field}"[^>]*>(.*?)</select>', page.text, re.S)
    assert select, page.text[:3000]
    return {int(v) for v in re.findall(r'<option value="(\d+)"', select.group(1))}


def hrefs(page) -> set[str]:
    return {html.unescape(h) for h in re.findall(r'href="([^"]+)"', page.text)}


def empty_title(page) -> list[str]:
    return [html.unescape(m) for m in re.findall(r'<p class="empty-title">(.*?)</p>', page.text)]


def order_emails(tenant, **filters):
    return OutboundEmail.objects.filter(tenant=tenant, template_key=ORDER_CONFIRMATION, **filters).order_by("id")


def set_password_links(email: OutboundEmail) -> list[str]:
    return [value for value in email.private_values.values() if value and "/accounts/password/reset/" in value]


def give(order, *emails) -> list[CourseAccess]:
    return learners_assign(
        tenant=order.tenant,
        order=order,
        learners=[NewLearner(e, "Lee", e.split("@")[0].title()) for e in emails],
        actor=order.buyer,
    )


def session_post(**overrides) -> dict:
    start = timezone.localdate() + timedelta(days=60)
    data = {
        "name": "Autumn group",
        "starts_on": start.isoformat(),
        "ends_on": (start + timedelta(days=1)).isoformat(),
        "price": "95.50",
        "access_days": "120",
        "generates_codes": "on",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def order_post(product_session, **overrides) -> dict:
    data = {
        "product_session": str(product_session.pk),
        "quantity": "3",
        "email": "new.customer@example.com",
        "first_name": "Nina",
        "last_name": "Newcomer",
    }
    data.update(overrides)
    return data


def catalogue(tenant) -> list:
    return sorted(
        ProductSession.objects.filter(tenant=tenant).values_list(
            "pk", "product_id", "name", "starts_on", "ends_on", "price", "access_days", "generates_codes"
        )
    ) + sorted(Product.objects.filter(tenant=tenant).values_list("pk", "name", "description", "is_active"))


# Courses ----------------------------------------------------------------------------------------------------


def test_the_courses_page_lists_each_course_with_its_sessions(tenant, other_tenant, staff_http):
    first_aid = ProductFactory(tenant=tenant, name="First aid at work")
    start = today(tenant) + timedelta(days=40)
    ProductSessionFactory(
        product=first_aid,
        name="Spring run",
        starts_on=start,
        ends_on=start + timedelta(days=1),
        price=Decimal("120.00"),
        access_days=180,
        generates_codes=True,
    )
    ProductSessionFactory(
        product=first_aid,
        name="Evening run",
        starts_on=start + timedelta(days=7),
        ends_on=start + timedelta(days=9),
        price=Decimal("0.00"),
        access_days=30,
        generates_codes=False,
    )
    ProductFactory(tenant=tenant, name="Fire safety", is_active=False)
    ProductSessionFactory(tenant=other_tenant, product=ProductFactory(tenant=other_tenant, name="Globex course"))

    page = staff_http.get(url(tenant, "products"))

    assert page.status_code == 200
    assert row_with(page, "Spring run") == (
        f"Spring run {day(start)} – {day(start + timedelta(days=1))} 120.00 EUR 180 days On"
    )
    assert row_with(page, "Evening run") == (
        f"Evening run {day(start + timedelta(days=7))} – {day(start + timedelta(days=9))} 0.00 EUR 30 days Off"
    )
    text = plain(page)
    assert "First aid at work" in text
    assert "Fire safety Not on sale" in text
    assert "No sessions yet" in empty_title(page)  # the course without sessions
    assert "Globex course" not in text
    assert "Generate Registration Codes" in text


def test_the_courses_page_without_courses_says_so(tenant, staff_http):
    page = staff_http.get(url(tenant, "products"))

    assert page.status_code == 200
    assert empty_title(page) == ["No courses yet"]


def test_staff_see_courses_but_get_no_add_or_edit_buttons(tenant, course, staff_http):
    page = staff_http.get(url(tenant, "products"))

    links = hrefs(page)
    assert url(tenant, "product_create") not in links
    assert url(tenant, "product_edit", product_id=course.product_id) not in links
    assert url(tenant, "session_create", product_id=course.product_id) not in links
    assert url(tenant, "session_edit", product_id=course.product_id, product_session_id=course.pk) not in links
    assert url(tenant, "order_create") in links  # staff may enter orders


@pytest.mark.parametrize("role_fixture", ["admin_http", "owner_http"])
def test_admins_and_owners_get_add_and_edit_buttons(tenant, course, role_fixture, request):
    page = request.getfixturevalue(role_fixture).get(url(tenant, "products"))

    links = hrefs(page)
    assert url(tenant, "product_create") in links
    assert url(tenant, "product_edit", product_id=course.product_id) in links
    assert url(tenant, "session_create", product_id=course.product_id) in links
    assert url(tenant, "session_edit", product_id=course.product_id, product_session_id=course.pk) in links


def test_the_staff_role_cannot_create_or_edit_courses_or_sessions(tenant, course, staff_http):
    before = catalogue(tenant)
    targets = [
        (url(tenant, "product_create"), {"name": "Sneaky", "is_active": "on"}),
        (url(tenant, "product_edit", product_id=course.product_id), {"name": "Renamed", "is_active": "on"}),
        (url(tenant, "session_create", product_id=course.product_id), session_post()),
        (
            url(tenant, "session_edit", product_id=course.product_id, product_session_id=course.pk),
            session_post(name="Renamed run"),
        ),
    ]

    for target, data in targets:
        assert staff_http.get(target).status_code == 403, target
        assert staff_http.post(target, data).status_code == 403, target

    assert catalogue(tenant) == before


def test_anonymous_and_non_members_are_kept_out_of_the_courses_pages(tenant, other_tenant, course):
    outsider = member(other_tenant, Role.OWNER, email="boss@globex.example")
    for name, kwargs in [("products", {}), ("orders", {}), ("order_create", {}), ("product_create", {})]:
        target = url(tenant, name, **kwargs)
        anonymous = HttpClient().get(target)
        assert anonymous.status_code == 302 and urlsplit(anonymous["Location"]).path == "/accounts/login/", target
        assert signed_in(outsider).get(target).status_code == 403, target


def test_an_admin_adds_a_course(tenant, admin_http):
    response = admin_http.post(
        url(tenant, "product_create"), {"name": "Manual handling", "description": "Half a day.", "is_active": "on"}
    )

    assert response.status_code == 302 and response["Location"] == url(tenant, "products")
    product = Product.objects.get(tenant=tenant)
    assert (product.name, product.description, product.is_active) == ("Manual handling", "Half a day.", True)
    page = admin_http.get(response["Location"])
    assert flashes(page) == ["Course “Manual handling” saved."]
    assert "Manual handling" in plain(page)
    assert empty_title(page) == ["No sessions yet"]


def test_an_admin_edits_a_course_and_takes_it_off_sale(tenant, course, admin_http):
    target = url(tenant, "product_edit", product_id=course.product_id)
    form = admin_http.get(target)
    assert form.status_code == 200
    assert 'value="First aid at work"' in form.text

    response = admin_http.post(target, {"name": "First aid at work (2 days)", "description": ""})

    assert response.status_code == 302
    course.product.refresh_from_db()
    assert (course.product.name, course.product.is_active) == ("First aid at work (2 days)", False)
    assert "First aid at work (2 days) Not on sale" in plain(admin_http.get(url(tenant, "products")))


@pytest.mark.parametrize("name", ["first AID at work", "FIRST AID AT WORK"])
def test_a_course_name_taken_in_another_case_is_refused_beside_the_name(tenant, other_tenant, course, admin_http, name):
    before = catalogue(tenant)

    page = admin_http.post(url(tenant, "product_create"), {"name": name, "is_active": "on"})

    assert page.status_code == 200
    assert field_errors(page, "name") == [PRODUCT_NAME_TAKEN]
    assert catalogue(tenant) == before

    other = ProductFactory(tenant=tenant, name="Fire safety")
    page = admin_http.post(url(tenant, "product_edit", product_id=other.pk), {"name": name, "is_active": "on"})
    assert page.status_code == 200
    assert field_errors(page, "name") == [PRODUCT_NAME_TAKEN]
    other.refresh_from_db()
    assert other.name == "Fire safety"


def test_a_course_keeps_its_own_name_in_another_case_and_another_tenant_may_use_it(
    tenant, other_tenant, course, admin_http
):
    response = admin_http.post(
        url(tenant, "product_edit", product_id=course.product_id), {"name": "First Aid At Work", "is_active": "on"}
    )
    assert response.status_code == 302
    course.product.refresh_from_db()
    assert course.product.name == "First Aid At Work"

    ProductFactory(tenant=other_tenant, name="Manual handling")
    response = admin_http.post(url(tenant, "product_create"), {"name": "Manual handling", "is_active": "on"})
    assert response.status_code == 302
    assert Product.objects.filter(tenant=tenant, name="Manual handling").exists()


def test_an_admin_adds_a_session_and_it_is_listed(tenant, course, admin_http):
    start = today(tenant) + timedelta(days=60)

    response = admin_http.post(
        url(tenant, "session_create", product_id=course.product_id),
        session_post(starts_on=start.isoformat(), ends_on=(start + timedelta(days=1)).isoformat()),
    )

    assert response.status_code == 302 and response["Location"] == url(tenant, "products")
    made = ProductSession.objects.get(tenant=tenant, name="Autumn group")
    assert (made.product_id, made.starts_on, made.ends_on, made.price, made.access_days, made.generates_codes) == (
        course.product_id,
        start,
        start + timedelta(days=1),
        Decimal("95.50"),
        120,
        True,
    )
    page = admin_http.get(response["Location"])
    assert flashes(page) == ["Session “Autumn group” of First aid at work saved."]
    assert row_with(page, "Autumn group") == (
        f"Autumn group {day(start)} – {day(start + timedelta(days=1))} 95.50 EUR 120 days On Edit"
    )


def test_an_admin_edits_a_session_and_turns_the_switch_off(tenant, course, admin_http):
    target = url(tenant, "session_edit", product_id=course.product_id, product_session_id=course.pk)
    form = admin_http.get(target)
    assert form.status_code == 200
    assert f'value="{course.starts_on.isoformat()}"' in form.text

    response = admin_http.post(
        target,
        session_post(
            name="Spring run",
            starts_on=course.starts_on.isoformat(),
            ends_on=(course.starts_on + timedelta(days=3)).isoformat(),
            price="150",
            access_days="365",
            generates_codes=None,
        ),
    )

    assert response.status_code == 302
    course.refresh_from_db()
    assert (course.ends_on, course.price, course.access_days, course.generates_codes) == (
        course.starts_on + timedelta(days=3),
        Decimal("150.00"),
        365,
        False,
    )
    assert row_with(admin_http.get(url(tenant, "products")), "Spring run").endswith("150.00 EUR 365 days Off Edit")


@pytest.mark.parametrize("edit", [False, True], ids=["add", "edit"])
def test_a_session_ending_before_it_starts_is_refused_beside_the_last_day(tenant, course, admin_http, edit):
    target = (
        url(tenant, "session_edit", product_id=course.product_id, product_session_id=course.pk)
        if edit
        else url(tenant, "session_create", product_id=course.product_id)
    )
    before = catalogue(tenant)

    page = admin_http.post(target, session_post(starts_on="2027-05-10", ends_on="2027-05-09"))

    assert page.status_code == 200
    assert field_errors(page, "ends_on") == [SESSION_ENDS_BEFORE_START]
    assert catalogue(tenant) == before


@pytest.mark.parametrize("edit", [False, True], ids=["add", "edit"])
@pytest.mark.parametrize(
    "dates, field",
    [
        (("2027-05-10", "9999-12-31"), "ends_on"),
        (("9999-12-30", "9999-12-31"), "starts_on"),
        (("1999-12-31", "2027-01-01"), "starts_on"),
    ],
)
def test_a_session_date_far_out_of_range_is_refused_with_a_message(tenant, course, admin_http, edit, dates, field):
    target = (
        url(tenant, "session_edit", product_id=course.product_id, product_session_id=course.pk)
        if edit
        else url(tenant, "session_create", product_id=course.product_id)
    )
    before = catalogue(tenant)

    page = admin_http.post(target, session_post(starts_on=dates[0], ends_on=dates[1]))

    assert page.status_code == 200
    assert OUT_OF_RANGE in field_errors(page, field)
    assert catalogue(tenant) == before


def test_session_inputs_that_are_not_numbers_or_dates_are_refused_without_a_500(tenant, course, admin_http):
    before = catalogue(tenant)
    page = admin_http.post(
        url(tenant, "session_create", product_id=course.product_id),
        session_post(starts_on="10000-01-01", ends_on="not a date", price="-1", access_days="99999999999999999999"),
    )
    assert page.status_code == 200
    for name in ("starts_on", "ends_on", "price", "access_days"):
        assert field_errors(page, name), name
    assert catalogue(tenant) == before


def test_another_tenants_course_or_a_session_of_another_course_is_404(tenant, other_tenant, course, admin_http):
    theirs = ProductSessionFactory(tenant=other_tenant)
    mine = ProductSessionFactory(tenant=tenant, product=ProductFactory(tenant=tenant, name="Fire safety"))
    for target in [
        url(tenant, "product_edit", product_id=theirs.product_id),
        url(tenant, "session_create", product_id=theirs.product_id),
        url(tenant, "session_edit", product_id=theirs.product_id, product_session_id=theirs.pk),
        url(tenant, "session_edit", product_id=course.product_id, product_session_id=theirs.pk),
        url(tenant, "session_edit", product_id=course.product_id, product_session_id=mine.pk),
        url(tenant, "product_edit", product_id=999_999),
    ]:
        assert admin_http.get(target).status_code == 404, target
        assert admin_http.post(target, session_post(name="Hijack")).status_code == 404, target
    assert not ProductSession.objects.filter(name="Hijack").exists()


# Enter an order (staff) -------------------------------------------------------------------------------------


def test_an_order_for_a_new_customer_makes_their_login_the_codes_and_one_email_with_a_set_password_link(
    tenant, course, staff, staff_http
):
    response = staff_http.post(url(tenant, "order_create"), order_post(course, email="New.Customer@Example.com"))

    assert response.status_code == 302 and response["Location"] == url(tenant, "orders")
    customer = User.objects.get(email__iexact="new.customer@example.com")
    assert (customer.first_name, customer.last_name) == ("Nina", "Newcomer")
    order = SeatOrder.objects.get(tenant=tenant)
    assert (order.buyer, order.product_session, order.quantity, order.created_by) == (customer, course, 3, staff)
    assert (order.total, order.status) == (Decimal("360.00"), SeatOrderStatus.AWAITING_PAYMENT)
    assert order.client is not None and order.client.email == customer.email
    assert RegistrationCode.objects.filter(order=order, status=CodeStatus.AVAILABLE).count() == 3
    assert_conserved(order)

    [email] = order_emails(tenant)
    assert email.to_email == customer.email
    [link] = set_password_links(email)
    match = resolve(urlsplit(link).path)
    assert match.url_name == "password_reset_confirm"
    assert default_token_generator.check_token(customer, match.kwargs["token"])
    assert order.number in email.body_text
    opened = HttpClient().get(urlsplit(link).path, follow=True)  # the link leads to a set-password form
    assert opened.status_code == 200 and 'name="new_password1"' in opened.text

    page = staff_http.get(response["Location"])
    assert flashes(page) == [f"Order {order.number} for {customer.email} recorded; they were emailed."]
    assert order.number in row_with(page, order.number)


def test_an_order_for_an_existing_login_uses_it_and_sends_no_set_password_link(tenant, course, buyer, staff_http):
    users = User.objects.count()

    response = staff_http.post(
        url(tenant, "order_create"),
        order_post(course, email="BUYER@customer.example", first_name="Someone", last_name="Else"),
    )

    assert response.status_code == 302
    assert User.objects.count() == users
    order = SeatOrder.objects.get(tenant=tenant)
    assert order.buyer == buyer
    buyer.refresh_from_db()
    assert (buyer.first_name, buyer.last_name) == ("Bea", "Buyer")  # not overwritten by what staff typed
    assert order.codes.count() == 3
    [email] = order_emails(tenant)
    assert email.to_email == buyer.email
    assert set_password_links(email) == []
    assert "/accounts/password/reset/" not in email.body_text


@pytest.mark.parametrize("generates", [True, False])
def test_an_order_of_one_seat_is_the_customers_own_seat(tenant, course, staff_http, generates):
    ProductSession.objects.filter(pk=course.pk).update(generates_codes=generates)

    response = staff_http.post(url(tenant, "order_create"), order_post(course, quantity="1"))

    assert response.status_code == 302
    order = SeatOrder.objects.get(tenant=tenant)
    assert [code.learner for code in order.codes.all()] == [order.buyer]  # claimed for them, nothing to hand out
    assert order_emails(tenant).count() == 1


def test_a_session_without_the_switch_takes_orders_of_one_seat_only(tenant, course, staff_http):
    ProductSession.objects.filter(pk=course.pk).update(generates_codes=False)

    response = staff_http.post(url(tenant, "order_create"), order_post(course, quantity="3"))

    assert response.status_code == 200
    assert ONE_SEAT_ONLY in response.content.decode()
    assert not SeatOrder.objects.exists() and order_emails(tenant).count() == 0


def test_the_order_form_offers_only_sessions_on_sale_and_refuses_the_others(tenant, other_tenant, course, staff_http):
    off_sale = ProductSessionFactory(tenant=tenant, product=ProductFactory(tenant=tenant, is_active=False))
    ended = ProductSessionFactory(
        tenant=tenant,
        product=course.product,
        name="Last year",
        starts_on=today(tenant) - timedelta(days=30),
        ends_on=today(tenant) - timedelta(days=5),
    )
    ending_today = ProductSessionFactory(
        tenant=tenant, product=course.product, starts_on=today(tenant) - timedelta(days=1), ends_on=today(tenant)
    )
    theirs = ProductSessionFactory(tenant=other_tenant)

    page = staff_http.get(url(tenant, "order_create"))
    assert page.status_code == 200
    assert options(page) == {course.pk, ending_today.pk}

    before = snapshot(tenant)
    for refused in (off_sale, ended, theirs):
        page = staff_http.post(url(tenant, "order_create"), order_post(refused))
        assert page.status_code == 200, refused
        assert field_errors(page, "product_session") == [NOT_A_CHOICE], refused
    assert snapshot(tenant) == before
    assert not User.objects.filter(email="new.customer@example.com").exists()
    assert not SeatOrder.objects.exists()


@pytest.mark.parametrize(
    "field, value",
    [
        ("quantity", "0"),
        ("quantity", "1001"),
        ("quantity", "two"),
        ("email", "not-an-email"),
        ("first_name", ""),
        ("last_name", "Null\x00byte"),
    ],
)
def test_a_bad_order_is_refused_beside_the_field_and_changes_nothing(tenant, course, staff_http, field, value):
    before = snapshot(tenant)

    page = staff_http.post(url(tenant, "order_create"), order_post(course, **{field: value}))

    assert page.status_code == 200
    assert field_errors(page, field)
    assert snapshot(tenant) == before


def test_an_order_whose_total_is_too_large_is_refused_and_never_a_500(tenant, course, staff_http):
    ProductSession.objects.filter(pk=course.pk).update(price=Decimal("10000000.00"))  # the session form accepts it
    staff_http.raise_request_exception = False
    before = snapshot(tenant)

    page = staff_http.post(url(tenant, "order_create"), order_post(course, quantity="1000"))

    assert page.status_code in (200, 302)
    if page.status_code == 200:
        assert form_errors(page) or field_errors(page, "quantity")
        assert snapshot(tenant) == before
    else:
        assert SeatOrder.objects.get(tenant=tenant).total == Decimal("10000000000.00")


# Seat orders list -------------------------------------------------------------------------------------------


def test_the_orders_list_shows_number_customer_course_seats_used_total_and_status(
    tenant, other_tenant, course, buyer, staff_http
):
    order = seat_order(course, buyer, quantity=3)
    give(order, "one@example.com")
    seat_invite(order, "two@example.com")
    free = ProductSessionFactory(
        tenant=tenant, product=ProductFactory(tenant=tenant, name="Fire safety"), name="Free taster", price=0
    )
    free_order = seat_order(free, UserFactory(email="solo@example.com", first_name="Sol", last_name="Solo"), 1)
    seat_order(ProductSessionFactory(tenant=other_tenant), buyer, quantity=2)

    page = staff_http.get(url(tenant, "orders"))

    assert page.status_code == 200
    assert row_with(page, order.number) == (
        f"{order.number} {day(timezone.localdate())} Bea Buyer buyer@customer.example Registration Code Users "
        "First aid at work Spring run 1 used / 3 360.00 EUR Awaiting payment Mark paid"
    )
    assert row_with(page, free_order.number) == (
        f"{free_order.number} {day(timezone.localdate())} Sol Solo solo@example.com Registration Code Users "
        "Fire safety Free taster 1 used / 1 0.00 EUR Paid"
    )
    assert len(body_rows(page)) == 2  # not the other tenant's order
    assert url(tenant, "client_code_users", client_id=order.client_id) in hrefs(page)


def test_the_orders_list_without_orders_says_so(tenant, staff_http):
    page = staff_http.get(url(tenant, "orders"))

    assert page.status_code == 200
    assert empty_title(page) == ["No seat orders yet"]


def test_the_orders_list_is_searched_by_customer_email_or_course(tenant, course, buyer, staff_http):
    mine = seat_order(course, buyer, quantity=2)
    other = seat_order(
        ProductSessionFactory(tenant=tenant, product=ProductFactory(tenant=tenant, name="Fire safety")),
        UserFactory(email="someone@else.example"),
        quantity=2,
    )

    by_email = staff_http.get(url(tenant, "orders"), {"q": "CUSTOMER.example"})
    assert [r.split()[0] for r in body_rows(by_email)] == [mine.number]
    assert 'value="CUSTOMER.example"' in by_email.text

    by_course = staff_http.get(url(tenant, "orders"), {"q": "fire"})
    assert [r.split()[0] for r in body_rows(by_course)] == [other.number]

    nothing = staff_http.get(url(tenant, "orders"), {"q": "nobody@nowhere"})
    assert body_rows(nothing) == [] and empty_title(nothing) == ["No seat orders yet"]


@pytest.mark.parametrize(
    "params",
    [{"q": "a\x00b"}, {"q": "x" * 5000}, {"q": "%' OR 1=1 --"}, {"page": "999"}, {"page": "-1"}, {"page": "\x00"}],
)
def test_junk_in_the_orders_query_never_gives_a_500(tenant, course, buyer, staff_http, params):
    seat_order(course, buyer, quantity=2)

    page = staff_http.get(url(tenant, "orders"), params)

    assert page.status_code == 200


def test_the_orders_list_has_pages_of_25(tenant, course, staff_http):
    buyers = [UserFactory(email=f"buyer{n:02d}@example.com") for n in range(26)]
    orders = [seat_order(course, b, quantity=1) for b in buyers]

    first = staff_http.get(url(tenant, "orders"))
    second = staff_http.get(url(tenant, "orders"), {"page": 2})

    assert len(body_rows(first)) == 25
    assert "Page 1 of 2 · 26 in all" in plain(first)
    assert [r.split()[0] for r in body_rows(second)] == [orders[0].number]  # the oldest comes last
    assert "Page 2 of 2 · 26 in all" in plain(second)
    searched = staff_http.get(url(tenant, "orders"), {"q": "buyer0", "page": 2})
    assert "Page 1 of 1" not in plain(searched)
    assert len(body_rows(searched)) == 10  # buyer00 … buyer09 fit on one page: the last page is shown


# Client detail → Registration Code Users --------------------------------------------------------------------


def test_the_client_detail_page_links_to_registration_code_users(tenant, staff_http):
    client = ClientFactory(tenant=tenant)

    page = staff_http.get(tenant_reverse(tenant, "clients:detail", client_id=client.pk))

    assert page.status_code == 200
    assert url(tenant, "client_code_users", client_id=client.pk) in hrefs(page)
    assert "Registration Code Users" in plain(page)


def test_registration_code_users_lists_every_active_learner_of_that_clients_orders_only(
    tenant, other_tenant, course, buyer, staff_http
):
    first = seat_order(course, buyer, quantity=4)
    second = seat_order(
        ProductSessionFactory(tenant=tenant, product=ProductFactory(tenant=tenant, name="Fire safety"), name="May"),
        buyer,
        quantity=2,
    )
    assert first.client_id == second.client_id
    ann, bob, gone = give(first, "ann@example.com", "bob@example.com", "gone@example.com")
    [cat] = give(second, "cat@example.com")
    seat_invite(first, "pending@example.com")
    access_remove(tenant=tenant, access=gone, actor=None)
    another_customer = seat_order(course, UserFactory(email="other@customer.example"), quantity=2)
    give(another_customer, "stranger@example.com")
    abroad = seat_order(ProductSessionFactory(tenant=other_tenant), buyer, quantity=2)
    give(abroad, "far@example.com")

    page = staff_http.get(url(tenant, "client_code_users", client_id=first.client_id))

    assert page.status_code == 200
    rows = body_rows(page)
    assert len(rows) == 3, rows
    assert row_with(page, "ann@example.com") == (
        f"Lee Ann ann@example.com First aid at work — Spring run {day(ann.starts_on)} – {day(ann.ends_on)} "
        f"{first.number} Content Access Remove access"
    )
    assert "bob@example.com" in plain(page)
    assert row_with(page, "cat@example.com").startswith("Lee Cat cat@example.com Fire safety — May")
    for absent in ("gone@example.com", "stranger@example.com", "far@example.com"):
        assert absent not in plain(page), absent
    links = hrefs(page)
    for access in (ann, bob, cat):
        assert url(tenant, "learner_access", learner_id=access.learner_id) in links
        assert url(tenant, "access_remove", access_id=access.pk) in links


def test_registration_code_users_of_a_client_without_learners_says_so(tenant, course, buyer, staff_http):
    order = seat_order(course, buyer, quantity=2)
    seat_invite(order, "pending@example.com")  # invited is not a user yet

    page = staff_http.get(url(tenant, "client_code_users", client_id=order.client_id))

    assert page.status_code == 200
    assert body_rows(page) == []
    assert empty_title(page) == ["Nobody has access through this customer's codes"]


def test_registration_code_users_of_another_tenants_client_is_404(tenant, other_tenant, staff_http):
    theirs = ClientFactory(tenant=other_tenant)

    assert staff_http.get(url(tenant, "client_code_users", client_id=theirs.pk)).status_code == 404
    assert staff_http.get(url(tenant, "client_code_users", client_id=999_999)).status_code == 404


# Learner → Content Access -----------------------------------------------------------------------------------


@pytest.fixture
def order(course, buyer):
    return seat_order(course, buyer, quantity=3)


@pytest.fixture
def access(order):
    [access] = give(order, "lena@example.com")
    return access


def test_content_access_lists_the_learners_access_here_with_its_dates(
    tenant, other_tenant, course, order, access, staff_http
):
    learner = access.learner
    old = seat_order(
        ProductSessionFactory(tenant=tenant, product=ProductFactory(tenant=tenant, name="Fire safety"), name="May"),
        order.buyer,
        quantity=2,
    )
    [removed] = learners_assign(tenant=tenant, order=old, learners=[NewLearner(learner.email)], actor=None)
    access_remove(tenant=tenant, access=removed, actor=None)
    abroad = seat_order(
        ProductSessionFactory(tenant=other_tenant, product=ProductFactory(tenant=other_tenant, name="Globex")),
        order.buyer,
        quantity=2,
    )
    learners_assign(tenant=other_tenant, order=abroad, learners=[NewLearner(learner.email)], actor=None)

    page = staff_http.get(url(tenant, "learner_access", learner_id=learner.pk))

    assert page.status_code == 200
    assert "Content Access: Lee Lena" in plain(page)
    assert row_with(page, "Spring run") == (
        f"First aid at work — Spring run {day(access.starts_on)} {day(access.ends_on)} "
        f"{order.number} · {order.client.full_name} Active Edit dates Remove"
    )
    assert access.ends_on == access.starts_on + timedelta(days=180)
    assert row_with(page, "Fire safety").startswith("Fire safety — May")
    assert "Removed" in row_with(page, "Fire safety") and "Edit dates" not in row_with(page, "Fire safety")
    assert "Globex" not in plain(page)
    links = hrefs(page)
    assert url(tenant, "access_edit", access_id=access.pk) in links
    assert url(tenant, "access_remove", access_id=access.pk) in links
    assert url(tenant, "access_edit", access_id=removed.pk) not in links


def test_content_access_of_someone_with_no_access_here_is_404(tenant, other_tenant, staff, buyer, staff_http):
    abroad = seat_order(ProductSessionFactory(tenant=other_tenant), buyer, quantity=2)
    [theirs] = learners_assign(
        tenant=other_tenant, order=abroad, learners=[NewLearner("far@example.com", "Far", "Away")], actor=None
    )

    assert staff_http.get(url(tenant, "learner_access", learner_id=theirs.learner_id)).status_code == 404
    assert staff_http.get(url(tenant, "learner_access", learner_id=staff.pk)).status_code == 404
    assert staff_http.get(url(tenant, "learner_access", learner_id=999_999)).status_code == 404
    for name in ("access_edit", "access_remove"):
        assert staff_http.get(url(tenant, name, access_id=theirs.pk)).status_code == 404
        assert staff_http.post(url(tenant, name, access_id=theirs.pk), {}).status_code == 404
    theirs.refresh_from_db()
    assert theirs.revoked_at is None


def test_editing_the_dates_extends_access_and_the_page_shows_the_new_date(tenant, access, staff_http):
    target = url(tenant, "access_edit", access_id=access.pk)
    form = staff_http.get(target)
    assert form.status_code == 200
    assert f'value="{access.ends_on.isoformat()}"' in form.text
    later = access.ends_on + timedelta(days=90)

    response = staff_http.post(target, {"starts_on": access.starts_on.isoformat(), "ends_on": later.isoformat()})

    assert response.status_code == 302
    assert response["Location"] == url(tenant, "learner_access", learner_id=access.learner_id)
    access.refresh_from_db()
    assert access.ends_on == later
    page = staff_http.get(response["Location"])
    assert flashes(page) == ["Access dates saved."]
    assert day(later) in row_with(page, "Spring run")


@pytest.mark.parametrize(
    "starts, ends, field, message",
    [
        ("2027-06-10", "2027-06-09", "ends_on", ACCESS_ENDS_BEFORE_START),
        ("2027-06-10", "9999-12-31", "ends_on", OUT_OF_RANGE),
        ("2027-06-10", "99999-01-01", "ends_on", "Enter a valid date."),
        ("", "2027-06-10", "starts_on", "This field is required."),
    ],
)
def test_bad_access_dates_are_refused_beside_the_field_and_change_nothing(
    tenant, access, staff_http, starts, ends, field, message
):
    before = (access.starts_on, access.ends_on)

    page = staff_http.post(url(tenant, "access_edit", access_id=access.pk), {"starts_on": starts, "ends_on": ends})

    assert page.status_code == 200
    assert field_errors(page, field) == [message]
    access.refresh_from_db()
    assert (access.starts_on, access.ends_on) == before


def test_removing_access_asks_first_then_frees_the_seat_for_the_customer(tenant, order, access, staff, staff_http):
    customer_page = tenant_reverse(tenant, "seats_portal:order", order_id=order.pk)
    customer = signed_in(order.buyer)
    assert "2 Remaining 0 Invited 1 Used / claimed" in plain(customer.get(customer_page))
    target = url(tenant, "access_remove", access_id=access.pk)

    confirm = staff_http.get(target)

    assert confirm.status_code == 200
    assert "Remove lena@example.com's access to First aid at work — Spring run?" in plain(confirm)
    access.refresh_from_db()
    assert access.revoked_at is None

    response = staff_http.post(target)

    assert response.status_code == 302
    assert response["Location"] == url(tenant, "learner_access", learner_id=access.learner_id)
    access.refresh_from_db()
    assert access.revoked_at is not None and access.revoked_by == staff
    code = RegistrationCode.objects.get(pk=access.code_id)
    assert (code.status, code.learner_id) == (CodeStatus.AVAILABLE, None)
    assert seats(tenant=tenant, order=order)[CodeStatus.AVAILABLE] == 3
    assert_conserved(order)
    page = staff_http.get(response["Location"])
    assert flashes(page) == ["Access removed; the seat is back in the customer's pool."]
    assert "Removed" in row_with(page, "Spring run")
    assert "3 Remaining 0 Invited 0 Used / claimed" in plain(customer.get(customer_page))
    assert body_rows(staff_http.get(url(tenant, "client_code_users", client_id=order.client_id))) == []

    again = staff_http.post(target, follow=True)
    assert flashes(again) == ["This access has already been removed."]
    assert seats(tenant=tenant, order=order)[CodeStatus.AVAILABLE] == 3


def test_removed_access_cannot_have_its_dates_edited(tenant, access, staff_http):
    access_remove(tenant=tenant, access=access, actor=None)
    before = CourseAccess.objects.values_list("starts_on", "ends_on").get(pk=access.pk)

    page = staff_http.post(
        url(tenant, "access_edit", access_id=access.pk), {"starts_on": "2027-01-01", "ends_on": "2099-01-01"}
    )

    assert page.status_code == 200
    assert form_errors(page) == ["This access has already been removed."]
    assert CourseAccess.objects.values_list("starts_on", "ends_on").get(pk=access.pk) == before


# Buy seats (My Account) -------------------------------------------------------------------------------------


def test_buy_seats_offers_only_sessions_on_sale(tenant, other_tenant, course, buyer):
    ProductSessionFactory(tenant=tenant, product=ProductFactory(tenant=tenant, is_active=False))
    ProductSessionFactory(
        tenant=tenant,
        product=course.product,
        starts_on=today(tenant) - timedelta(days=30),
        ends_on=today(tenant) - timedelta(days=5),
    )
    ProductSessionFactory(tenant=other_tenant)

    page = signed_in(buyer).get(buy_url(tenant))

    assert page.status_code == 200
    assert options(page) == {course.pk}
    assert "First aid at work — Spring run" in plain(page)


def test_buy_seats_with_nothing_on_sale_says_so(tenant, buyer):
    page = signed_in(buyer).get(buy_url(tenant))

    assert page.status_code == 200
    assert empty_title(page) == ["No courses on sale right now"]


def test_buying_three_seats_makes_three_codes_and_lands_on_the_orders_details(tenant, course, buyer):
    http = signed_in(buyer)

    response = http.post(buy_url(tenant), {"product_session": course.pk, "quantity": "3"})

    order = SeatOrder.objects.get(tenant=tenant)
    assert (order.buyer, order.quantity, order.created_by, order.total) == (buyer, 3, buyer, Decimal("360.00"))
    assert order.codes.count() == 3
    assert_conserved(order)
    assert response.status_code == 302
    assert response["Location"] == tenant_reverse(tenant, "seats_portal:order", order_id=order.pk)
    page = http.get(response["Location"])
    assert page.status_code == 200
    assert flashes(page) == [f"Order {order.number} placed. {order.payment_instructions}"]
    assert "360.00 EUR" in order.payment_instructions and order.number in order.payment_instructions
    assert "3 Remaining 0 Invited 0 Used / claimed" in plain(page)
    [email] = order_emails(tenant)
    assert email.to_email == buyer.email
    assert set_password_links(email) == []


def test_buying_one_seat_makes_no_codes_and_lands_in_my_account(tenant, course, buyer):
    http = signed_in(buyer)

    response = http.post(buy_url(tenant), {"product_session": course.pk, "quantity": "1"})

    assert response.status_code == 302
    assert response["Location"] == tenant_reverse(tenant, "portal:home")
    order = SeatOrder.objects.get(tenant=tenant)
    assert order.quantity == 1 and [code.learner for code in order.codes.all()] == [buyer]
    assert order_emails(tenant).count() == 1
    assert flashes(http.get(response["Location"])) == [f"Order {order.number} placed. {order.payment_instructions}"]


def test_a_staff_member_may_buy_seats_too(tenant, course, staff_http):
    response = staff_http.post(buy_url(tenant), {"product_session": course.pk, "quantity": "2"})

    assert response.status_code == 302
    assert SeatOrder.objects.get(tenant=tenant).codes.count() == 2


@pytest.mark.parametrize("quantity", ["0", "5000", "-3", "", "lots"])
def test_a_quantity_out_of_range_is_refused_beside_seats(tenant, course, buyer, quantity):
    before = snapshot(tenant)

    page = signed_in(buyer).post(buy_url(tenant), {"product_session": course.pk, "quantity": quantity})

    assert page.status_code == 200
    assert field_errors(page, "quantity")
    assert snapshot(tenant) == before


def test_buying_seats_whose_total_is_too_large_is_refused_and_never_a_500(tenant, course, buyer):
    ProductSession.objects.filter(pk=course.pk).update(price=Decimal("10000000.00"))
    http = signed_in(buyer)
    http.raise_request_exception = False
    before = snapshot(tenant)

    page = http.post(buy_url(tenant), {"product_session": course.pk, "quantity": "1000"})

    assert page.status_code in (200, 302)
    if page.status_code == 200:
        assert form_errors(page) or field_errors(page, "quantity")
        assert snapshot(tenant) == before
    else:
        assert SeatOrder.objects.get(tenant=tenant).total == Decimal("10000000000.00")


def test_a_session_not_on_sale_cannot_be_bought(tenant, other_tenant, course, buyer):
    ended = ProductSessionFactory(
        tenant=tenant,
        product=course.product,
        starts_on=today(tenant) - timedelta(days=30),
        ends_on=today(tenant) - timedelta(days=5),
    )
    theirs = ProductSessionFactory(tenant=other_tenant)
    before = snapshot(tenant)

    for refused in (ended, theirs):
        page = signed_in(buyer).post(buy_url(tenant), {"product_session": refused.pk, "quantity": "3"})
        assert page.status_code == 200
        assert field_errors(page, "product_session") == [NOT_A_CHOICE]
    assert snapshot(tenant) == before
    assert not SeatOrder.objects.exists()


def test_anonymous_buyers_are_sent_to_sign_in(tenant, course):
    for response in (
        HttpClient().get(buy_url(tenant)),
        HttpClient().post(buy_url(tenant), {"product_session": course.pk, "quantity": "3"}),
    ):
        assert response.status_code == 302
        where = urlsplit(response["Location"])
        assert where.path == "/accounts/login/"
        assert parse_qs(where.query)["next"] == [buy_url(tenant)]
    assert not SeatOrder.objects.exists()


# Demo -------------------------------------------------------------------------------------------------------


def test_seed_demo_twice_gives_one_order_of_ten_seats_in_every_state():
    call_command("seed_demo", stdout=StringIO())
    call_command("seed_demo", stdout=StringIO())

    customer = User.objects.get(email="customer@demo.tessera.test")
    learner = User.objects.get(email="learner@demo.tessera.test")
    [order] = SeatOrder.objects.filter(buyer=customer)
    assert order.quantity == 10 and order.product_session.generates_codes
    counts = seats(tenant=order.tenant, order=order)
    assert sum(counts.values()) == 10
    assert counts[CodeStatus.CLAIMED] > 0 and counts[CodeStatus.INVITED] > 0 and counts[CodeStatus.AVAILABLE] > 0
    assert_conserved(order)
    assert CourseAccess.objects.filter(code__order=order, revoked_at__isnull=False).count() == 1
    assert LearnerInvite.objects.filter(code__order=order).count() == counts[CodeStatus.INVITED]
    assert CourseAccess.objects.filter(learner=learner, code__order=order, revoked_at__isnull=True).count() == 1
    assert customer.check_password("demo-customer-pass") and learner.check_password("demo-learner-pass")
