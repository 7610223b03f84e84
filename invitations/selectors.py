"""Reads of invitation codes, batches and redemptions. Every function takes the tenant."""

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from contracts.models import Contract
from tenancy.models import Tenant

from . import codes
from .models import CodeBatch, CodeStatus, InvitationCode, Redemption, ShownStatus


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


def codes_for_contract(
    *,
    tenant: Tenant,
    contract: Contract,
    status: str = "",
    price_id: int | None = None,
    assigned: str = "",
    query: str = "",
) -> QuerySet[InvitationCode]:
    rows = (
        InvitationCode.objects.filter(tenant=tenant, contract=contract)
        .select_related("price__service", "participant", "contract")
        .annotate(has_redemptions=Exists(Redemption.objects.filter(code=OuterRef("pk"))))
    )
    if status:
        rows = rows.filter(status_filter(status))
    if price_id:
        rows = rows.filter(price_id=price_id)
    if assigned == "yes":
        rows = rows.filter(participant__isnull=False)
    elif assigned == "no":
        rows = rows.filter(participant__isnull=True)
    for word in query.split()[:6]:
        found = (
            Q(participant__first_name__icontains=word)
            | Q(participant__last_name__icontains=word)
            | Q(participant__email__icontains=word)
        )
        text = codes.normalise(word)
        if text:
            found |= Q(code__contains=text)
        rows = rows.filter(found)
    return rows.order_by("-id")


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
    rows = InvitationCode.objects.filter(tenant=tenant, contract=contract)
    return {status.value: rows.filter(status_filter(status)).count() for status in ShownStatus}


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


def codes_of_participants(*, tenant: Tenant, contract: Contract, participant_ids) -> dict[int, list[InvitationCode]]:
    found: dict[int, list[InvitationCode]] = {}
    rows = InvitationCode.objects.filter(tenant=tenant, contract=contract, participant_id__in=list(participant_ids))
    for code in rows.select_related("price", "contract").order_by("id"):
        found.setdefault(code.participant_id, []).append(code)
    return found
