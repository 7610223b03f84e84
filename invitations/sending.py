"""Sending codes to people by email or SMS: the bulk send of a contract's codes (committed by the
``invitations.code_sends`` import, invitations/sends_csv.py) and the resend of one code.

Each code sent gets a ``CodeSend`` row (whom, when, by whom, the outbox row); the message itself goes
through the outbox (messaging), written in the same transaction. A recipient who gets several codes
gets one message listing them, and every ``CodeSend`` of those codes points at it.

Which codes go out is decided under a lock per contract (``code-send:<contract id>``), so two sends
committing at once never hand the same unsent code to two people: the second waits for the first to
commit, then reads the codes still unsent. A sent code has its text fixed (``shown_at``).
"""

import uuid
from collections import deque
from dataclasses import dataclass
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import dateformat, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from contracts.models import Contract
from messaging.services import Recipient, email_queue, emails_queue, sms_queue, sms_queue_many
from tenancy.bulk import insert_rows
from tenancy.events import publish
from tenancy.localization import money, when
from tenancy.locks import advisory_xact_lock
from tenancy.models import Tenant
from tenancy.urlresolvers import absolute_tenant_url

from .models import CodeSend, CodeStatus, InvitationCode, SendChannel
from .services import email_allowed

EMAIL_KIND = "invitations.code_sent"
MAX_RECIPIENTS = 10_000
MAX_CODES = 10_000
MAX_CODES_PER_EMAIL = 100
MAX_CODES_PER_SMS = 5  # an SMS listing more would be split into many parts
RESEND_GUARD_SECONDS = 10

TOO_MANY_RECIPIENTS = gettext_noop("More than {limit:,} recipients at once: split the list into smaller ones.")
TOO_MANY_CODES = gettext_noop(
    "More than {limit:,} codes at once ({asked:,} asked for): split the list into smaller ones."
)
NOT_ENOUGH_NOW = gettext_noop(
    "Only {available:,} of the {asked:,} codes asked for can still be sent (others were sent or changed "
    "meanwhile). Nothing was sent; upload the list again."
)
CODE_NOT_SENDABLE = gettext_noop("Code {code} is {status}: it cannot be sent.")
CONTRACT_CLOSED = gettext_noop(
    "The contract {contract} is {status}: its codes cannot be used, so none are sent. "
    "Make it active again (and extend its end date) first."
)


def refuse_closed_contract(*, tenant: Tenant, contract: Contract) -> None:
    """Codes of a contract whose codes cannot be used (the booking page's rule) are not sent out."""
    from .services import contract_codes_usable

    if not contract_codes_usable(tenant=tenant, contract=contract):
        ended = contract.status == "active"  # active, but its end date has passed
        status = (
            _("over (it ended on {date})").format(date=dateformat.format(contract.ends_on, "j F Y"))
            if ended
            else contract.get_status_display().lower()
        )
        raise ValidationError(_(CONTRACT_CLOSED).format(contract=contract.name, status=status))


WRONG_DOMAIN_FOR = gettext_noop(
    "Code {code} is only for email addresses at {domain}, and no recipient left in the list has one: "
    "untick it, or add a recipient at {domain}. Nothing was sent."
)
RESENT_A_MOMENT_AGO = gettext_noop("This code was sent a moment ago; it was not sent again.")


@dataclass(frozen=True)
class SendRow:
    """One recipient of a bulk send: channel ("email"/"sms"), address or E.164 number, name, how many."""

    row: int
    channel: str
    recipient: str
    name: str
    count: int


def sendable() -> Q:
    """Codes that can still be used: active and not expired (not-yet-valid codes may be sent ahead)."""
    return Q(status=CodeStatus.ACTIVE) & (Q(valid_until__isnull=True) | Q(valid_until__gt=timezone.now()))


def unsent() -> Exists:
    return ~Exists(CodeSend.objects.filter(code=OuterRef("pk")))


def unassigned_codes(*, tenant: Tenant, contract: Contract) -> QuerySet[InvitationCode]:
    """What "all unassigned codes" sends: active, unexpired codes of no participant, never sent, oldest first."""
    return (
        InvitationCode.objects.filter(tenant=tenant, contract=contract, participant__isnull=True)
        .filter(sendable())
        .filter(unsent())
        .order_by("id")
    )


def selected_codes(*, tenant: Tenant, contract: Contract, code_ids: list[int]) -> QuerySet[InvitationCode]:
    return InvitationCode.objects.filter(tenant=tenant, contract=contract, pk__in=code_ids).order_by("id")


def max_codes_per_message(channel: str) -> int:
    return MAX_CODES_PER_SMS if channel == SendChannel.SMS else MAX_CODES_PER_EMAIL


def _code_item(tenant: Tenant, code: InvitationCode, book_url: str) -> dict:
    shown = code.shown
    return {
        "code": shown,
        "service": code.price.service.name,
        "price": money(code.price.amount, tenant.currency),
        "valid_until": when(code.valid_until, tenant.zone, "d M Y H:i") if code.valid_until else "",
        "link": f"{book_url}?code={shown}",
    }


def _shared_context(tenant: Tenant, contract: Contract) -> dict:
    return {"contract": contract.name, "book_url": absolute_tenant_url(tenant, "book:start")}


def _own_context(tenant: Tenant, name: str, codes: list[InvitationCode], book_url: str) -> dict:
    return {
        "name": name,
        "codes": [_code_item(tenant, code, book_url) for code in codes],
        "codes_text": ", ".join(code.shown for code in codes),
        "count": len(codes),
    }


def codes_send(
    *,
    tenant: Tenant,
    contract: Contract,
    sends: list[SendRow],
    code_ids: list[int] | None,
    actor,
    key: str,
) -> dict:
    """Pick the codes (those of ``code_ids``, or the unassigned unsent ones oldest first), hand them
    out to ``sends`` in order, queue one email or SMS per recipient, write a ``CodeSend`` per code and
    fix the codes' text; all in the caller's transaction (the import's commit). ``key`` names this
    send: the outbox idempotency keys are built from it and each message's first code, so doing it
    again gives the same rows. Raises ``ValidationError`` when fewer codes are left than asked for."""
    asked = sum(send.count for send in sends)
    if len(sends) > MAX_RECIPIENTS:
        raise ValidationError(_(TOO_MANY_RECIPIENTS).format(limit=MAX_RECIPIENTS))
    if asked > MAX_CODES:
        raise ValidationError(_(TOO_MANY_CODES).format(limit=MAX_CODES, asked=asked))
    with transaction.atomic():
        advisory_xact_lock(f"code-send:{contract.pk}")
        contract = Contract.objects.get(tenant=tenant, pk=contract.pk)  # as it is now
        refuse_closed_contract(tenant=tenant, contract=contract)
        if code_ids is not None:
            rows = selected_codes(tenant=tenant, contract=contract, code_ids=code_ids)
        else:
            rows = unassigned_codes(tenant=tenant, contract=contract)
        rows = rows.filter(sendable()).filter(unsent()).select_related("price__service", "contract")
        picked = list(rows.select_for_update(of=("self",))[:asked])
        if len(picked) < asked:
            raise ValidationError(_(NOT_ENOUGH_NOW).format(available=len(picked), asked=asked))
        shared = _shared_context(tenant, contract)
        handed = _hand_out(picked, sends)
        outbox_ids = _queue(tenant, shared, handed, key, actor)
        now, sent_by = timezone.now(), actor.pk if actor else None
        insert_rows(
            CodeSend,
            ("tenant_id", "code_id", "channel", "recipient", "name", "outbox_id", "sent_at", "sent_by_id"),
            [
                (tenant.pk, code.pk, send.channel, send.recipient, send.name, outbox_id, now, sent_by)
                for (send, codes), outbox_id in zip(handed, outbox_ids, strict=True)
                for code in codes
            ],
        )
        InvitationCode.objects.filter(tenant=tenant, pk__in=[code.pk for code in picked], shown_at__isnull=True).update(
            shown_at=now
        )
        by_channel = {
            channel.value: sum(send.count for send in sends if send.channel == channel) for channel in SendChannel
        }
        recipients_by_channel = {
            channel.value: sum(1 for send in sends if send.channel == channel) for channel in SendChannel
        }
        publish(
            tenant=tenant,
            name="codes.sent",
            obj=contract,
            actor=actor,
            summary=f"{asked:,} code{'s' if asked != 1 else ''} of {contract.name} sent to {len(sends):,} "
            f"recipient{'s' if len(sends) != 1 else ''} "
            f"({by_channel['email']:,} by email, {by_channel['sms']:,} by SMS).",
            payload={
                "contract_id": contract.pk,
                "codes": asked,
                "recipients": len(sends),
                "codes_by_channel": by_channel,
                "recipients_by_channel": recipients_by_channel,
                "selected": code_ids is not None,
            },
        )
    return {
        "codes sent": asked,
        "recipients": len(sends),
        "emails queued": recipients_by_channel["email"],
        "SMS queued": recipients_by_channel["sms"],
    }


def _hand_out(picked: list[InvitationCode], sends: list[SendRow]) -> list[tuple[SendRow, list[InvitationCode]]]:
    """Give each recipient, in order, as many of ``picked`` as it asked for. A code restricted to
    an email domain goes only to an address at that domain (first to them, so it is not wasted); an
    SMS recipient books with an address of their choosing, so they take any code, unrestricted ones
    first. A restricted code that no recipient can take refuses the whole send."""
    free: deque[InvitationCode] = deque()
    bound: dict[str, deque[InvitationCode]] = {}
    for code in picked:
        domain = code.restricted_domain.strip().lower().lstrip("@")
        (bound.setdefault(domain, deque()) if domain else free).append(code)
    handed = []
    for send in sends:
        if send.channel == SendChannel.EMAIL:
            pools = [pool for pool in bound.values() if pool and email_allowed(pool[0], send.recipient)] + [free]
        else:
            pools = [free, *bound.values()]
        mine = []
        for pool in pools:
            while pool and len(mine) < send.count:
                mine.append(pool.popleft())
        if len(mine) < send.count:
            stuck = next(pool[0] for pool in bound.values() if pool)
            raise ValidationError(
                _(WRONG_DOMAIN_FOR).format(code=stuck.shown, domain=stuck.restricted_domain.strip().lstrip("@"))
            )
        handed.append((send, mine))
    return handed


def _queue(tenant: Tenant, shared: dict, handed: list, key: str, actor) -> list[int]:
    """One outbox row per recipient, emails and SMS each in one bulk insert; ids in ``handed`` order."""
    book_url = shared["book_url"]
    ids: dict[int, int] = {}
    for channel, queue in ((SendChannel.EMAIL, emails_queue), (SendChannel.SMS, sms_queue_many)):
        mine = [(index, send, codes) for index, (send, codes) in enumerate(handed) if send.channel == channel]
        if not mine:
            continue
        made = queue(
            tenant=tenant,
            key=EMAIL_KIND,
            context=shared,
            recipients=[
                Recipient(
                    to=send.recipient,
                    idempotency_key=f"code-send:{key}:{codes[0].pk}",
                    context=_own_context(tenant, send.name, codes, book_url),
                )
                for _, send, codes in mine
            ],
            created_by=actor,
        )
        ids.update(zip((index for index, _, _ in mine), made, strict=True))
    return [ids[index] for index in range(len(handed))]


def code_resend(*, tenant: Tenant, code: InvitationCode, send: CodeSend, actor) -> CodeSend:
    """Send ``code`` again to the recipient of ``send``: a new outbox row and a new ``CodeSend``.

    Refused for a code that can no longer be used, and when the code was sent in the last few seconds
    (a double click), under a lock on the code so two clicks cannot both pass."""
    with transaction.atomic():
        code = (
            InvitationCode.objects.select_for_update(of=("self",))
            .select_related("price__service", "contract")
            .get(tenant=tenant, pk=code.pk)
        )
        send = CodeSend.objects.get(tenant=tenant, code=code, pk=send.pk)
        refuse_closed_contract(tenant=tenant, contract=code.contract)
        if not InvitationCode.objects.filter(tenant=tenant, pk=code.pk).filter(sendable()).exists():
            raise ValidationError(_(CODE_NOT_SENDABLE).format(code=code.shown, status=code.shown_status_label.lower()))
        recent = timezone.now() - timedelta(seconds=RESEND_GUARD_SECONDS)
        if CodeSend.objects.filter(tenant=tenant, code=code, sent_at__gte=recent).exists():
            raise ValidationError(_(RESENT_A_MOMENT_AGO))
        shared = _shared_context(tenant, code.contract)
        context = {**shared, **_own_context(tenant, send.name, [code], shared["book_url"])}
        queue = sms_queue if send.channel == SendChannel.SMS else email_queue
        row = queue(
            tenant=tenant,
            to=send.recipient,
            key=EMAIL_KIND,
            context=context,
            idempotency_key=f"code-resend:{send.pk}:{uuid.uuid4().hex}",
            created_by=actor,
        )
        again = CodeSend.objects.create(
            tenant=tenant,
            code=code,
            channel=send.channel,
            recipient=send.recipient,
            name=send.name,
            outbox_id=row.pk,
            sent_by=actor,
        )
        InvitationCode.objects.filter(tenant=tenant, pk=code.pk, shown_at__isnull=True).update(shown_at=timezone.now())
        publish(
            tenant=tenant,
            name="code.resent",
            obj=code,
            actor=actor,
            summary=f"Code {code.shown} sent again by {send.get_channel_display()} to {send.recipient}.",
            payload={"code_id": code.pk, "channel": send.channel, "recipient": send.recipient, "send_id": again.pk},
        )
    return again
