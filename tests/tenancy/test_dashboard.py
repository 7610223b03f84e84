"""The dashboard home (issue 10): the figures staff look at first, as the page shows them, from real rows
made through the services, next to another tenant's rows that must not count; the empty states of a new
workspace; and a query count that does not grow with the number of contracts, sessions and packages.
"""

import html
import re
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from contracts.models import ContractStatus
from invitations.models import Redemption
from packages_credits.models import ClientPackage, Credit
from packages_credits.services import client_package_add, client_package_cancel, package_save
from regcodes.services import NewLearner, learners_assign
from tenancy.models import Role
from tenancy.urlresolvers import tenant_reverse

from ..conftest import member, signed_in
from ..factories import (
    BookingFactory,
    ClientFactory,
    CodeFactory,
    ContractFactory,
    PriceFactory,
    ProductSessionFactory,
    ServiceFactory,
    SessionFactory,
    UserFactory,
    seat_invite,
    seat_order,
    session_invite,
    session_register,
)

pytestmark = pytest.mark.django_db

ZONE = "America/New_York"  # UTC−5 in winter: 02:00 UTC is still the day before there


def home(http, tenant):
    response = http.get(tenant_reverse(tenant, "tenancy:home"))
    assert response.status_code == 200
    return response.content.decode()


def text(fragment: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def section(page: str, title_id: str) -> str:
    """The card headed by ``title_id``, as text."""
    match = re.search(rf'<section class="card[^"]*" aria-labelledby="{title_id}">(.*?)</section>', page, re.S)
    assert match, f"no card {title_id}"
    return match[1]


def figure(page: str, figure_id: str) -> tuple[str, str]:
    """A headline figure: (its text, where it links)."""
    match = re.search(rf'<a class="stat[^"]*" href="([^"]+)" id="{figure_id}">(.*?)</a>', page, re.S)
    assert match, f"no figure {figure_id}"
    return text(match[2]), html.unescape(match[1])


def rows(fragment: str) -> list[list[str]]:
    return [
        [text(cell) for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        for row in re.findall(r"<tr>(.*?)</tr>", fragment, re.S)
        if "<td" in row
    ]


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=ZoneInfo("UTC"))


def codes(contract, n, **fields):
    price = PriceFactory(contract=contract)
    return [CodeFactory(price=price, **fields) for _ in range(n)]


def redeem(code, at, *, released=False):
    Redemption.objects.create(
        tenant=code.tenant,
        code=code,
        booking=BookingFactory(tenant=code.tenant),
        email="p@example.com",
        redeemed_at=at,
        released_at=at + timedelta(hours=1) if released else None,
    )


def held_package(client, package, *, used=0, expires_on=None):
    """Give ``client`` the package; ``used`` credits of its first service taken."""
    tenant = client.tenant
    held = client_package_add(
        tenant=tenant,
        client=client,
        package=package,
        price=package.price,
        expires_on=expires_on or timezone.localdate(timezone=tenant.zone) + timedelta(days=90),
    )
    if used:
        Credit.objects.filter(pk=held.credits.order_by("id").first().pk).update(used=used)
    return held


def define(tenant, name, items):
    return package_save(tenant=tenant, items=items, name=name, price=Decimal("100.00"), validity_days=90)


@pytest.fixture
def now(tenant):
    tenant.time_zone = ZONE
    tenant.save()
    return timezone.now()


def test_the_home_shows_each_figure_from_this_workspace_only(tenant, other_tenant, owner_http, now):
    today = timezone.localdate(now, timezone=ZoneInfo(ZONE))

    # Contracts: two open ones, one ended by status, one past its last day.
    big = ContractFactory(tenant=tenant, name="Hospital staff", organisation__name="City Hospital")
    small = ContractFactory(tenant=tenant, name="Interns", organisation__name="University")
    ended = ContractFactory(tenant=tenant, name="Old deal", status=ContractStatus.ENDED)
    lapsed = ContractFactory(tenant=tenant, name="Lapsed", ends_on=today - timedelta(days=1))
    a, b, c, d, e = codes(big, 5)
    codes(big, 2, status="void")  # not issued
    multi = CodeFactory(price=a.price, max_uses=3)  # one code redeemed twice is one redeemed code
    redeem(a, now - timedelta(days=2))
    redeem(b, now - timedelta(days=40))  # redeemed, but before the chart's 30 days
    redeem(c, now - timedelta(days=1), released=True)  # booking cancelled: not redeemed
    redeem(multi, now - timedelta(hours=3))
    redeem(multi, now - timedelta(hours=2))
    codes(small, 2)
    for closed in (ended, lapsed):
        redeem(codes(closed, 3)[0], now - timedelta(hours=5))  # in the chart, not in the contract figures
    theirs = ContractFactory(tenant=other_tenant, name="Globex deal")
    for code in codes(theirs, 9):
        redeem(code, now - timedelta(hours=1))

    # Sessions: two in the next 14 days, one later, one over; another tenant's.
    soon = SessionFactory(tenant=tenant, title="First aid", capacity=5, starts_at=now + timedelta(days=2))
    session_register(soon)
    session_register(soon)
    session_invite(soon, "held@example.com")  # a pending invitation holds a place
    full = SessionFactory(tenant=tenant, title="CPR refresher", capacity=1, starts_at=now + timedelta(days=5))
    session_register(full)
    SessionFactory(tenant=tenant, title="Far away", starts_at=now + timedelta(days=20))
    SessionFactory(tenant=tenant, title="Done", starts_at=now - timedelta(days=3))
    SessionFactory(tenant=other_tenant, title="Globex session", starts_at=now + timedelta(days=1))

    # Seats: 5 + 3 bought, 2 used by learners, 1 offered by an invitation.
    run = ProductSessionFactory(tenant=tenant)
    order = seat_order(run, UserFactory(), quantity=5)
    learners_assign(
        tenant=tenant, order=order, learners=[NewLearner("l1@example.com"), NewLearner("l2@example.com")], actor=None
    )
    seat_invite(order, "l3@example.com")
    seat_order(run, UserFactory(), quantity=3)
    seat_order(ProductSessionFactory(tenant=other_tenant), UserFactory(), quantity=7)

    # Package credits: 10 yoga + 5 pilates; held by two clients, one soon ending; cancelled and expired don't count.
    yoga, pilates = ServiceFactory(tenant=tenant, name="Yoga"), ServiceFactory(tenant=tenant, name="Pilates")
    ten = define(tenant, "Ten yoga", [(yoga, 10), (pilates, 5)])
    five = define(tenant, "Five pilates", [(pilates, 5)])
    held_package(ClientFactory(tenant=tenant), ten, used=4)  # 6 + 5 left
    held_package(ClientFactory(tenant=tenant), ten, expires_on=today + timedelta(days=10))  # 15, ending soon
    held_package(ClientFactory(tenant=tenant), five, used=5)  # used up: nothing left
    cancelled = held_package(ClientFactory(tenant=tenant), five)
    client_package_cancel(tenant=tenant, client_package=cancelled, reason="moved away", actor=None)
    expired = held_package(ClientFactory(tenant=tenant), five)
    ClientPackage.objects.filter(pk=expired.pk).update(expires_on=today - timedelta(days=1))
    other_yoga = ServiceFactory(tenant=other_tenant)
    held_package(ClientFactory(tenant=other_tenant), define(other_tenant, "Globex pack", [(other_yoga, 50)]))

    page = home(owner_http, tenant)

    assert figure(page, "figure-codes") == (
        "3 / 8 Codes redeemed / issued on open contracts",
        tenant_reverse(tenant, "analytics:contracts"),
    )
    contracts = section(page, "contracts-title")
    assert rows(contracts) == [
        ["Hospital staff City Hospital", "6", "3", "50%"],  # 5 + the multi-use code; a, b and multi redeemed
        ["Interns University", "2", "0", "0%"],
    ]
    assert tenant_reverse(tenant, "analytics:contract", contract_id=big.pk) in contracts
    assert "See all 2 open contracts in Analytics" in text(contracts)

    assert figure(page, "figure-sessions") == (
        "67% Places taken, next 14 days",
        tenant_reverse(tenant, "sessions:list"),
    )
    sessions = section(page, "sessions-title")
    assert "4 of 6 places taken or held in 2 sessions." in text(sessions)
    assert [[r[0], r[2]] for r in rows(sessions)] == [["First aid", "3 / 5"], ["CPR refresher", "1 / 1 Full"]]
    assert tenant_reverse(tenant, "sessions:roster", session_id=soon.pk) in sessions
    when = timezone.localtime(soon.starts_at, ZoneInfo(ZONE))
    assert rows(sessions)[0][1] == f"{when:%a} {when.day} {when:%b, %H:%M}"  # in the workspace's time zone

    assert figure(page, "figure-seats") == ("2 / 8 Seats used / bought", tenant_reverse(tenant, "courses:orders"))
    seats = text(section(page, "seats-title"))
    assert "2 of 8 seats used (25%)" in seats
    assert "1 more seat is offered to a learner by an invitation not yet accepted." in seats

    assert figure(page, "figure-credits") == ("26 Package credits outstanding", tenant_reverse(tenant, "packages:list"))
    credits = section(page, "credits-title")
    assert "26 credits clients can still use; 15 of them in packages whose last day is within 30 days." in text(credits)
    assert rows(credits) == [["Ten yoga", "2", "26", "15"]]

    chart = section(page, "chart-title")
    bars = dict(rows(chart)[i] for i in range(30))
    assert len(rows(chart)) == 30 and sum(int(n) for n in bars.values()) == 5
    assert "5 bookings made with an invitation code" in text(chart) and "<svg" in chart
    assert len(re.findall(r'<rect class="bar"', chart)) == 30


def test_the_chart_counts_each_day_in_the_workspace_time_zone(tenant, owner_http, now):
    zone = ZoneInfo(ZONE)
    today = timezone.localdate(now, timezone=zone)
    code = codes(ContractFactory(tenant=tenant), 1, max_uses=10)[0]
    yesterday_late = datetime.combine(today - timedelta(days=1), datetime.min.time(), tzinfo=zone) + timedelta(
        hours=23, minutes=30
    )  # the next day in UTC
    redeem(code, yesterday_late)
    redeem(code, yesterday_late - timedelta(hours=1))
    redeem(code, datetime.combine(today - timedelta(days=29), datetime.min.time(), tzinfo=zone))  # first bar
    redeem(code, datetime.combine(today - timedelta(days=30), datetime.min.time(), tzinfo=zone) + timedelta(hours=23))
    chart = section(home(owner_http, tenant), "chart-title")
    table = rows(chart)
    label = lambda day: f"{day:%B} {day.day}"  # noqa: E731 - English month-and-day, as the page writes it
    assert table[0] == [label(today - timedelta(days=29)), "1"]
    assert table[-2] == [label(today - timedelta(days=1)), "2"]
    assert table[-1] == [label(today), "0"]
    assert "the busiest day has 2" in text(chart)
    assert f"<title>{label(today - timedelta(days=1))}: 2</title>" in chart
    # The bars stand inside the drawing, on one baseline, as tall as their numbers.
    box_height = float(re.search(r'viewBox="0 0 720 ([\d.]+)"', chart)[1])
    drawn = r'<rect class="bar" x="[\d.]+" y="([\d.]+)" width="[\d.]+" height="([\d.]+)"[^>]*><title>[^<]*: (\d+)<'
    bars = [(float(y), float(h), int(n)) for y, h, n in re.findall(drawn, chart)]
    assert len(bars) == 30 and box_height == 180
    assert len({round(y + h, 2) for y, h, _ in bars}) == 1 and all(0 <= y and y + h < box_height for y, h, _ in bars)
    one, two = next(h for _, h, n in bars if n == 1), next(h for _, h, n in bars if n == 2)
    assert one > 0 and two == pytest.approx(2 * one)


def test_a_workspace_in_german_gets_german_days_and_a_chart_that_still_draws(tenant, owner_http, now):
    tenant.language = "de"
    tenant.save()
    today = timezone.localdate(now, timezone=ZoneInfo(ZONE))
    code = codes(ContractFactory(tenant=tenant), 1, max_uses=5)[0]
    for hours in (1, 2, 3):
        redeem(code, now - timedelta(hours=hours))
    chart = section(home(owner_http, tenant), "chart-title")
    german = ["Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober",
              "November", "Dezember"][today.month - 1]  # fmt: skip
    assert rows(chart)[-1][0] == f"{today.day}. {german}"
    drawing = re.search(r"<svg.*?</svg>", chart, re.S)[0]
    numbers = re.findall(r'\s(?:x|y|height|x1|x2|y1|y2)="([^"]*)"', drawing)
    assert numbers and all(re.fullmatch(r"-?\d+(\.\d+)?", n) for n in numbers), "a localised number in the SVG"


def test_a_new_workspace_says_what_to_do_next(tenant, owner_http):
    page = home(owner_http, tenant)
    expected = {
        "contracts-title": ("No open contracts", tenant_reverse(tenant, "contracts:organisation_create")),
        "sessions-title": ("No sessions coming up", tenant_reverse(tenant, "sessions:create")),
        "seats-title": ("No seats bought yet", tenant_reverse(tenant, "courses:order_create")),
        "credits-title": ("No credits outstanding", tenant_reverse(tenant, "clients:list")),
        "chart-title": ("No codes redeemed in this time", tenant_reverse(tenant, "contracts:organisations")),
    }
    for card, (title, link) in expected.items():
        body = section(page, card)
        assert f'<p class="empty-title">{title}</p>' in body, card
        assert f'<a class="button" href="{link}">' in body, card
        assert "<table" not in body and "<svg" not in body, card
    assert figure(page, "figure-codes")[0].startswith("0 / 0")
    assert figure(page, "figure-sessions")[0].startswith("—")


def test_staff_see_the_home_with_links_they_may_follow(tenant):
    staff = signed_in(member(tenant, Role.STAFF))
    page = home(staff, tenant)
    assert tenant_reverse(tenant, "sessions:create") not in page
    assert tenant_reverse(tenant, "contracts:organisation_create") not in page
    sessions = section(page, "sessions-title")
    assert "An admin or owner adds sessions" in text(sessions)
    assert f'<a class="button" href="{tenant_reverse(tenant, "sessions:list")}">' in sessions


def _workspace(tenant, n, now, first=0):
    """``n`` open contracts with codes, sessions with registrations, packages held, seat orders."""
    service = ServiceFactory(tenant=tenant)
    run = ProductSessionFactory(tenant=tenant)
    for i in range(first, first + n):
        contract = ContractFactory(tenant=tenant)
        for code in codes(contract, 2):
            redeem(code, now - timedelta(days=i))
        session = SessionFactory(tenant=tenant, starts_at=now + timedelta(days=1 + i % 10))
        session_register(session)
        held_package(ClientFactory(tenant=tenant), define(tenant, f"Pack {i}", [(service, 3)]), used=1)
        seat_order(run, UserFactory(), quantity=2)


def test_the_number_of_queries_does_not_grow_with_the_workspace(tenant, owner_http, now):
    def queries():
        with CaptureQueriesContext(connection) as captured:
            home(owner_http, tenant)
        return len(captured.captured_queries)

    _workspace(tenant, 1, now)
    few = queries()
    _workspace(tenant, 12, now, first=1)
    many = queries()
    page = home(owner_http, tenant)
    assert "See all 13 open contracts in Analytics" in text(section(page, "contracts-title"))
    assert figure(page, "figure-credits")[0].startswith("26 ")  # 13 packages, 2 credits left each
    assert few == many
    # The tenant, the session, the user, the membership, the workspace switcher's memberships; then
    # contracts (their codes, their redemptions, their names); clients, members, the outbox (counts
    # and latest), sessions, seats, credits and the chart: one each.
    assert many == 16, many


@pytest.mark.parametrize("day", [date(2026, 3, 8)])  # US daylight saving starts: a 23-hour day
def test_a_short_day_is_still_one_bar(tenant, day):
    from tenancy.dashboard import redemptions_by_day

    tenant.time_zone = ZONE
    code = codes(ContractFactory(tenant=tenant), 1, max_uses=5)[0]
    redeem(code, utc(2026, 3, 8, 4, 30))  # 23:30 on 7 March in New York
    redeem(code, utc(2026, 3, 9, 3, 30))  # 23:30 on 8 March (EDT, UTC−4)
    series = redemptions_by_day(tenant=tenant, today=day, days=3)
    assert [(bar.start, bar.count) for bar in series.bars] == [
        (date(2026, 3, 6), 0),
        (date(2026, 3, 7), 1),
        (date(2026, 3, 8), 1),
    ]
