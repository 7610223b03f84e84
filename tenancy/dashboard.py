"""The figures of a workspace's dashboard home, read from the other apps' tables.

Each figure is one grouped query whatever the number of contracts, sessions, orders or packages, so
the home page costs the same for a workspace with three contracts as for one with three thousand
(tests/tenancy/test_dashboard.py pins the count). Lists show the first few rows and the totals over
all of them (window functions over the same query), with a link to the page that lists everything.

The definitions match the pages the figures link to: codes issued and redeemed as on the Analytics
contracts table (void codes are not issued; a code is redeemed while it has a booking that was not
cancelled), a session's places taken as on the Sessions list (pending invitations and open waitlist
offers hold a place), seats used as on Seat orders (claimed registration codes), package credits that
the booking pages would still apply (active package, not past its last day).
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import Case, Count, F, IntegerField, Q, Sum, When, Window
from django.db.models.functions import Coalesce, Lower, TruncDate
from django.utils import formats, timezone

from analytics.selectors import Bar, Series
from contracts.models import Contract, ContractStatus
from invitations.models import CodeStatus, InvitationCode, Redemption
from packages_credits.models import ClientPackageStatus, Credit
from regcodes.models import CodeStatus as SeatCodeStatus
from regcodes.models import RegistrationCode
from sessions_roster.models import Session

from .models import Tenant

TOP_CONTRACTS = 5
NEXT_SESSIONS = 6
SESSION_DAYS = 14
CHART_DAYS = 30
CHART_HEIGHT = 180  # of the chart's 720-wide view box: lower than on the Analytics pages
EXPIRING_DAYS = 30


def _percent(part: int, whole: int) -> int | None:
    return round(100 * part / whole) if whole else None


@dataclass(frozen=True)
class ContractFigures:
    pk: int
    name: str
    organisation: str
    issued: int
    redeemed: int

    @property
    def rate(self) -> int | None:
        return _percent(self.redeemed, self.issued)


@dataclass(frozen=True)
class OpenContracts:
    top: list[ContractFigures]  # the open contracts with the most codes issued
    count: int  # every open contract
    issued: int  # over every open contract
    redeemed: int

    @property
    def rate(self) -> int | None:
        return _percent(self.redeemed, self.issued)

    @property
    def more(self) -> int:
        return self.count - len(self.top)


def contracts_open(*, tenant: Tenant, today: date, limit: int = TOP_CONTRACTS) -> OpenContracts:
    """Open contracts (active, not ended: the booking page's rule) by codes issued, most first: three
    queries whatever the number of contracts.

    The codes of every open contract counted in one pass, their live redemptions in another, then the
    first ``limit`` contracts named (topped up with contracts that have no codes yet) with the number
    of open contracts. Counting per contract in correlated subqueries instead took minutes on 200,000
    codes; one pass joining codes to redemptions with COUNT(DISTINCT) took 0.35–1 s.
    """
    open_contracts = Contract.objects.filter(tenant=tenant, status=ContractStatus.ACTIVE).filter(
        Q(ends_on__isnull=True) | Q(ends_on__gte=today)
    )
    codes = InvitationCode.objects.filter(tenant=tenant, contract__in=open_contracts.values("pk")).exclude(
        status=CodeStatus.VOID
    )
    issued = dict(codes.values_list("contract").annotate(n=Count("pk")).order_by())
    # A code is redeemed while it has a live redemption; a multi-use code counts once.
    redeemed = dict(
        Redemption.objects.filter(tenant=tenant, released_at__isnull=True, code__in=codes)
        .values_list("code__contract")
        .annotate(n=Count("code", distinct=True))
        .order_by()
    )
    counted = {pk: (n, redeemed.get(pk, 0)) for pk, n in issued.items()}
    top_ids = sorted(counted, key=lambda pk: (-counted[pk][0], pk))[:limit]
    rows = list(
        open_contracts.annotate(
            rank=Case(When(pk__in=top_ids, then=0), default=1, output_field=IntegerField()),
            open_count=Window(Count("pk")),
        )
        .order_by("rank", Lower("organisation__name"), Lower("name"), "pk")
        .values("pk", "name", "organisation__name", "open_count")[:limit]
    )
    top = [ContractFigures(r["pk"], r["name"], r["organisation__name"], *counted.get(r["pk"], (0, 0))) for r in rows]
    top.sort(key=lambda c: -c.issued)  # stable: names in order within the same number
    total = rows[0]["open_count"] if rows else 0
    return OpenContracts(top, total, sum(issued.values()), sum(redeemed.values()))


@dataclass(frozen=True)
class SessionFigures:
    pk: int
    title: str
    starts_at: datetime
    taken: int
    capacity: int

    @property
    def rate(self) -> int:
        return _percent(self.taken, self.capacity) or 0

    @property
    def is_full(self) -> bool:
        return self.taken >= self.capacity


@dataclass(frozen=True)
class UpcomingSessions:
    next: list[SessionFigures]
    count: int  # every session in the window
    taken: int
    capacity: int
    days: int

    @property
    def rate(self) -> int | None:
        return _percent(self.taken, self.capacity)

    @property
    def more(self) -> int:
        return self.count - len(self.next)


def sessions_upcoming(*, tenant: Tenant, now: datetime, days: int = SESSION_DAYS, limit: int = NEXT_SESSIONS):
    """Sessions not over yet that start within ``days``, soonest first, and their totals: one query.

    "Taken" is the session's spot counter: registrations, pending invitations and open waitlist
    offers, as the Sessions list shows it.
    """
    rows = (
        Session.objects.filter(tenant=tenant, ends_at__gt=now, starts_at__lt=now + timedelta(days=days))
        .annotate(
            window_count=Window(Count("pk")),
            window_taken=Window(Sum("spots_taken")),
            window_capacity=Window(Sum("capacity")),
        )
        .order_by("starts_at", "pk")
        .values(
            "pk", "title", "starts_at", "spots_taken", "capacity", "window_count", "window_taken", "window_capacity"
        )
    )[:limit]
    rows = list(rows)
    if not rows:
        return UpcomingSessions([], 0, 0, 0, days)
    first = rows[0]
    return UpcomingSessions(
        [SessionFigures(r["pk"], r["title"], r["starts_at"], r["spots_taken"], r["capacity"]) for r in rows],
        first["window_count"],
        first["window_taken"],
        first["window_capacity"],
        days,
    )


@dataclass(frozen=True)
class Seats:
    bought: int
    used: int
    invited: int

    @property
    def rate(self) -> int | None:
        return _percent(self.used, self.bought)


def seats_used(*, tenant: Tenant) -> Seats:
    """Seats of every seat order: bought (one registration code each), used (claimed by a learner) and
    offered to a learner by a pending invitation: one query."""
    totals = RegistrationCode.objects.filter(tenant=tenant).aggregate(
        bought=Count("pk"),
        used=Count("pk", filter=Q(status=SeatCodeStatus.CLAIMED)),
        invited=Count("pk", filter=Q(status=SeatCodeStatus.INVITED)),
    )
    return Seats(totals["bought"], totals["used"], totals["invited"])


@dataclass(frozen=True)
class PackageCredits:
    name: str
    remaining: int
    expiring: int  # of ``remaining``, in packages whose last day is within EXPIRING_DAYS
    holders: int  # client packages with credits left


@dataclass(frozen=True)
class CreditsOutstanding:
    packages: list[PackageCredits]
    expiring_days: int

    @property
    def remaining(self) -> int:
        return sum(p.remaining for p in self.packages)

    @property
    def expiring(self) -> int:
        return sum(p.expiring for p in self.packages)


def credits_outstanding(*, tenant: Tenant, today: date, expiring_days: int = EXPIRING_DAYS) -> CreditsOutstanding:
    """Credits clients can still use (active package, not past its last day), by package: one query."""
    left = F("total") - F("used")
    rows = (
        Credit.objects.filter(
            tenant=tenant,
            client_package__status=ClientPackageStatus.ACTIVE,
            client_package__expires_on__gte=today,
            used__lt=F("total"),
        )
        .values("client_package__package_id", "client_package__package__name")
        .annotate(
            remaining=Sum(left),
            expiring=Coalesce(
                Sum(left, filter=Q(client_package__expires_on__lt=today + timedelta(days=expiring_days))), 0
            ),
            holders=Count("client_package", distinct=True),
        )
        .order_by("-remaining", "client_package__package__name", "client_package__package_id")
    )
    return CreditsOutstanding(
        [PackageCredits(r["client_package__package__name"], r["remaining"], r["expiring"], r["holders"]) for r in rows],
        expiring_days,
    )


def redemptions_by_day(*, tenant: Tenant, today: date, days: int = CHART_DAYS) -> Series:
    """Bookings made with an invitation code on each of the last ``days`` local days (today included),
    in the tenant's time zone; cancelled ones (their use given back) are not counted. One query.

    The bars are labelled in the active language's month-and-day format.
    """
    zone = tenant.zone
    first = today - timedelta(days=days - 1)
    per_day = dict(
        Redemption.objects.filter(
            tenant=tenant,
            released_at__isnull=True,
            redeemed_at__gte=datetime.combine(first, time.min, tzinfo=zone),
            redeemed_at__lt=datetime.combine(today + timedelta(days=1), time.min, tzinfo=zone),
        )
        .annotate(day=TruncDate("redeemed_at", tzinfo=zone))
        .order_by()
        .values_list("day")
        .annotate(n=Count("pk"))
    )
    bars = []
    for offset in range(days):
        day = first + timedelta(days=offset)
        bars.append(Bar(day, formats.date_format(day, "MONTH_DAY_FORMAT"), per_day.get(day, 0)))
    return Series("day", bars)


def local_now(tenant: Tenant) -> tuple[datetime, date]:
    now = timezone.now()
    return now, timezone.localdate(now, timezone=tenant.zone)
