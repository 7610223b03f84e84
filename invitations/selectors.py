"""Reads of invitation codes, batches and redemptions. Every function takes the tenant.

The codes list is built for contracts of hundreds of thousands of codes: it pages by key
(``tenancy.pagination``), its counts stop at a cap, and its search reads indexes only
(``code_search``); the indexes behind each are named in ``InvitationCode.Meta``.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db.models import Aggregate, Case, Count, Exists, JSONField, OuterRef, Q, QuerySet, Subquery, Value, When
from django.db.models.functions import JSONObject
from django.http import Http404
from django.utils import timezone

from bookings.selectors import OfferedSlot, offered_slots, slot_offer
from contracts.models import Contract
from contracts.selectors import participants_search
from tenancy.models import Tenant
from tenancy.pagination import Total, capped_count

from . import codes
from .models import CodeBatch, CodeSend, CodeStatus, InvitationCode, Redemption, ShownStatus


def status_filter(status: str, now=None) -> Q:
    """The rows whose shown status is ``status`` (see ``InvitationCode.shown_status``)."""
    now = now or timezone.now()
    live = Q(status=CodeStatus.ACTIVE)
    not_expired = Q(valid_until__isnull=True) | Q(valid_until__gt=now)
    started = Q(valid_from__isnull=True) | Q(valid_from__lte=now)
    return {
        ShownStatus.ACTIVE: live & not_expired & started,
        ShownStatus.NOT_YET_VALID: live & not_expired & ~started,
        ShownStatus.EXPIRED: live & Q(valid_until__lte=now),
        ShownStatus.USED_UP: Q(status=CodeStatus.USED_UP),
        ShownStatus.VOID: Q(status=CodeStatus.VOID),
    }[ShownStatus(status)]


PARTICIPANTS_SEARCHED = 5_000


def looks_like_code(query: str) -> bool:
    """Only code symbols, and a digit typed: no name or email address looks like that, so such a
    search skips the participants (whose names can only be searched by reading them all)."""
    return codes.is_well_formed(codes.normalise(query)) and any(char.isdigit() for char in query)


def code_text_starts(*, contract: Contract, text: str) -> Q:
    """Codes whose text starts with ``text`` (normalised), with or without the contract's prefix:
    what the unique (tenant, code) index answers. The codes list's search and the API's filter."""
    return Q(code__startswith=text) | Q(code__startswith=contract.invitation_prefix + text)


def code_search(*, tenant: Tenant, contract: Contract, query: str) -> list[Q]:
    """What a search finds, as alternatives (a code is found when it matches one): codes whose text
    starts with what was typed (loosely: case, spaces, hyphens, look-alikes; with or without the
    contract's prefix), and codes whose participant's name, email or phone contains every word (of
    the first 5,000 such participants by name: a broader search than that is narrowed by typing more).

    Text is matched from its start because that is what the unique (tenant, code) index
    (``varchar_pattern_ops``) answers without reading the contract's codes; people quote a code whole
    or from its beginning. The alternatives are queried apart and merged (``keyset_page`` takes a
    list): as one condition, "text OR participant" is answered by neither index, and PostgreSQL
    checks it row by row along the whole list."""
    text = codes.normalise(query)
    found = []
    if codes.is_well_formed(text):
        found.append(code_text_starts(contract=contract, text=text))
    if not looks_like_code(query):
        # Capped, so PostgreSQL finds the participants first and then their codes, whatever it
        # guesses of how many names match (a guess of "many" had it walk every code of the list).
        people = participants_search(tenant=tenant, contract=contract, query=query).values("pk")
        found.append(Q(participant__in=people[:PARTICIPANTS_SEARCHED]))
    return found


def codes_for_contract(
    *,
    tenant: Tenant,
    contract: Contract,
    status: str = "",
    price_id: int | None = None,
    assigned: str = "",
    query: str = "",
) -> list[QuerySet[InvitationCode]]:
    """The contract's codes, newest first, as one or more querysets whose rows together are the list
    (see ``code_search``); page them with ``keyset_page(order=("-id",))``."""
    rows = InvitationCode.objects.filter(tenant=tenant, contract=contract)
    if status:
        rows = rows.filter(status_filter(status))
    if price_id:
        rows = rows.filter(price_id=price_id)
    if assigned == "yes":
        rows = rows.filter(participant__isnull=False)
    elif assigned == "no":
        rows = rows.filter(participant__isnull=True)
    rows = (
        rows.select_related("price__service", "participant", "contract")
        .annotate(
            has_redemptions=Exists(Redemption.objects.filter(code=OuterRef("pk"))),
            # The latest send, read through (code, sent_at) for the page's rows only.
            sent_to=Subquery(
                CodeSend.objects.filter(code=OuterRef("pk")).order_by("-sent_at", "-id").values("recipient")[:1]
            ),
        )
        .order_by("-id")
    )
    if not query.strip():
        return [rows]
    return [rows.filter(condition) for condition in code_search(tenant=tenant, contract=contract, query=query)]


def code_get(*, tenant: Tenant, contract: Contract, code_id: int) -> InvitationCode:
    code = (
        InvitationCode.objects.filter(tenant=tenant, contract=contract, pk=code_id)
        .select_related("price__service", "participant", "contract", "batch")
        .first()
    )
    if code is None:
        raise Http404("No such code.")
    return code


def code_by_text(*, tenant: Tenant, canonical: str) -> InvitationCode | None:
    return (
        InvitationCode.objects.filter(tenant=tenant, code=canonical)
        .select_related("price__service", "participant", "contract__organisation")
        .first()
    )


def code_counts(*, tenant: Tenant, contract: Contract) -> dict[str, int]:
    """Exact counts by shown status, in one pass over the contract's codes."""
    now = timezone.now()
    rows = InvitationCode.objects.filter(tenant=tenant, contract=contract)
    return rows.aggregate(**{status.value: Count("pk", filter=status_filter(status, now)) for status in ShownStatus})


def code_totals(*, tenant: Tenant, contract: Contract) -> dict[str, Total]:
    """Counts by shown status for the list's tiles, each read from an index and stopped at the cap
    ("more than 10,000"): exact counts of a large contract would read all of its codes."""
    now = timezone.now()
    rows = InvitationCode.objects.filter(tenant=tenant, contract=contract)
    return {status.value: capped_count(rows.filter(status_filter(status, now))) for status in ShownStatus}


def batch_get(*, tenant: Tenant, contract: Contract, batch_id: int) -> CodeBatch:
    batch = CodeBatch.objects.filter(tenant=tenant, contract=contract, pk=batch_id).select_related("price").first()
    if batch is None:
        raise Http404("No such batch.")
    return batch


def redemptions_for_contract(*, tenant: Tenant, contract: Contract) -> QuerySet[Redemption]:
    return (
        Redemption.objects.filter(tenant=tenant, code__contract=contract)
        .select_related("booking__service", "code__contract", "code__price")
        .order_by("-redeemed_at")
    )


def redemptions_of_code(*, tenant: Tenant, code: InvitationCode) -> QuerySet[Redemption]:
    return Redemption.objects.filter(tenant=tenant, code=code).select_related("booking__service")


class _JSONList(Aggregate):
    """The group's values as one JSON array (PostgreSQL ``jsonb_agg``, SQLite ``json_group_array``)."""

    function = "JSONB_AGG"
    output_field = JSONField()

    def as_sqlite(self, compiler, connection, **extra_context):
        return super().as_sql(compiler, connection, function="JSON_GROUP_ARRAY", **extra_context)


def shown_status_case(now=None) -> Case:
    """``InvitationCode.shown_status`` as SQL (from ``status_filter``, so the rule is written once)."""
    now = now or timezone.now()
    return Case(*(When(status_filter(status, now), then=Value(status.value)) for status in ShownStatus))


def with_codes(participants: QuerySet, *, tenant: Tenant) -> QuerySet:
    """``participants`` with ``code_items``: their codes as a JSON list, made by a subquery in the
    same SELECT, so a page of participants and their codes is one query however many it shows."""
    items = (
        InvitationCode.objects.filter(tenant=tenant, participant=OuterRef("pk"))
        .order_by()
        .values("participant")
        .annotate(
            items=_JSONList(
                JSONObject(id="id", code="code", price_code="price__price_code", status=shown_status_case())
            )
        )
        .values("items")
    )
    return participants.annotate(code_items=Subquery(items))


@dataclass(frozen=True)
class ListedCode:
    pk: int
    shown: str
    price_code: str
    status: str

    @property
    def status_label(self) -> str:
        return str(ShownStatus(self.status).label)


def listed_codes(items: list[dict] | None, *, contract: Contract) -> list[ListedCode]:
    """The ``code_items`` of ``with_codes`` as the page shows them, oldest code first."""
    return [
        ListedCode(
            item["id"], codes.display(item["code"], contract.invitation_prefix), item["price_code"], item["status"]
        )
        for item in sorted(items or [], key=lambda item: item["id"])
    ]


def sends_of_code(*, tenant: Tenant, code: InvitationCode) -> list[CodeSend]:
    """The code's sends, newest first, each with ``outbox``: its outbox row (or None), in two queries."""
    from messaging.models import OutboundEmail

    sends = list(CodeSend.objects.filter(tenant=tenant, code=code).select_related("sent_by"))
    rows = OutboundEmail.objects.filter(tenant=tenant, pk__in=[s.outbox_id for s in sends if s.outbox_id]).only(
        "pk", "status", "attempts", "last_error", "sent_at", "channel"
    )
    by_id = {row.pk: row for row in rows}
    for send in sends:
        send.outbox = by_id.get(send.outbox_id)
    return sends


def send_get(*, tenant: Tenant, code: InvitationCode, send_id) -> CodeSend:
    send = CodeSend.objects.filter(tenant=tenant, code=code, pk=send_id).first() if send_id else None
    if send is None:
        raise Http404("No such send of this code.")
    return send


def sent_codes(*, tenant: Tenant, contract: Contract, code_ids: list[int]) -> QuerySet[InvitationCode]:
    """The selected codes as the send page lists them, each with ``sent_to`` (its latest send)."""
    return (
        InvitationCode.objects.filter(tenant=tenant, contract=contract, pk__in=code_ids)
        .select_related("price__service", "contract")
        .annotate(
            sent_to=Subquery(
                CodeSend.objects.filter(code=OuterRef("pk")).order_by("-sent_at", "-id").values("recipient")[:1]
            )
        )
        .order_by("id")
    )


def send_imports(*, tenant: Tenant, contract: Contract):
    """The contract's recent bulk sends (imports of the ``invitations.code_sends`` kind)."""
    from imports.models import ImportJob

    return (
        ImportJob.objects.filter(tenant=tenant, kind="invitations.code_sends", params__contract=contract.pk)
        .defer("content", "problems")
        .select_related("created_by")
        .order_by("-created_at", "-id")
    )


# The times a code may book: the booking page's rule, and the API's ----------------------------------


def code_booking_days(*, tenant: Tenant, code: InvitationCode, asked: date | None = None) -> tuple[date, date]:
    """The first and last day a code may book: from today (or the contract's start, or the day
    ``asked``) to the contract's end, the code's validity and the booking horizon."""
    zone = tenant.zone
    today = timezone.localdate(timezone=zone)
    first = max(today, code.contract.starts_on)
    horizon = today + timedelta(days=settings.BOOKING_HORIZON_DAYS)
    first = min(max(first, asked or first), horizon)  # a day far away is brought back within reach
    last = code.contract.ends_on
    last = min(last, horizon) if last else horizon
    if code.valid_until:
        until = timezone.localtime(code.valid_until, zone).date()
        last = min(last, until)
    return first, last


def _not_before(code: InvitationCode) -> datetime:
    now = timezone.now()
    return max(now, code.valid_from) if code.valid_from else now


def code_times(*, tenant: Tenant, service, code: InvitationCode, first: date, days: int) -> list[OfferedSlot]:
    """The service's times on ``days`` days from ``first`` that the code may book (in the tenant's zone)."""
    return offered_slots(tenant=tenant, service=service, first_day=first, days=days, not_before=_not_before(code))


def code_time_offered(
    *, tenant: Tenant, service, code: InvitationCode, first: date, days: int, chosen: str
) -> OfferedSlot | None:
    """The time picked, if it is one of ``code_times`` (``chosen`` exactly as ISO 8601 in the
    tenant's zone, as the page's buttons send it); only that day's slots are computed."""
    try:
        starts_at = datetime.fromisoformat(chosen)
        if starts_at.tzinfo is None:
            return None
        day = starts_at.astimezone(tenant.zone).date()  # year 1 or 9999 in another zone: OverflowError
    except (ValueError, OverflowError):
        return None
    if not first <= day < first + timedelta(days=days):
        return None  # only the days offered are worked out, so no far date reaches the calendar
    offer = slot_offer(tenant=tenant, service=service, starts_at=starts_at)
    if offer is None or offer.starts_at.isoformat() != chosen:
        return None
    if not first <= offer.starts_at.date() < first + timedelta(days=days) or offer.starts_at <= _not_before(code):
        return None
    return offer


def code_prefill(code: InvitationCode) -> dict:
    """The booking details the code's participant gives (none for an unassigned code)."""
    person = code.participant
    if person is None:
        return {}
    return {
        "first_name": person.first_name,
        "last_name": person.last_name,
        "email": person.email,
        "phone": person.phone,
        "date_of_birth": person.date_of_birth,
    }
