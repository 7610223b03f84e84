"""Writes of contracts: organisations, contracts, prices, participants, and the history line each
change writes in the same transaction."""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import ProtectedError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from accounts.models import normalize_email
from tenancy.bulk import insert_rows
from tenancy.events import publish
from tenancy.models import Tenant

from .models import Contract, ContractEvent, ContractPrice, EventKind, Organisation, Participant

ORGANISATION_NAME_TAKEN = gettext_noop("Another organisation already has this name.")
PREFIX_TAKEN = gettext_noop("Another contract already uses this invitation prefix.")
PREFIX_LOCKED = gettext_noop("The invitation prefix cannot change once codes were generated with it.")
PRICE_CODE_TAKEN = gettext_noop("This contract already has a price with this code.")
PRICE_SERVICE_LOCKED = gettext_noop(
    "Codes already carry this price, so what it books cannot change. Add a new price instead."
)
PRICE_IN_USE = gettext_noop("Codes carry this price, so it cannot be removed. Void or delete those codes first.")
PARTICIPANT_EMAIL_TAKEN = gettext_noop("Another participant of this contract already has this email address.")


def event_record(
    *, tenant: Tenant, contract: Contract, kind: str, summary: str, actor=None, code=None, data=None, changes=None
) -> ContractEvent:
    """A line of the contract's History tab, and the same fact in the tenant's audit trail
    (``contract.<kind>``; a redemption is published by the booking itself, with its webhook facts).
    ``changes``: ``{field: (before, after)}`` of an edit."""
    event = ContractEvent.objects.create(
        tenant=tenant,
        contract=contract,
        kind=kind,
        summary=summary[:500],
        code_id=getattr(code, "pk", None),
        code_text=getattr(code, "code", ""),
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        data=data or {},
    )
    if kind != EventKind.CODE_REDEEMED:
        publish(
            tenant=tenant,
            name=f"contract.{kind}",
            obj=code if code is not None else contract,
            actor=actor,
            summary=summary,
            payload={"contract_id": contract.pk, **(data or {})},
            changes=changes,
        )
    return event


def _save(instance, message_on_conflict: dict):
    try:
        with transaction.atomic():
            instance.save()
    except IntegrityError:
        raise ValidationError(message_on_conflict) from None
    return instance


def organisation_save(*, tenant: Tenant, organisation: Organisation | None = None, **fields) -> Organisation:
    organisation = organisation or Organisation(tenant=tenant)
    for name, value in fields.items():
        setattr(organisation, name, value)
    duplicate = Organisation.objects.filter(tenant=tenant, name__iexact=organisation.name).exclude(pk=organisation.pk)
    if duplicate.exists():
        raise ValidationError({"name": _(ORGANISATION_NAME_TAKEN)})
    return _save(organisation, {"name": _(ORGANISATION_NAME_TAKEN)})


def contract_save(*, tenant: Tenant, organisation: Organisation, actor, contract: Contract | None = None, **fields):
    creating = contract is None
    with transaction.atomic():
        # The stored row, locked: a bound form may already have changed the caller's object, and a
        # prefix change must not slip in while a batch of codes is being drawn with the old one.
        if creating:
            contract = Contract(tenant=tenant, organisation=organisation)
        else:
            contract = Contract.objects.select_for_update().get(tenant=tenant, pk=contract.pk)
        fields["invitation_prefix"] = fields.get("invitation_prefix", contract.invitation_prefix).upper()
        if not creating and fields["invitation_prefix"] != contract.invitation_prefix and _has_codes(contract):
            raise ValidationError({"invitation_prefix": _(PREFIX_LOCKED)})
        for name, value in fields.items():
            setattr(contract, name, value)
        taken = Contract.objects.filter(tenant=tenant, invitation_prefix=contract.invitation_prefix)
        if taken.exclude(pk=contract.pk).exists():
            raise ValidationError({"invitation_prefix": _(PREFIX_TAKEN)})
        _save(contract, {"invitation_prefix": _(PREFIX_TAKEN)})
        event_record(
            tenant=tenant,
            contract=contract,
            kind=EventKind.CONTRACT_CREATED if creating else EventKind.CONTRACT_CHANGED,
            summary=f"Contract “{contract.name}” {'created' if creating else 'changed'}.",
            actor=actor,
        )
    return contract


def _price_has_codes(price: ContractPrice) -> bool:
    from invitations.models import InvitationCode

    return InvitationCode.objects.filter(tenant=price.tenant, price=price).exists()


def _has_codes(contract: Contract) -> bool:
    from invitations.models import InvitationCode

    return InvitationCode.objects.filter(tenant=contract.tenant, contract=contract).exists()


def price_save(*, tenant: Tenant, contract: Contract, actor, price: ContractPrice | None = None, **fields):
    creating = price is None
    if not creating:
        stored = ContractPrice.objects.get(tenant=tenant, pk=price.pk)
        if "service" in fields and fields["service"] != stored.service and _price_has_codes(stored):
            raise ValidationError({"service": _(PRICE_SERVICE_LOCKED)})
    price = price or ContractPrice(tenant=tenant, contract=contract)
    fields["price_code"] = fields.get("price_code", price.price_code).upper()
    for name, value in fields.items():
        setattr(price, name, value)
    taken = ContractPrice.objects.filter(tenant=tenant, contract=contract, price_code=price.price_code)
    if taken.exclude(pk=price.pk).exists():
        raise ValidationError({"price_code": _(PRICE_CODE_TAKEN)})
    with transaction.atomic():
        _save(price, {"price_code": _(PRICE_CODE_TAKEN)})
        event_record(
            tenant=tenant,
            contract=contract,
            kind=EventKind.PRICE_ADDED if creating else EventKind.PRICE_CHANGED,
            summary=f"Price {price.price_code} ({price.service.name}, {price.amount} {tenant.currency}) "
            f"{'added' if creating else 'changed'}.",
            actor=actor,
        )
    return price


def price_delete(*, tenant: Tenant, contract: Contract, price: ContractPrice, actor) -> None:
    try:
        with transaction.atomic():
            ContractPrice.objects.filter(tenant=tenant, contract=contract, pk=price.pk).delete()
            event_record(
                tenant=tenant,
                contract=contract,
                kind=EventKind.PRICE_REMOVED,
                summary=f"Price {price.price_code} removed.",
                actor=actor,
            )
    except ProtectedError:
        raise ValidationError(_(PRICE_IN_USE)) from None


def participant_save(
    *, tenant: Tenant, contract: Contract, actor, participant: Participant | None = None, **fields
) -> Participant:
    creating = participant is None
    participant = participant or Participant(tenant=tenant, contract=contract)
    for name, value in fields.items():
        setattr(participant, name, value.strip() if isinstance(value, str) else value)
    participant.email = normalize_email(participant.email)
    if participant.email:
        taken = Participant.objects.filter(tenant=tenant, contract=contract, email__iexact=participant.email)
        if taken.exclude(pk=participant.pk).exists():
            raise ValidationError({"email": _(PARTICIPANT_EMAIL_TAKEN)})
    with transaction.atomic():
        _save(participant, {"email": _(PARTICIPANT_EMAIL_TAKEN)})
        event_record(
            tenant=tenant,
            contract=contract,
            kind=EventKind.PARTICIPANT_ADDED if creating else EventKind.PARTICIPANT_CHANGED,
            summary=f"Participant {participant.full_name} {'added' if creating else 'changed'}.",
            actor=actor,
        )
    return participant


# Bulk writes of the participants CSV ---------------------------------------------------------------

PARTICIPANT_DETAILS = ("first_name", "last_name", "email", "phone", "date_of_birth")
_DETAIL_TYPES = ("text", "text", "text", "text", "date")
BULK_CHUNK = 10_000


def _details_arrays(details: list[tuple]) -> list[list]:
    return [list(column) for column in zip(*details, strict=True)] if details else [[] for _ in PARTICIPANT_DETAILS]


def participants_insert(*, tenant: Tenant, contract: Contract, details: list[tuple]) -> list[int]:
    """Add participants (each a tuple in PARTICIPANT_DETAILS order, already checked); return their
    ids in the same order (written with COPY on PostgreSQL: tenancy/bulk.py)."""
    now = timezone.now()
    return insert_rows(
        Participant,
        ("tenant_id", "contract_id", *PARTICIPANT_DETAILS, "created_at", "updated_at"),
        [(tenant.pk, contract.pk, *row, now, now) for row in details],
    )


def participants_update(*, tenant: Tenant, contract: Contract, details: dict[int, tuple]) -> None:
    """Give participants of the contract new details ({id: tuple in PARTICIPANT_DETAILS order})."""
    if not details:
        return
    now = timezone.now()
    if connection.vendor != "postgresql":
        participants = list(Participant.objects.filter(tenant=tenant, contract=contract, pk__in=list(details)))
        for participant in participants:
            for name, value in zip(PARTICIPANT_DETAILS, details[participant.pk], strict=True):
                setattr(participant, name, value)
            participant.updated_at = now
        Participant.objects.bulk_update(participants, [*PARTICIPANT_DETAILS, "updated_at"], batch_size=1000)
        return
    table = Participant._meta.db_table
    columns = ", ".join(PARTICIPANT_DETAILS)
    arrays = ", ".join(f"%s::{kind}[]" for kind in _DETAIL_TYPES)
    items = list(details.items())
    with connection.cursor() as cursor:
        for start in range(0, len(items), BULK_CHUNK):
            chunk = items[start : start + BULK_CHUNK]
            cursor.execute(
                f"UPDATE {table} AS p SET {', '.join(f'{c} = t.{c}' for c in PARTICIPANT_DETAILS)}, updated_at = %s "
                f"FROM unnest(%s::bigint[], {arrays}) AS t(id, {columns}) "
                "WHERE p.id = t.id AND p.tenant_id = %s AND p.contract_id = %s",
                [now, [pk for pk, _ in chunk], *_details_arrays([d for _, d in chunk]), tenant.pk, contract.pk],
            )
