"""The participants CSV of a contract: download, fill in price codes, upload again.

The columns and cell conversions are a django-import-export resource, used both ways. Checking an
upload loads the contract's participants, prices and codes in a few queries and checks every row in
memory (no query per row); committing writes set-based: one bulk update, one bulk insert, and codes
inserted in chunks (docs/decisions.md, "Imports").
"""

import re
from dataclasses import dataclass, field
from datetime import date
from types import SimpleNamespace

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils import timezone
from django.utils.translation import gettext_lazy
from import_export import fields, resources
from import_export.widgets import DateWidget

from accounts.models import normalize_email
from imports.parsing import Problem
from imports.registry import Check, ImportKind
from invitations import codes as code_text
from invitations.models import CodeStatus, InvitationCode
from invitations.services import codes_for_participants, pairs_with_live_codes
from tenancy.urlresolvers import tenant_reverse

from .models import EventKind, Participant
from .selectors import contract_get, prices_of
from .services import PARTICIPANT_DETAILS, event_record, participants_insert, participants_update

KIND = "contracts.participants"
PHONE = re.compile(r"^\+?[0-9 ()\-.]{6,40}$")


class DayWidget(DateWidget):
    """Dates as spreadsheets write them: 2024-03-31, 31-03-2024, 31.03.2024 or 31/03/2024."""

    def __init__(self):
        super().__init__(format="%Y-%m-%d")
        self.formats = ("%Y-%m-%d", "%d-%m-%Y", "%d.%m.%Y", "%d/%m/%Y")


class ParticipantResource(resources.Resource):
    participant_id = fields.Field(attribute="participant_id", column_name="participant_id")
    first_name = fields.Field(attribute="first_name", column_name="first_name")
    last_name = fields.Field(attribute="last_name", column_name="last_name")
    email = fields.Field(attribute="email", column_name="email")
    phone = fields.Field(attribute="phone", column_name="phone")
    date_of_birth = fields.Field(attribute="date_of_birth", column_name="date_of_birth", widget=DayWidget())
    price_code = fields.Field(attribute="price_code", column_name="price_code")
    invitation_code = fields.Field(attribute="invitation_code", column_name="invitation_code")

    class Meta:
        fields = (
            "participant_id",
            "first_name",
            "last_name",
            "email",
            "phone",
            "date_of_birth",
            "price_code",
            "invitation_code",
        )


RESOURCE = ParticipantResource()
COLUMNS = tuple(RESOURCE.get_export_headers())
REQUIRED = ("first_name", "last_name", "email", "price_code")


# Download -----------------------------------------------------------------------------------------


def export_rows(*, tenant, contract):
    """One row per participant and code (a participant without a code gets one row), in chunks:
    two queries per 2,000 participants whatever the contract's size."""
    participants = Participant.objects.filter(tenant=tenant, contract=contract).order_by(
        "last_name", "first_name", "id"
    )
    export_fields = RESOURCE.get_export_fields()
    chunk: list[Participant] = []
    for participant in participants.iterator(chunk_size=2000):
        chunk.append(participant)
        if len(chunk) == 2000:
            yield from _chunk_rows(tenant, contract, chunk, export_fields)
            chunk = []
    yield from _chunk_rows(tenant, contract, chunk, export_fields)


def _chunk_rows(tenant, contract, chunk, export_fields):
    if not chunk:
        return
    by_participant: dict[int, list[InvitationCode]] = {}
    live = InvitationCode.objects.filter(tenant=tenant, participant_id__in=[p.pk for p in chunk]).exclude(
        status=CodeStatus.VOID
    )
    for code in live.select_related("price").order_by("id"):
        by_participant.setdefault(code.participant_id, []).append(code)
    for participant in chunk:
        for code in by_participant.get(participant.pk) or [None]:
            row = SimpleNamespace(
                participant_id=participant.pk,
                first_name=participant.first_name,
                last_name=participant.last_name,
                email=participant.email,
                phone=participant.phone,
                date_of_birth=participant.date_of_birth,
                price_code=code.price.price_code if code else "",
                invitation_code=code_text.display(code.code, contract.invitation_prefix) if code else "",
            )
            yield [RESOURCE.export_field(f, row) for f in export_fields]


# Upload -------------------------------------------------------------------------------------------


DETAILS = PARTICIPANT_DETAILS


@dataclass
class Reading:
    """What a file would do, worked out without writing anything: plain tuples of the details
    (``DETAILS``), no model instances, so checking 50,000 rows stays cheap."""

    problems: list[Problem] = field(default_factory=list)
    create: dict[tuple, tuple] = field(default_factory=dict)  # new participants' details by identity
    update: dict[int, tuple] = field(default_factory=dict)  # changed participants' new details by id
    pairs: set[tuple[tuple, int]] = field(default_factory=set)  # (participant identity, price id) wanting a code


def _cell(row, name) -> str:
    return (row.get(name) or "").strip()


def _read(*, tenant, contract, rows, progress=None) -> Reading:
    reading = Reading()
    prices = {price.price_code: price for price in prices_of(tenant=tenant, contract=contract)}
    existing = {
        row[0]: row[1:]
        for row in Participant.objects.filter(tenant=tenant, contract=contract).values_list("pk", *DETAILS)
    }
    email_owner = {details[2].lower(): pk for pk, details in existing.items() if details[2]}
    today = timezone.localdate()
    first_row_of: dict[tuple, int] = {}
    details_of: dict[tuple, tuple] = {}
    claimed: dict[str, tuple] = {}  # email -> (identity, row) of the first row in the file using it
    for index, row in enumerate(rows):
        if progress and index % 2000 == 0:
            progress(index / len(rows))
        number, before = row["_row"], len(reading.problems)
        problem = _reporter(reading, number)
        values = _values(row, problem, prices, today)
        participant_id = _participant_id(row, existing, problem)
        if len(reading.problems) > before:
            continue
        email = values["email"]
        owner = email_owner.get(email) if email else None
        if participant_id is None and owner:
            participant_id = owner  # a row without an id is matched to the participant with its email
        if owner and owner != participant_id:
            problem("email", f"Participant {owner} of this contract already has this email address.")
            continue
        identity = (
            ("id", participant_id)
            if participant_id
            else ("new", email or (values["first_name"].lower(), values["last_name"].lower(), values["date_of_birth"]))
        )
        if email and claimed.setdefault(email, (identity, number))[0] != identity:
            problem("email", f"Row {claimed[email][1]} gives this email address to another participant.")
            continue
        details = tuple(values[k] for k in DETAILS)
        price = prices.get(values["price_code"])
        key = (identity, price.pk if price else None)
        if key in first_row_of:
            problem(None, f"Duplicate of row {first_row_of[key]}: the same participant and price code.")
            continue
        if identity in details_of and details_of[identity][1] != details:
            problem(None, f"Row {details_of[identity][0]} gives other details for this participant.")
            continue
        first_row_of[key] = number
        details_of.setdefault(identity, (number, details))
        _plan_row(reading, identity, existing, details, price)
    return reading


def _reporter(reading: Reading, number: int):
    def problem(column, message):
        reading.problems.append(Problem(number, column, message))

    return problem


def _values(row, problem, prices, today: date) -> dict:
    values = {name: _cell(row, name) for name in ("first_name", "last_name", "phone")}
    for name in ("first_name", "last_name"):
        if not values[name]:
            problem(name, "This cell is empty; every participant needs a first and last name.")
        elif len(values[name]) > 150:
            problem(name, "Longer than 150 characters.")
    values["email"] = normalize_email(_cell(row, "email"))
    if len(values["email"]) > 254:
        problem("email", "Longer than 254 characters.")
    elif values["email"]:
        try:
            validate_email(values["email"])
        except ValidationError:
            problem("email", f"“{values['email']}” is not a valid email address.")
    if values["phone"] and not PHONE.match(values["phone"]):
        problem("phone", f"“{values['phone']}” is not a phone number (digits, spaces and + ( ) - only).")
    values["date_of_birth"] = _date_of_birth(row, problem, today)
    values["price_code"] = _cell(row, "price_code").upper()
    if values["price_code"] and values["price_code"] not in prices:
        known = ", ".join(sorted(prices)) or "none yet — add prices first"
        problem("price_code", f"Unknown price code “{values['price_code']}”. This contract has: {known}.")
    return values


ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _date_of_birth(row, problem, today: date) -> date | None:
    text = _cell(row, "date_of_birth")
    if not text:
        return None
    try:
        # The common spelling without strptime (a tenth of the time); the widget reads the others.
        day = date.fromisoformat(text) if ISO_DAY.match(text) else RESOURCE.fields["date_of_birth"].widget.clean(text)
    except ValueError:
        problem("date_of_birth", f"“{text}” is not a date. Write it as 2001-12-31 (or 31-12-2001).")
        return None
    if not date(1900, 1, 1) <= day <= today:
        problem("date_of_birth", f"“{text}” is not a plausible date of birth.")
        return None
    return day


def _participant_id(row, existing, problem) -> int | None:
    text = _cell(row, "participant_id")
    if not text:
        return None
    if not (text.isascii() and text.isdigit()) or len(text) > 18:
        problem("participant_id", f"“{text}” is not a participant id. Leave it empty for a new participant.")
        return None
    if int(text) not in existing:
        problem("participant_id", f"No participant {text} in this contract. Leave it empty for a new participant.")
        return None
    return int(text)


def _plan_row(reading: Reading, identity: tuple, existing: dict, details: tuple, price) -> None:
    if identity[0] == "id":
        if existing[identity[1]] != details:
            reading.update[identity[1]] = details
    elif identity not in reading.create:
        reading.create[identity] = details
    if price is not None:
        reading.pairs.add((identity, price.pk))


def _existing_pairs(tenant, contract, reading) -> set[tuple[tuple, int]]:
    ids = {identity[1] for identity, _ in reading.pairs if identity[0] == "id"}
    return {
        (("id", pid), price_id)
        for pid, price_id in pairs_with_live_codes(tenant=tenant, contract=contract, participant_ids=ids)
    }


def check(*, tenant, params, rows, progress=None) -> Check:
    contract = contract_get(tenant=tenant, contract_id=params["contract"])
    reading = _read(tenant=tenant, contract=contract, rows=rows, progress=progress)
    wanted = reading.pairs - _existing_pairs(tenant, contract, reading)
    plan = {
        "participants to add": len(reading.create),
        "participants to update": len(reading.update),
        "invitation codes to generate": len(wanted),
        "rows": len(rows),
    }
    return Check(reading.problems, plan, reading)


def commit(*, tenant, params, rows, actor, checked: Check | None = None, progress=lambda fraction: None) -> dict:
    """Write what the reading planned. ``checked`` is the check just made in this transaction (its
    reading is reused); without it the rows are read again."""
    contract = contract_get(tenant=tenant, contract_id=params["contract"])
    reading = checked.state if checked is not None else _read(tenant=tenant, contract=contract, rows=rows)
    progress(0.1)
    participants_update(tenant=tenant, contract=contract, details=reading.update)
    progress(0.3)
    created = participants_insert(tenant=tenant, contract=contract, details=list(reading.create.values()))
    progress(0.6)
    ids = dict(zip(reading.create, created, strict=True))
    wanted = {(ids.get(identity) or identity[1], price_id) for identity, price_id in reading.pairs}
    made = codes_for_participants(
        tenant=tenant,
        contract=contract,
        wanted=wanted,
        width=code_text.DEFAULT_WIDTH,
        actor=actor,
        new_participant_ids=set(created),
    )
    summary = {
        "participants added": len(created),
        "participants updated": len(reading.update),
        "invitation codes generated": made,
    }
    event_record(
        tenant=tenant,
        contract=contract,
        kind=EventKind.IMPORT_COMMITTED,
        actor=actor,
        summary=f"Participants CSV imported: {len(created)} added, {len(reading.update)} updated, "
        f"{made} codes generated.",
        data=summary,
    )
    return summary


def contract_of_import(*, tenant, params):
    """The contract an import of a contract's rows is for (``params["contract"]``): its ``target``."""
    return contract_get(tenant=tenant, contract_id=params.get("contract"))


def _back_url(*, tenant, params):
    return tenant_reverse(tenant, "contracts:participants", contract_id=params["contract"])


PARTICIPANTS_IMPORT = ImportKind(
    key=KIND,
    label=gettext_lazy("Participants"),
    columns=COLUMNS,
    required=REQUIRED,
    check=check,
    commit=commit,
    target=contract_of_import,
    back_url=_back_url,
)
