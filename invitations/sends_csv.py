"""Sending a contract's codes to a list of people: an ``imports`` kind, so a pasted list or a CSV is
checked row by row (problems by row and column, nothing sent) and sent once, on "Complete Import".

Columns: ``recipient`` (an email address or a phone number with its country code), ``name``
(optional, used in the greeting) and ``codes`` (how many codes this person gets, 1 when empty). The
codes are the ones selected on the codes list (``params["code_ids"]``) or, without a selection,
the contract's unassigned, unsent, usable codes, oldest first (invitations/sending.py).
"""

import csv
import io
from collections import Counter
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop

from accounts.models import normalize_email
from contracts.participants_csv import contract_of_import
from contracts.selectors import contract_get
from imports.parsing import Problem, header_name
from imports.registry import Check, ImportKind
from messaging.sms import phone_normalise
from tenancy.urlresolvers import tenant_reverse

from .models import CodeSend, SendChannel
from .sending import (
    MAX_CODES,
    MAX_RECIPIENTS,
    TOO_MANY_CODES,
    TOO_MANY_RECIPIENTS,
    SendRow,
    codes_send,
    max_codes_per_message,
    refuse_closed_contract,
    selected_codes,
    sendable,
    unassigned_codes,
    unsent,
)

KIND = "invitations.code_sends"
COLUMNS = ("recipient", "name", "codes")
REQUIRED = ("recipient",)
NAME_MAX = 200

RECIPIENT_EMPTY = gettext_noop("This cell is empty: write an email address or a phone number.")
EMAIL_INVALID = gettext_noop("“{text}” is not a valid email address.")
NAME_TOO_LONG = f"Longer than {NAME_MAX} characters."
COUNT_NOT_A_NUMBER = gettext_noop("“{text}” is not a number of codes (write 1, 2, 3 …; empty means 1).")
COUNT_ZERO = gettext_noop("Zero codes: every recipient gets at least one. Remove the row instead.")
COUNT_TOO_MANY = gettext_noop("{count:,} codes is more than one {channel} may carry ({limit:,}).")
DUPLICATE = gettext_noop(
    "Row {row} already sends codes to this recipient: give them one row, with the number of codes."
)
NOT_ENOUGH = gettext_noop(
    "Not enough codes: the rows before this one take {used:,} of the {available:,} available, and this row "
    "asks for {count:,} more."
)
NONE_SELECTED_LEFT = gettext_noop("Code {code} is {status}: it cannot be sent. Leave it out of the selection.")
SELECTION_GONE = gettext_noop("Some selected codes no longer exist. Select the codes again.")
ALREADY_SENT = gettext_noop(
    "Code {code} was already sent (to {recipient}). To send it again, use Resend on the code's page."
)


@dataclass
class Reading:
    problems: list[Problem] = field(default_factory=list)
    sends: list[SendRow] = field(default_factory=list)


def _cell(row, name) -> str:
    return (row.get(name) or "").strip()


def recipient_of(text: str) -> tuple[str, str]:
    """``(channel, normalised recipient)``: an address has an @, anything else must be a phone
    number. Raises ``ValidationError`` with the message for the page."""
    if "@" in text:
        address = normalize_email(text)
        if len(address) > 254:
            raise ValidationError(_(EMAIL_INVALID).format(text=text[:100]))
        try:
            validate_email(address)
        except ValidationError:
            raise ValidationError(_(EMAIL_INVALID).format(text=text[:100])) from None
        return SendChannel.EMAIL.value, address
    return SendChannel.SMS.value, phone_normalise(text)


def _read(rows: list[dict]) -> Reading:
    reading = Reading()
    first_row: dict[str, int] = {}
    for row in rows:
        number = row["_row"]

        def problem(column, message, number=number):
            reading.problems.append(Problem(number, column, message))

        before = len(reading.problems)
        text = _cell(row, "recipient")
        channel = recipient = ""
        if not text:
            problem("recipient", _(RECIPIENT_EMPTY))
        else:
            try:
                channel, recipient = recipient_of(text)
            except ValidationError as exc:
                problem("recipient", exc.messages[0])
        name = " ".join(_cell(row, "name").split())
        if len(name) > NAME_MAX:
            problem("name", NAME_TOO_LONG)
        count = _count(_cell(row, "codes"), channel, problem)
        if len(reading.problems) > before:
            continue
        if recipient in first_row:
            problem("recipient", _(DUPLICATE).format(row=first_row[recipient]))
            continue
        first_row[recipient] = number
        reading.sends.append(SendRow(number, channel, recipient, name, count))
    return reading


def _count(text: str, channel: str, problem) -> int:
    if not text:
        return 1
    if not (text.isascii() and text.isdigit()) or len(text) > 9:
        problem("codes", _(COUNT_NOT_A_NUMBER).format(text=text[:40]))
        return 0
    count = int(text)
    if count == 0:
        problem("codes", _(COUNT_ZERO))
    elif channel and count > (limit := max_codes_per_message(channel)):
        word = "SMS" if channel == SendChannel.SMS else "email"
        problem("codes", _(COUNT_TOO_MANY).format(count=count, channel=word, limit=limit))
    return count


def _selection_problems(tenant, contract, code_ids: list[int]) -> tuple[list[Problem], int]:
    """Problems of the selected codes themselves (gone, unusable, already sent); how many can go."""
    chosen = selected_codes(tenant=tenant, contract=contract, code_ids=code_ids)
    codes = list(chosen.select_related("contract"))
    problems = []
    if len(codes) != len(set(code_ids)):
        problems.append(Problem(None, None, _(SELECTION_GONE)))
    usable = set(chosen.filter(sendable()).values_list("pk", flat=True))
    unsent_ids = set(chosen.filter(unsent()).values_list("pk", flat=True))
    last_sent = {}
    if len(unsent_ids) < len(codes):
        for code_id, recipient in (
            CodeSend.objects.filter(tenant=tenant, code_id__in=[c.pk for c in codes])
            .order_by("sent_at")
            .values_list("code_id", "recipient")
        ):
            last_sent[code_id] = recipient
    for code in codes:
        if code.pk not in usable:
            problems.append(
                Problem(
                    None, None, _(NONE_SELECTED_LEFT).format(code=code.shown, status=code.shown_status_label.lower())
                )
            )
        elif code.pk not in unsent_ids:
            problems.append(Problem(None, None, _(ALREADY_SENT).format(code=code.shown, recipient=last_sent[code.pk])))
    return problems, len(usable & unsent_ids)


def check(*, tenant, params, rows, progress=None) -> Check:
    contract = contract_get(tenant=tenant, contract_id=params["contract"])
    reading = _read(rows)
    problems = list(reading.problems)
    asked = sum(send.count for send in reading.sends)
    if len(rows) > MAX_RECIPIENTS:
        problems.append(Problem(None, None, TOO_MANY_RECIPIENTS.format(limit=MAX_RECIPIENTS)))
    if asked > MAX_CODES:
        problems.append(Problem(None, "codes", TOO_MANY_CODES.format(limit=MAX_CODES, asked=asked)))
    try:
        refuse_closed_contract(tenant=tenant, contract=contract)
    except ValidationError as exc:
        problems.append(Problem(None, None, exc.messages[0]))
    code_ids = params.get("code_ids")
    if code_ids is not None:
        selection, available = _selection_problems(tenant, contract, code_ids)
        problems += selection
    else:
        # Counted up to what is asked: a contract may hold far more unsent codes than that.
        available = unassigned_codes(tenant=tenant, contract=contract).values("pk")[: asked + 1].count()
    used = 0
    for send in reading.sends:
        if used + send.count > available:
            problems.append(
                Problem(send.row, "codes", _(NOT_ENOUGH).format(used=used, available=available, count=send.count))
            )
            break
        used += send.count
    counts = Counter(send.channel for send in reading.sends)
    plan = {
        "recipients": len(reading.sends),
        "by email": counts[SendChannel.EMAIL],
        "by SMS": counts[SendChannel.SMS],
        "codes to send": asked,
    }
    if code_ids is not None:
        plan["codes selected"] = len(code_ids)
    return Check(problems, plan, reading)


def commit(*, tenant, params, rows, actor, checked: Check | None = None, progress=lambda fraction: None) -> dict:
    contract = contract_get(tenant=tenant, contract_id=params["contract"])
    reading = checked.state if checked is not None else _read(rows)
    progress(0.2)
    return codes_send(
        tenant=tenant,
        contract=contract,
        sends=reading.sends,
        code_ids=params.get("code_ids"),
        actor=actor,
        key=params["key"],
    )


def pasted_as_csv(text: str) -> bytes:
    """A pasted list, one recipient per line (``recipient[, name[, codes]]``, separated by tabs,
    semicolons or commas: each line's own), as the CSV file the import takes. Line n of the paste is
    row n + 1 of the file (the header is row 1), so the problems name the lines as pasted; a pasted
    header line is kept as the header instead."""
    out = io.StringIO()
    writer = csv.writer(out)
    rows = [_pasted_cells(line) for line in text.splitlines()]
    if rows and rows[0] and header_name(rows[0][0]) == "recipient":
        writer.writerow([header_name(cell) for cell in rows.pop(0)])
    else:
        writer.writerow(COLUMNS)
    for cells in rows:
        writer.writerow(cells + [""] * (len(COLUMNS) - len(cells)))
    return out.getvalue().encode()


def _pasted_cells(line: str) -> list[str]:
    delimiter = "\t" if "\t" in line else ";" if ";" in line else ","
    try:
        cells = next(csv.reader([line], delimiter=delimiter), [])
    except csv.Error:  # a stray quote: the line as one cell, which the check then names
        cells = [line]
    return [cell.strip() for cell in cells]


def _back_url(*, tenant, params):
    return tenant_reverse(tenant, "invitations:codes", contract_id=params["contract"])


CODE_SENDS_IMPORT = ImportKind(
    key=KIND,
    label=gettext_lazy("Codes to send"),
    columns=COLUMNS,
    required=REQUIRED,
    check=check,
    commit=commit,
    target=contract_of_import,
    back_url=_back_url,
    example="recipient,name,codes\nana@example.com,Ana Lima,2\n+44 7700 900123,Sam Jones,1\n",
)
