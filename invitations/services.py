"""Writes of invitation codes: generating them (in bulk and one by one), editing, voiding,
deleting, marking them shown, and redeeming one for a booking.

The rules that keep codes honest under concurrency are written down in docs/concurrency.md.
"""

from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Case, F, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, ngettext

from bookings.models import Booking, Service
from bookings.services import BookingDetails, booking_create
from contracts.models import Contract, ContractPrice, ContractStatus, EventKind, Participant
from contracts.services import event_record
from tenancy.events import publish
from tenancy.localization import when
from tenancy.models import Tenant
from tenancy.tasks import enqueue_on_commit

from . import codes
from .models import BatchStatus, CodeBatch, CodeStatus, InvitationCode, Redemption, ShownStatus

CHUNK = 20_000
MAX_EMPTY_ROUNDS = 20

ALREADY_HAS_CODE = gettext_noop("{name} already has a code for price {price}.")
COULD_NOT_DRAW = gettext_noop("No free code could be drawn at this width. Choose a wider code.")
CODE_TEXT_LOCKED = gettext_noop("The code text cannot change: the code was already shown, sent or used.")
CODE_TEXT_TAKEN = gettext_noop("Another code already has this text.")
CODE_TEXT_INVALID = gettext_noop(
    "Start with the contract's prefix {prefix}, then 6 to 20 letters and digits (no I, L, O or U)."
)
CHANGED_MEANWHILE = gettext_noop("Someone changed this code at the same moment. Reload the page and try again.")
MAX_USES_BELOW_USES = gettext_noop("The code was used {uses} times already; allow at least that many uses.")
CODE_IN_USE = gettext_noop("This code was used, so it cannot be deleted. Void it instead.")
ALREADY_VOID = gettext_noop("This code is already void.")
PRICE_LOCKED = gettext_noop("The price of a used code cannot change.")

# Messages of the public booking page, one per reason a code cannot be used.
CODE_MISTYPED = gettext_noop(
    "That does not look like one of our codes. Codes have letters and digits only — check for typos."
)
CODE_UNKNOWN = gettext_noop("We do not know this code. Check it against your invitation.")
CODE_NOT_YET_VALID = gettext_noop("This code can be used from {date}.")
CODE_EXPIRED = gettext_noop("This code expired on {date}.")
CODE_USED_UP = gettext_noop("This code has already been used.")
CODE_VOID = gettext_noop("This code has been cancelled. Please ask whoever gave it to you.")
CODE_CONTRACT_CLOSED = gettext_noop("This code can no longer be used: its agreement has ended.")
CODE_SERVICE_PAUSED = gettext_noop(
    "What this code is for cannot be booked at the moment. Please ask whoever gave it to you."
)
ALREADY_BOOKED = gettext_noop("You have already booked this time with this code; the confirmation is in your email.")
CODE_WRONG_DOMAIN = gettext_noop("This code is for email addresses at {domain}. Please use your {domain} address.")
TOO_MANY_ATTEMPTS = gettext_noop(
    "Too many codes that did not work were tried from your connection. Please try again in {minutes}."
)


def too_many_attempts(minutes: int) -> str:
    return _(TOO_MANY_ATTEMPTS).format(
        minutes=ngettext("{count} minute", "{count} minutes", minutes).format(count=minutes)
    )


class CodeRefused(Exception):
    """A code that cannot be used now; ``str(exc)`` is the message for the page."""


@dataclass(frozen=True)
class CodeTerms:
    max_uses: int = 1
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    restricted_domain: str = ""
    campaign: str = ""


# Generating ---------------------------------------------------------------------------------------


def code_batch_create(
    *, tenant: Tenant, contract: Contract, price: ContractPrice, quantity: int, width: int, terms: CodeTerms, actor
) -> CodeBatch:
    """Record the request and generate the codes in a task after commit (progress on the batch)."""
    from .tasks import run_code_batch

    with transaction.atomic():
        batch = CodeBatch.objects.create(
            tenant=tenant,
            contract=contract,
            price=price,
            quantity=quantity,
            width=width,
            max_uses=terms.max_uses,
            valid_from=terms.valid_from,
            valid_until=terms.valid_until,
            restricted_domain=terms.restricted_domain,
            campaign=terms.campaign,
            created_by=actor,
        )
        # Who asked, in the audit trail now: the codes are made later by a task, whose line
        # (contract.codes_generated) can name only a person, not an API key.
        publish(
            tenant=tenant,
            name="code_batch.created",
            obj=batch,
            actor=actor,
            summary=f"{quantity:,} codes of {contract.name} requested at price {price.price_code}"
            f"{f', campaign {terms.campaign}' if terms.campaign else ''}.",
            payload={"batch": batch.pk, "contract_id": contract.pk, "quantity": quantity, "width": width},
        )
        enqueue_on_commit(run_code_batch, tenant_id=tenant.pk, batch_id=batch.pk)
    return batch


def code_batch_run(*, tenant: Tenant, batch_id: int) -> CodeBatch:
    """Top the batch up to its quantity, committing each chunk so the progress bar moves.

    Idempotent: ``created_count`` is written in the same transaction as each chunk's codes, under a
    lock on the batch row, so a task delivered twice, or run again after a worker died, continues
    from what was committed and never makes more than ``quantity`` codes.
    """
    batches = CodeBatch.objects.filter(tenant=tenant, pk=batch_id)
    if not batches.filter(status__in=[BatchStatus.QUEUED, BatchStatus.RUNNING]).update(status=BatchStatus.RUNNING):
        return batches.get()
    batch = batches.select_related("contract", "price").get()
    empty_rounds = 0
    while True:
        with transaction.atomic():
            # Two runs of the same batch (a redelivered task, a resume) take turns on this lock.
            made = batches.select_for_update().values_list("created_count", flat=True).get()
            if made >= batch.quantity:
                break
            # The contract row too, read fresh: a prefix change waits for this chunk, or this
            # chunk uses the new prefix (contract_save takes the same lock).
            prefix = (
                Contract.objects.select_for_update()
                .filter(pk=batch.contract_id)
                .values_list("invitation_prefix", flat=True)
                .get()
            )
            wanted = min(CHUNK, batch.quantity - made)
            bodies = codes.draw(wanted, batch.width)
            inserted = _insert_codes(
                tenant=tenant,
                contract=batch.contract,
                codes=[prefix + body for body in bodies],
                price_ids=batch.price_id,
                terms=_terms_of(batch),
                batch=batch,
            )
            batches.update(created_count=made + inserted)
        empty_rounds = 0 if inserted else empty_rounds + 1
        if empty_rounds >= MAX_EMPTY_ROUNDS:
            batches.update(status=BatchStatus.FAILED, error=_(COULD_NOT_DRAW), finished_at=timezone.now())
            return batches.get()
    with transaction.atomic():
        if batches.filter(status=BatchStatus.RUNNING).update(status=BatchStatus.DONE, finished_at=timezone.now()):
            event_record(
                tenant=tenant,
                contract=batch.contract,
                kind=EventKind.CODES_GENERATED,
                actor=batch.created_by,
                summary=f"{batch.quantity:,} codes generated at price {batch.price.price_code}, "
                f"{batch.width} characters after the prefix.",
                data={"batch": batch.pk, "quantity": batch.quantity, "width": batch.width},
            )
    return batches.get()


def _terms_of(batch: CodeBatch) -> CodeTerms:
    return CodeTerms(batch.max_uses, batch.valid_from, batch.valid_until, batch.restricted_domain, batch.campaign)


def _insert_codes(
    *,
    tenant: Tenant,
    contract: Contract,
    codes: list[str],
    price_ids: int | list[int],
    participant_ids: list[int] | None = None,
    terms: CodeTerms,
    batch: CodeBatch | None = None,
    actor=None,
) -> int:
    """Insert codes, skipping any that collide with an existing code or an existing (participant,
    price) code; return how many were inserted. ``price_ids`` is one price for all, or one each;
    ``participant_ids`` one each, or None for unassigned codes. Codes are drawn from the code
    alphabet, so they never hold the comma that separates them on the way to PostgreSQL.

    A batch's codes name their creator through the batch (``created_by`` stays empty: one foreign-key
    check less per row). On PostgreSQL one ``INSERT … SELECT FROM unnest(…) ON CONFLICT DO NOTHING``
    per chunk, passing only the arrays that differ per row; elsewhere (the embedded SQLite default)
    ``bulk_create(ignore_conflicts=True)``.
    """
    now = timezone.now()
    created_by = actor.pk if actor is not None else None
    per_row_price = isinstance(price_ids, list)
    if connection.vendor == "postgresql":
        # Each per-row column goes as one comma-separated text, split by PostgreSQL: sending a
        # 20,000-element array parameter costs more in Python than the insert's own work.
        lists, columns = [",".join(codes)], ["code"]
        if per_row_price:
            lists.append(",".join(map(str, price_ids)))
            columns.append("price_id")
        if participant_ids is not None:
            lists.append(",".join(map(str, participant_ids)))
            columns.append("participant_id")
        splits = ", ".join(["string_to_array(%s, ',')"] + ["string_to_array(%s, ',')::bigint[]"] * (len(lists) - 1))
        table = InvitationCode._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(
                f"""
                INSERT INTO {table} (tenant_id, contract_id, batch_id, code, price_id, participant_id, max_uses,
                    uses, status, valid_from, valid_until, restricted_domain, campaign, shown_at, created_by_id,
                    created_at)
                SELECT %s, %s, %s, t.code, {"t.price_id" if per_row_price else "%s"},
                    {"t.participant_id" if participant_ids is not None else "NULL::bigint"},
                    %s, 0, %s, %s, %s, %s, %s, NULL, %s, %s
                FROM unnest({splits}) AS t({", ".join(columns)})
                ON CONFLICT DO NOTHING
                """,
                [
                    tenant.pk,
                    contract.pk,
                    batch.pk if batch else None,
                    *([] if per_row_price else [price_ids]),
                    terms.max_uses,
                    CodeStatus.ACTIVE,
                    terms.valid_from,
                    terms.valid_until,
                    terms.restricted_domain,
                    terms.campaign,
                    created_by,
                    now,
                    *lists,
                ],
            )
            return cursor.rowcount
    present = InvitationCode.objects.filter(tenant=tenant, contract=contract)
    before = present.count()
    InvitationCode.objects.bulk_create(
        [
            InvitationCode(
                tenant=tenant,
                contract=contract,
                batch=batch,
                code=code,
                price_id=price_ids[n] if per_row_price else price_ids,
                participant_id=participant_ids[n] if participant_ids is not None else None,
                max_uses=terms.max_uses,
                valid_from=terms.valid_from,
                valid_until=terms.valid_until,
                restricted_domain=terms.restricted_domain,
                campaign=terms.campaign,
                created_by_id=created_by,
                created_at=now,
            )
            for n, code in enumerate(codes)
        ],
        ignore_conflicts=True,
        batch_size=500,
    )
    return present.count() - before


def codes_for_participants(
    *,
    tenant: Tenant,
    contract: Contract,
    wanted: set[tuple[int, int]],
    width: int,
    actor,
    new_participant_ids: set[int] = frozenset(),
) -> int:
    """Make sure each ``(participant_id, price_id)`` has a live code; return how many were made.

    Pairs that already have one are left alone (a partial unique index makes that true under
    concurrency too), so asking again makes nothing more. ``new_participant_ids`` were added in the
    caller's transaction, so they have no codes yet and are not looked up the first time.
    """
    prefix = contract.invitation_prefix
    made = 0  # counted from what this call inserted: a concurrent call's codes are not ours
    missing = wanted - _pairs_with_codes(tenant=tenant, contract=contract, pairs=wanted, skip=new_participant_ids)
    for _round in range(MAX_EMPTY_ROUNDS):
        if not missing:
            return made
        missing = sorted(missing)
        bodies = codes.draw(len(missing), width)
        for start in range(0, len(missing), CHUNK):
            chunk = missing[start : start + CHUNK]
            made += _insert_codes(
                tenant=tenant,
                contract=contract,
                codes=[prefix + body for body in bodies[start : start + CHUNK]],
                price_ids=[price_id for _, price_id in chunk],
                participant_ids=[participant_id for participant_id, _ in chunk],
                terms=CodeTerms(),
                actor=actor,
            )
        missing = set(missing) - _pairs_with_codes(tenant=tenant, contract=contract, pairs=set(missing))
    raise ValidationError(_(COULD_NOT_DRAW))


def _pairs_with_codes(
    *, tenant: Tenant, contract: Contract, pairs: set[tuple[int, int]], skip: set[int] = frozenset()
) -> set[tuple[int, int]]:
    participant_ids = {participant_id for participant_id, _ in pairs} - skip
    return pairs_with_live_codes(tenant=tenant, contract=contract, participant_ids=participant_ids) & pairs


def pairs_with_live_codes(*, tenant: Tenant, contract: Contract, participant_ids: set[int]) -> set[tuple[int, int]]:
    """``(participant id, price id)`` of every live (not void) code of these participants. On
    PostgreSQL the ids go as one array parameter (``= ANY``), not one parameter each."""
    if not participant_ids:
        return set()
    live = InvitationCode.objects.filter(tenant=tenant, contract=contract).exclude(status=CodeStatus.VOID)
    if connection.vendor != "postgresql":
        return set(live.filter(participant_id__in=participant_ids).values_list("participant_id", "price_id"))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT participant_id, price_id FROM {InvitationCode._meta.db_table} "
            "WHERE tenant_id = %s AND contract_id = %s AND status <> %s AND participant_id = ANY(%s::bigint[])",
            [tenant.pk, contract.pk, CodeStatus.VOID, list(participant_ids)],
        )
        return set(cursor.fetchall())


def code_for_participant(
    *, tenant: Tenant, contract: Contract, participant: Participant, price: ContractPrice, width: int, actor
) -> InvitationCode:
    """One code assigned to one participant ("Generate Code" on the participants tab)."""
    with transaction.atomic():
        made = codes_for_participants(
            tenant=tenant, contract=contract, wanted={(participant.pk, price.pk)}, width=width, actor=actor
        )
        if not made:
            raise ValidationError(_(ALREADY_HAS_CODE).format(name=participant.full_name, price=price.price_code))
        code = InvitationCode.objects.get(
            tenant=tenant, contract=contract, participant=participant, price=price, status=CodeStatus.ACTIVE
        )
        event_record(
            tenant=tenant,
            contract=contract,
            kind=EventKind.CODES_GENERATED,
            actor=actor,
            code=code,
            summary=f"Code generated for {participant.full_name} at price {price.price_code}.",
        )
    return code


# Changing -----------------------------------------------------------------------------------------


def code_update(*, tenant: Tenant, code: InvitationCode, actor, changes: dict) -> InvitationCode:
    """Change a code's terms, participant, price, and its text only while it was never shown, sent
    or used. ``changes`` maps field names to new values; only real changes are recorded."""
    with transaction.atomic():
        code = InvitationCode.objects.select_for_update().select_related("contract").get(tenant=tenant, pk=code.pk)
        changes = {name: value for name, value in changes.items() if not _same(getattr(code, name), value)}
        if "code" in changes:
            changes["code"] = codes.normalise(changes["code"])
            _check_new_text(tenant=tenant, code=code, text=changes["code"])
            if changes["code"] == code.code:
                del changes["code"]
        if changes.get("max_uses", code.max_uses) < code.uses:
            raise ValidationError({"max_uses": _(MAX_USES_BELOW_USES).format(uses=code.uses)})
        if "price" in changes and code.uses:
            raise ValidationError({"price": _(PRICE_LOCKED)})
        before = {name: getattr(code, name) for name in changes}
        for name, value in changes.items():
            setattr(code, name, value)
        _check_participant_free(tenant=tenant, code=code)
        if code.status != CodeStatus.VOID:
            code.status = CodeStatus.USED_UP if code.uses >= code.max_uses else CodeStatus.ACTIVE
        try:
            with transaction.atomic():
                code.save()
        except IntegrityError:  # changed by someone else at the same moment
            raise ValidationError(_(CHANGED_MEANWHILE)) from None
        if changes:
            event_record(
                tenant=tenant,
                contract=code.contract,
                kind=EventKind.CODE_CHANGED,
                actor=actor,
                code=code,
                summary=f"Code {code.shown} changed: {', '.join(name.replace('_', ' ') for name in sorted(changes))}.",
                data={name: str(value) for name, value in before.items()},
                changes={name: (before[name], getattr(code, name)) for name in changes},
            )
    return code


def _same(old, new) -> bool:
    """Equal as the form can express it: date-times are entered to the minute."""
    if isinstance(old, datetime) and isinstance(new, datetime):
        return old.replace(second=0, microsecond=0) == new.replace(second=0, microsecond=0)
    return old == new


def _check_new_text(*, tenant: Tenant, code: InvitationCode, text: str) -> None:
    if text == code.code:
        return
    if code.text_locked:
        raise ValidationError({"code": _(CODE_TEXT_LOCKED)})
    prefix = code.contract.invitation_prefix
    body = text[len(prefix) :]
    if (
        not text.startswith(prefix)
        or not codes.MIN_WIDTH <= len(body) <= codes.MAX_WIDTH
        or not codes.is_well_formed(text)
    ):
        raise ValidationError({"code": _(CODE_TEXT_INVALID).format(prefix=prefix)})
    if InvitationCode.objects.filter(tenant=tenant, code=text).exclude(pk=code.pk).exists():
        raise ValidationError({"code": _(CODE_TEXT_TAKEN)})


def _check_participant_free(*, tenant: Tenant, code: InvitationCode) -> None:
    if code.participant_id is None or code.status == CodeStatus.VOID:
        return
    taken = InvitationCode.objects.filter(tenant=tenant, participant_id=code.participant_id, price_id=code.price_id)
    if taken.exclude(status=CodeStatus.VOID).exclude(pk=code.pk).exists():
        raise ValidationError(
            {"participant_id": _(ALREADY_HAS_CODE).format(name=code.participant.full_name, price=code.price.price_code)}
        )


def code_void(*, tenant: Tenant, code: InvitationCode, actor) -> None:
    with transaction.atomic():
        if (
            not InvitationCode.objects.filter(tenant=tenant, pk=code.pk)
            .exclude(status=CodeStatus.VOID)
            .update(status=CodeStatus.VOID)
        ):
            raise ValidationError(_(ALREADY_VOID))
        event_record(
            tenant=tenant,
            contract=code.contract,
            kind=EventKind.CODE_VOIDED,
            actor=actor,
            code=code,
            summary=f"Code {code.shown} voided; it can no longer be used.",
        )


def code_delete(*, tenant: Tenant, code: InvitationCode, actor) -> None:
    with transaction.atomic():
        code = InvitationCode.objects.select_for_update().get(tenant=tenant, pk=code.pk)
        if code.uses or Redemption.objects.filter(tenant=tenant, code=code).exists():
            raise ValidationError(_(CODE_IN_USE))
        event_record(
            tenant=tenant,
            contract=code.contract,
            kind=EventKind.CODE_DELETED,
            actor=actor,
            code=code,
            summary=f"Code {code.shown} deleted (never used).",
        )
        code.delete()


def code_mark_shown(*, tenant: Tenant, code: InvitationCode, actor) -> None:
    """The first time a code is opened on its own page its text becomes fixed."""
    if code.shown_at is None:
        with transaction.atomic():
            if InvitationCode.objects.filter(tenant=tenant, pk=code.pk, shown_at__isnull=True).update(
                shown_at=timezone.now()
            ):
                event_record(
                    tenant=tenant,
                    contract=code.contract,
                    kind=EventKind.CODE_SHOWN,
                    actor=actor,
                    code=code,
                    summary=f"Code {code.shown} shown for the first time.",
                )


def codes_mark_downloaded(*, tenant: Tenant, contract: Contract, actor, what: str, participants_only=False) -> None:
    """Codes that leave in a download have their text fixed from now on; the history says so."""
    rows = InvitationCode.objects.filter(tenant=tenant, contract=contract)
    if participants_only:
        rows = rows.filter(participant__isnull=False).exclude(status=CodeStatus.VOID)
    with transaction.atomic():
        count = rows.count()
        if not count:
            return
        rows.filter(shown_at__isnull=True).update(shown_at=timezone.now())
        event_record(
            tenant=tenant,
            contract=contract,
            kind=EventKind.CODES_DOWNLOADED,
            actor=actor,
            summary=f"{what}: {count:,} code{'s' if count != 1 else ''} downloaded as CSV.",
        )


def codes_mark_handed_out(*, tenant: Tenant, contract: Contract, code_ids: list[int], actor, what: str) -> int:
    """Codes whose text a program was given (a page of the API's codes list) have it fixed from now
    on, as a download does: the program may send them out. Writes only codes not fixed yet, and the
    history says so once for them; returns how many."""
    if not code_ids:
        return 0
    with transaction.atomic():
        count = InvitationCode.objects.filter(
            tenant=tenant, contract=contract, pk__in=code_ids, shown_at__isnull=True
        ).update(shown_at=timezone.now())
        if count:
            event_record(
                tenant=tenant,
                contract=contract,
                kind=EventKind.CODES_DOWNLOADED,
                actor=actor,
                summary=f"{what}: {count:,} code{'s' if count != 1 else ''} handed out; their text is fixed now.",
            )
    return count


# Redeeming ----------------------------------------------------------------------------------------


def code_check(*, tenant: Tenant, typed: str) -> InvitationCode:
    """Find the code someone typed on the booking page, or raise ``CodeRefused`` saying why."""
    from .selectors import code_by_text

    canonical = codes.normalise(typed)
    if not codes.is_well_formed(canonical) or not 8 <= len(canonical) <= 28:
        raise CodeRefused(_(CODE_MISTYPED))
    code = code_by_text(tenant=tenant, canonical=canonical)
    if code is None:
        raise CodeRefused(_(CODE_UNKNOWN))
    # Someone typed it: it has left the system, so its text is fixed from now on (once: a code
    # already shown, say the second person typing a code of several uses, writes nothing).
    if code.shown_at is None:
        InvitationCode.objects.filter(tenant=tenant, pk=code.pk, shown_at__isnull=True).update(shown_at=timezone.now())
    refuse_unusable(tenant=tenant, code=code)
    return code


def contract_codes_usable(*, tenant: Tenant, contract: Contract) -> bool:
    """Whether the contract's codes can be used today: it is active and has not ended."""
    return contract.status == ContractStatus.ACTIVE and not (
        contract.ends_on and contract.ends_on < timezone.localdate(timezone=tenant.zone)
    )


def refuse_unusable(*, tenant: Tenant, code: InvitationCode) -> None:
    zone = tenant.zone
    status = code.shown_status()
    if status == ShownStatus.VOID:
        raise CodeRefused(_(CODE_VOID))
    if status == ShownStatus.USED_UP:
        raise CodeRefused(_(CODE_USED_UP))
    if status == ShownStatus.EXPIRED:
        raise CodeRefused(_(CODE_EXPIRED).format(date=when(code.valid_until, zone, "j F Y, H:i")))
    if status == ShownStatus.NOT_YET_VALID:
        raise CodeRefused(_(CODE_NOT_YET_VALID).format(date=when(code.valid_from, zone, "j F Y, H:i")))
    if not contract_codes_usable(tenant=tenant, contract=code.contract):
        raise CodeRefused(_(CODE_CONTRACT_CLOSED))
    if not code.price.service.is_active:
        raise CodeRefused(_(CODE_SERVICE_PAUSED))


def email_allowed(code: InvitationCode, email: str) -> bool:
    domain = code.restricted_domain.strip().lower().lstrip("@")
    if not domain:
        return True
    at = email.rsplit("@", 1)[-1].lower()
    return at == domain or at.endswith("." + domain)


def code_redeem_and_book(
    *, tenant: Tenant, code: InvitationCode, service: Service, starts_at: datetime, details: BookingDetails
) -> Booking:
    """Use the code once and book the slot, in one transaction, or change nothing.

    Lock order is code, then slot (docs/concurrency.md): the code's use is taken with a conditional
    UPDATE that only succeeds while it is active, valid and below its max uses.
    """
    if not email_allowed(code, details.email):
        raise CodeRefused(_(CODE_WRONG_DOMAIN).format(domain=code.restricted_domain.lstrip("@")))
    now = timezone.now()
    with transaction.atomic():
        taken = (
            InvitationCode.objects.filter(tenant=tenant, pk=code.pk, status=CodeStatus.ACTIVE, uses__lt=F("max_uses"))
            .exclude(valid_from__gt=now)
            .exclude(valid_until__lte=now)
            .update(
                uses=F("uses") + 1,
                status=Case(
                    When(uses__gte=F("max_uses") - 1, then=Value(CodeStatus.USED_UP)), default=Value(CodeStatus.ACTIVE)
                ),
                shown_at=Coalesce("shown_at", Value(now)),
            )
        )
        if not taken:
            try:
                code.refresh_from_db()
            except InvitationCode.DoesNotExist:  # deleted a moment ago
                raise CodeRefused(_(CODE_UNKNOWN)) from None
            refuse_unusable(tenant=tenant, code=code)
            raise CodeRefused(_(CODE_USED_UP))
        # The code's row is now locked by this transaction: a second submit of the same booking
        # (a double click) waits here, then finds the first one and changes nothing.
        twice = Redemption.objects.filter(
            tenant=tenant,
            code=code,
            email__iexact=details.email,
            booking__starts_at=starts_at,
            released_at__isnull=True,
        )
        if twice.exists():
            raise CodeRefused(_(ALREADY_BOOKED))
        # A full or vanished slot raises BookingError here, which rolls the code's use back too.
        booking = booking_create(
            tenant=tenant, service=service, starts_at=starts_at, details=details, price_amount=code.price.amount
        )
        redemption = Redemption.objects.create(
            tenant=tenant, code=code, booking=booking, email=details.email, redeemed_at=now
        )
        publish(
            tenant=tenant,
            name="code.redeemed",
            obj=code,
            summary=f"Code {code.shown} redeemed by {details.email} (booking {booking.reference}).",
            payload={
                "code": code_facts(code, uses=code.uses + 1),
                "redemption": {"id": redemption.pk, "email": details.email, "redeemed_at": now},
                "booking": {"reference": booking.reference, "starts_at": booking.starts_at, "service": service.name},
            },
        )
        event_record(
            tenant=tenant,
            contract=code.contract,
            kind=EventKind.CODE_REDEEMED,
            code=code,
            summary=f"Code {code.shown} used by {details.first_name} {details.last_name} for {service.name} "
            f"on {timezone.localtime(booking.starts_at, tenant.zone):%-d %b %Y %H:%M}.",
            data={"booking": booking.pk},
        )
    return booking


def code_facts(code: InvitationCode, **overrides) -> dict:
    """A code as webhooks and the audit trail tell it."""
    facts = {
        "id": code.pk,
        "code": code.shown,
        "contract_id": code.contract_id,
        "contract": code.contract.name,
        "price_code": code.price.price_code,
        "campaign": code.campaign,
        "uses": code.uses,
        "max_uses": code.max_uses,
        "participant_id": code.participant_id,
    }
    return {**facts, **overrides}


def release_for_cancelled_booking(*, tenant: Tenant, booking: Booking, actor) -> None:
    """A cancelled booking gives its code use back (a void code stays void)."""
    redemption = (
        Redemption.objects.filter(tenant=tenant, booking=booking, released_at__isnull=True)
        .select_related("code__contract")
        .first()
    )
    if redemption is None:
        return
    code = redemption.code
    InvitationCode.objects.filter(tenant=tenant, pk=code.pk, uses__gt=0).update(
        uses=F("uses") - 1,
        status=Case(When(status=CodeStatus.USED_UP, then=Value(CodeStatus.ACTIVE)), default=F("status")),
    )
    redemption.released_at = timezone.now()
    redemption.save(update_fields=["released_at"])
    event_record(
        tenant=tenant,
        contract=code.contract,
        kind=EventKind.CODE_RELEASED,
        actor=actor,
        code=code,
        summary=f"Booking of {booking.full_name} cancelled; code {code.shown} can be used again.",
    )


def booking_extras(*, tenant: Tenant, booking: Booking) -> list[tuple[str, str]]:
    redemption = Redemption.objects.filter(tenant=tenant, booking=booking).select_related("code__contract").first()
    if redemption is None:
        return []
    code = redemption.code
    note = " (use given back)" if redemption.released_at else ""
    return [("Invitation code", f"{code.shown} — {code.contract.name}{note}")]
