"""Figures per contract, session, product and campaign tag, read from the other apps' tables.

Every figure comes from SQL aggregation over the *items* of a dimension (invitation codes, session
invitations, registration codes), one row each with its group and the times that matter (first send,
first redemption): a table is one GROUP BY query over them, plus one for the groups' names, whatever
the number of items or groups; a group's series is one more. The items are a raw join for codes
(built for a million of them, see ``CodeDimension``) and an ORM queryset's SQL for the others; every
part of them filters by the tenant. The median time from sending to redemption is
``percentile_cont(0.5)`` on PostgreSQL; SQLite (the embedded default for development) has no such
aggregate, so there one more query reads the pairs of times and the median is taken in Python.

A period filters the *cohort*: the items issued in it (local days in the tenant's time zone), with
their sends and redemptions whenever they happened.
"""

import statistics
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from datetime import timezone as dt_timezone
from zoneinfo import ZoneInfo

from django.db import connection
from django.db.models import Case, DateTimeField, F, OuterRef, QuerySet, Subquery, When
from django.http import Http404
from django.utils import dateformat
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from contracts.models import Contract
from invitations.models import CodeSend, CodeStatus, InvitationCode, Redemption
from regcodes.models import CodeStatus as SeatCodeStatus
from regcodes.models import LearnerInvite, Product, RegistrationCode
from sessions_roster.models import InvitationStatus, Session, SessionInvitation

# Beyond these spans a chart groups by week, then by month, so it never has hundreds of bars.
DAILY_UP_TO_DAYS = 92
WEEKLY_UP_TO_DAYS = 3 * 366


@dataclass(frozen=True)
class Period:
    """Local days ``first``..``last`` (both included, either open) in ``zone``."""

    first: date | None = None
    last: date | None = None
    zone: ZoneInfo = ZoneInfo("UTC")

    @property
    def is_set(self) -> bool:
        return self.first is not None or self.last is not None

    def start(self) -> datetime | None:
        return datetime.combine(self.first, time.min, tzinfo=self.zone) if self.first else None

    def end(self) -> datetime | None:
        """The first moment after the period (exclusive)."""
        return datetime.combine(self.last + timedelta(days=1), time.min, tzinfo=self.zone) if self.last else None


@dataclass
class Figures:
    key: object
    label: str
    detail: object  # the organisation of a contract, the start of a session
    issued: int
    sent: int
    redeemed: int
    median_seconds: float | None
    url: str = ""  # the group's own page, set by the view

    @property
    def rate(self) -> float | None:
        """Redeemed ÷ issued, in percent."""
        return 100 * self.redeemed / self.issued if self.issued else None

    @property
    def rate_text(self) -> str:
        return "—" if self.rate is None else f"{self.rate:.1f}%"

    @property
    def median_hours(self) -> str:
        return "" if self.median_seconds is None else f"{self.median_seconds / 3600:.1f}"

    @property
    def median_text(self) -> str:
        return duration_text(self.median_seconds)


def duration_text(seconds: float | None) -> str:
    """A short human reading: "45 min", "5 h 20 min", "3 d 4 h"; "—" for none."""
    if seconds is None:
        return "—"
    minutes = round(seconds / 60)
    if minutes < 1:
        return "under a minute"
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


# The dimensions. Each gives its items as SQL (``inner``: from an ORM queryset annotated ``grp``,
# ``issued_at``, ``first_sent``, ``first_done``, or written out), the names of its groups, and the
# group a detail URL names.


ALL = object()  # every group


@dataclass(frozen=True)
class Dimension:
    slug: str
    title: str  # the table's heading
    column: str  # the first column's heading
    item: str  # what is counted, plural ("codes")
    definitions: tuple[tuple[str, str], ...]  # (figure, what it counts)

    @property
    def url_name(self) -> str:
        return f"analytics:{self.slug}"

    def items(self, *, tenant, period: Period) -> QuerySet:
        qs = self._items(tenant)
        if period.start():
            qs = qs.filter(issued_at__gte=period.start())
        if period.end():
            qs = qs.filter(issued_at__lt=period.end())
        return qs

    def _items(self, tenant) -> QuerySet:
        raise NotImplementedError

    def inner(self, *, tenant, period: Period, key=ALL) -> tuple[str, list]:
        """SQL (and its parameters) of the items of the cohort, one row each: ``grp``, ``first_sent``,
        ``first_done``; of one group when ``key`` is given."""
        items = self.items(tenant=tenant, period=period)
        if key is not ALL:
            items = items.filter(grp=key)
        sql, params = items.order_by().values("grp", "first_sent", "first_done").query.sql_with_params()
        return sql, list(params)

    def names(self, *, tenant, keys: list) -> dict:
        """``{key: (label, detail, sort key)}`` of the groups ``keys``, in one query."""
        raise NotImplementedError

    def group_get(self, *, tenant, key) -> tuple:
        """``(key, label, detail)`` of the group a URL names, or 404 (another tenant's group looks
        the same as a missing one)."""
        raise NotImplementedError


def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _moment(value: datetime):
    """A time as a raw query's parameter (SQLite stores UTC text)."""
    return connection.ops.adapt_datetimefield_value(value)


class CodeDimension(Dimension):
    """Invitation codes, grouped by ``group_column``.

    Their first sends and first redemptions are each aggregated once per code (GROUP BY code) and
    joined to the codes: on 1,000,000 codes that is a few scans and merge joins, where a lookup per
    code (a correlated subquery) takes several times as long.
    """

    group_column = ""

    def inner(self, *, tenant, period, key=ALL):
        where, params = ["c.tenant_id = %s", "c.status <> %s"], [tenant.pk, CodeStatus.VOID.value]
        if period.start():
            where.append("c.created_at >= %s")
            params.append(_moment(period.start()))
        if period.end():
            where.append("c.created_at < %s")
            params.append(_moment(period.end()))
        if key is not ALL:
            where.append(f"c.{self.group_column} = %s")
            params.append(key)
        sql = (
            f"SELECT c.{self.group_column} AS grp, s.first_sent, r.first_done FROM {_table(InvitationCode)} c "
            f"LEFT JOIN (SELECT code_id, MIN(sent_at) AS first_sent FROM {_table(CodeSend)} "
            "WHERE tenant_id = %s GROUP BY code_id) s ON s.code_id = c.id "
            f"LEFT JOIN (SELECT code_id, MIN(redeemed_at) AS first_done FROM {_table(Redemption)} "
            "WHERE tenant_id = %s AND released_at IS NULL GROUP BY code_id) r ON r.code_id = c.id "
            f"WHERE {' AND '.join(where)}"
        )
        return sql, [tenant.pk, tenant.pk, *params]


CODE_DEFINITIONS = (
    ("Issued", "codes created in the period, not counting void codes."),
    ("Sent", "issued codes sent at least once (email or SMS)."),
    ("Redeemed", "issued codes with at least one booking that was not cancelled."),
    ("Redemption rate", "redeemed ÷ issued."),
    ("Median time", "from a code's first send to its first redemption, over codes sent and then redeemed."),
)
NO_CAMPAIGN = gettext_noop("No campaign")


class ContractDimension(CodeDimension):
    group_column = "contract_id"

    def names(self, *, tenant, keys):
        contracts = Contract.objects.filter(tenant=tenant, pk__in=keys).select_related("organisation")
        return {
            c.pk: (c.name, c.organisation.name, (c.organisation.name.lower(), c.name.lower(), c.pk)) for c in contracts
        }

    def group_get(self, *, tenant, key):
        contract = Contract.objects.filter(tenant=tenant, pk=key).select_related("organisation").first()
        if contract is None:
            raise Http404("No such contract.")
        return contract.pk, contract.name, contract.organisation.name


class CampaignDimension(CodeDimension):
    group_column = "campaign"

    def names(self, *, tenant, keys):
        # No campaign last; the tags in alphabetical order.
        return {key: (key or _(NO_CAMPAIGN), "", (not key, key.lower(), key)) for key in keys}

    def group_get(self, *, tenant, key):
        if key is None or not InvitationCode.objects.filter(tenant=tenant, campaign=key).exists():
            raise Http404("No codes carry this campaign tag.")
        return key, key or _(NO_CAMPAIGN), ""


class SessionDimension(Dimension):
    def _items(self, tenant):
        return SessionInvitation.objects.filter(tenant=tenant).annotate(
            grp=F("session_id"),
            issued_at=F("created_at"),
            # An invitation is emailed when it is made; sent_at is set once its email is queued.
            first_sent=Case(When(sent_at__isnull=False, then=F("created_at")), output_field=DateTimeField()),
            first_done=Case(When(status=InvitationStatus.ACCEPTED, then=F("closed_at")), output_field=DateTimeField()),
        )

    def names(self, *, tenant, keys):
        sessions = Session.objects.filter(tenant=tenant, pk__in=keys)
        return {s.pk: (s.title, s.starts_at, (s.starts_at, s.pk)) for s in sessions}

    def group_get(self, *, tenant, key):
        session = Session.objects.filter(tenant=tenant, pk=key).first()
        if session is None:
            raise Http404("No such session.")
        return session.pk, session.title, session.starts_at


class ProductDimension(Dimension):
    def _items(self, tenant):
        first_invite = LearnerInvite.objects.filter(tenant=tenant, code=OuterRef("pk")).order_by("sent_at")
        return RegistrationCode.objects.filter(tenant=tenant).annotate(
            grp=F("order__product_session__product_id"),
            issued_at=F("created_at"),
            first_sent=Subquery(first_invite.values("sent_at")[:1]),
            # A claimed code holds its learner's course access; removing access clears claimed_at.
            first_done=Case(When(status=SeatCodeStatus.CLAIMED, then=F("claimed_at")), output_field=DateTimeField()),
        )

    def names(self, *, tenant, keys):
        products = Product.objects.filter(tenant=tenant, pk__in=keys)
        return {p.pk: (p.name, "", (p.name.lower(), p.pk)) for p in products}

    def group_get(self, *, tenant, key):
        product = Product.objects.filter(tenant=tenant, pk=key).first()
        if product is None:
            raise Http404("No such product.")
        return product.pk, product.name, ""


DIMENSIONS = {
    "contracts": ContractDimension("contracts", "Contracts", "Contract", "codes", CODE_DEFINITIONS),
    "campaigns": CampaignDimension("campaigns", "Campaigns", "Campaign tag", "codes", CODE_DEFINITIONS),
    "sessions": SessionDimension(
        "sessions",
        "Sessions",
        "Session",
        "invitations",
        (
            ("Issued", "session invitations made in the period, cancelled and expired ones included."),
            ("Sent", "invitations whose email was queued (every invitation is emailed when it is made)."),
            ("Redeemed", "invitations accepted: the person registered through the link."),
            ("Redemption rate", "redeemed ÷ issued."),
            ("Median time", "from the invitation to its acceptance."),
        ),
    ),
    "products": ProductDimension(
        "products",
        "Products",
        "Product",
        "registration codes",
        (
            ("Issued", "registration codes made in the period for seats of the product's sessions."),
            ("Sent", "codes offered to a learner by an email invitation at least once."),
            ("Redeemed", "codes claimed now: a learner holds the seat's course access."),
            ("Redemption rate", "redeemed ÷ issued."),
            ("Median time", "from a code's first invitation to its claim, over codes invited and then claimed."),
        ),
    ),
}


def _postgres() -> bool:
    return connection.vendor == "postgresql"


def _read_moment(value) -> datetime | None:
    """A time from a raw query: aware on PostgreSQL, UTC text on SQLite."""
    if value is None or isinstance(value, datetime):
        return value
    return parse_datetime(value).replace(tzinfo=dt_timezone.utc)


def _grouped(inner: tuple[str, list]) -> dict:
    """``{grp: (issued, sent, redeemed, median seconds)}`` of the items ``inner``: one query.

    A NULL time (never sent, never redeemed) is not counted; the median takes only items redeemed
    at or after their first send.
    """
    sql, params = inner
    median = (
        "percentile_cont(0.5) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM first_done - first_sent))"
        " FILTER (WHERE first_done >= first_sent)"
        if _postgres()
        else "NULL"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT grp, COUNT(*), COUNT(first_sent), COUNT(first_done), {median} FROM ({sql}) items GROUP BY grp",
            params,
        )
        rows = {row[0]: row[1:] for row in cursor.fetchall()}
    if not _postgres():
        medians = _medians(inner)
        rows = {grp: (*row[:3], medians.get(grp)) for grp, row in rows.items()}
    return rows


def _medians(inner: tuple[str, list]) -> dict:
    """SQLite, which has no percentile aggregate: the medians per group from the pairs of times."""
    sql, params = inner
    waits: dict = {}
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT grp, first_sent, first_done FROM ({sql}) items "
            "WHERE first_sent IS NOT NULL AND first_done IS NOT NULL",
            params,
        )
        for grp, sent, done in cursor.fetchall():
            sent, done = _read_moment(sent), _read_moment(done)
            if done >= sent:
                waits.setdefault(grp, []).append((done - sent).total_seconds())
    return {grp: statistics.median(values) for grp, values in waits.items()}


def figures_table(*, tenant, dimension: Dimension, period: Period) -> list[Figures]:
    """One row per group with items issued in ``period``, in the group's order: two queries (the
    figures, then the groups' names) whatever the number of items or groups."""
    grouped = _grouped(dimension.inner(tenant=tenant, period=period))
    names = dimension.names(tenant=tenant, keys=list(grouped))
    rows = [
        (names[grp][2], Figures(grp, names[grp][0], names[grp][1], issued, sent, redeemed, median))
        for grp, (issued, sent, redeemed, median) in grouped.items()
        if grp in names
    ]
    return [figures for _, figures in sorted(rows, key=lambda pair: pair[0])]


def figures_total(rows: list[Figures]) -> Figures | None:
    """The table's sums (a median does not add up: none)."""
    if not rows:
        return None
    issued, sent, redeemed = (sum(getattr(r, name) for r in rows) for name in ("issued", "sent", "redeemed"))
    return Figures(None, "All", "", issued, sent, redeemed, None)


def figures_for(*, tenant, dimension: Dimension, key, period: Period) -> Figures:
    """One group's figures (zeros when it has no items in the period); 404 for a group not the tenant's."""
    key, label, detail = dimension.group_get(tenant=tenant, key=key)
    grouped = _grouped(dimension.inner(tenant=tenant, period=period, key=key))
    issued, sent, redeemed, median = grouped.get(key, (0, 0, 0, None))
    return Figures(key, label, detail, issued, sent, redeemed, median)


@dataclass(frozen=True)
class Bar:
    start: date
    label: str
    count: int


@dataclass(frozen=True)
class Series:
    unit: str  # "day", "week" or "month"
    bars: list[Bar]

    @property
    def total(self) -> int:
        return sum(bar.count for bar in self.bars)

    @property
    def peak(self) -> int:
        return max((bar.count for bar in self.bars), default=0)

    @property
    def unit_heading(self) -> str:
        return {"day": "Day", "week": "Week starting", "month": "Month"}[self.unit]


def _unit_for(first: date, last: date) -> str:
    span = (last - first).days
    if span <= DAILY_UP_TO_DAYS:
        return "day"
    return "week" if span <= WEEKLY_UP_TO_DAYS else "month"


def _bucket_start(day: date, unit: str) -> date:
    if unit == "week":
        return day - timedelta(days=day.weekday())
    if unit == "month":
        return day.replace(day=1)
    return day


def _next_bucket(day: date, unit: str) -> date:
    if unit == "day":
        return day + timedelta(days=1)
    if unit == "week":
        return day + timedelta(days=7)
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


def _bucket_label(day: date, unit: str) -> str:
    return dateformat.format(day, "M Y") if unit == "month" else day.isoformat()


def _per_day(inner: tuple[str, list], zone: ZoneInfo) -> Counter:
    """Redeemed items by the local day of their redemption: one query."""
    sql, params = inner
    with connection.cursor() as cursor:
        if _postgres():
            cursor.execute(
                f"SELECT (first_done AT TIME ZONE %s)::date, COUNT(*) FROM ({sql}) items "
                "WHERE first_done IS NOT NULL GROUP BY 1",
                [zone.key, *params],
            )
            return Counter(dict(cursor.fetchall()))
        cursor.execute(f"SELECT first_done FROM ({sql}) items WHERE first_done IS NOT NULL", params)
        return Counter(_read_moment(done).astimezone(zone).date() for (done,) in cursor.fetchall())


def redemptions_series(*, tenant, dimension: Dimension, key, period: Period, today: date) -> Series:
    """Redeemed items of one group's cohort by the local day (week, month) of their redemption.

    The bars run from the period's first day (else the first redemption) to the last redemption or
    the period's last day, whichever is later (never past today); days without any show as zero.
    One query: the counts per day, which are added up by week or month when the span calls for it.
    """
    per_day = _per_day(dimension.inner(tenant=tenant, period=period, key=key), period.zone)
    if not per_day:
        return Series("day", [])
    first = min(filter(None, [period.first, min(per_day)]))
    last = max(filter(None, [max(per_day), min(period.last, today) if period.last else None]))
    unit = _unit_for(first, last)
    counts = Counter()
    for day, n in per_day.items():
        counts[_bucket_start(day, unit)] += n
    bars = []
    day = _bucket_start(first, unit)
    while day <= last:
        bars.append(Bar(day, _bucket_label(day, unit), counts[day]))
        day = _next_bucket(day, unit)
    return Series(unit, bars)
