"""Discount codes: saving them, checking one for a cart, the math, and counting uses exactly."""

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import dateformat, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from tenancy.models import Tenant

from ..models import DiscountCode, DiscountKind, Session

CENT = Decimal("0.01")
DISCOUNT_CODE_TAKEN = gettext_noop("Another discount code in this workspace already has this code.")
DISCOUNT_PERCENT_TOO_HIGH = gettext_noop("A percentage can be at most 100.")
DISCOUNT_UNTIL_BEFORE_FROM = gettext_noop("“Valid until” must be after “valid from”.")
DISCOUNT_MAX_BELOW_USES = gettext_noop("This code has been used {uses} times already; the limit cannot go below that.")
DISCOUNT_UNKNOWN = gettext_noop("We do not know that discount code. Check the spelling.")
DISCOUNT_NOT_YET = gettext_noop("This discount code can be used from {when}.")
DISCOUNT_EXPIRED = gettext_noop("This discount code expired on {when}.")
DISCOUNT_USED_UP = gettext_noop("This discount code has been used as many times as allowed.")
DISCOUNT_NOT_FOR_THESE = gettext_noop("This discount code does not apply to the sessions in your cart.")
DISCOUNT_NOT_FOR_SESSION = gettext_noop("This discount code does not apply to this session.")


class DiscountRefused(Exception):
    """A discount code that cannot be used now; ``str(exc)`` is the message for the page."""


def normalise_code(text: str) -> str:
    return (text or "").strip().upper()


def discount_save(*, tenant: Tenant, discount: DiscountCode | None = None, sessions=(), **fields) -> DiscountCode:
    discount = discount or DiscountCode(tenant=tenant)
    fields["code"] = normalise_code(fields["code"])
    errors = {}
    if fields["kind"] == DiscountKind.PERCENT and fields["value"] > 100:
        errors["value"] = _(DISCOUNT_PERCENT_TOO_HIGH)
    if fields.get("valid_from") and fields.get("valid_until") and fields["valid_until"] <= fields["valid_from"]:
        errors["valid_until"] = _(DISCOUNT_UNTIL_BEFORE_FROM)
    if DiscountCode.objects.filter(tenant=tenant, code__iexact=fields["code"]).exclude(pk=discount.pk).exists():
        errors["code"] = _(DISCOUNT_CODE_TAKEN)
    if errors:
        raise ValidationError(errors)
    try:
        with transaction.atomic():
            if discount.pk:
                # Uses are counted concurrently by checkouts: read them under a lock, never overwrite them.
                locked = DiscountCode.objects.select_for_update().get(tenant=tenant, pk=discount.pk)
                discount.uses = locked.uses
                if fields.get("max_uses") is not None and fields["max_uses"] < locked.uses:
                    raise ValidationError({"max_uses": _(DISCOUNT_MAX_BELOW_USES).format(uses=locked.uses)})
            for name, value in fields.items():
                setattr(discount, name, value)
            discount.save()
            discount.sessions.set([s for s in sessions if s.tenant_id == tenant.pk])
    except IntegrityError:
        raise ValidationError({"code": _(DISCOUNT_CODE_TAKEN)}) from None
    return discount


def discount_find(*, tenant: Tenant, text: str, lock: bool = False) -> DiscountCode:
    """The usable discount code typed as ``text``, or ``DiscountRefused`` saying why not."""
    rows = DiscountCode.objects.filter(tenant=tenant, code__iexact=normalise_code(text))
    discount = (rows.select_for_update() if lock else rows).first()
    if discount is None:
        raise DiscountRefused(_(DISCOUNT_UNKNOWN))
    discount_check(tenant=tenant, discount=discount)
    return discount


def discount_check(*, tenant: Tenant, discount: DiscountCode) -> None:
    now = timezone.now()
    zone = tenant.zone
    if not discount.is_active:  # said as "unknown": a guess learns nothing from a retired code
        raise DiscountRefused(_(DISCOUNT_UNKNOWN))
    if discount.valid_from and discount.valid_from > now:
        raise DiscountRefused(
            _(DISCOUNT_NOT_YET).format(
                when=dateformat.format(timezone.localtime(discount.valid_from, zone), "j F Y, H:i")
            )
        )
    if discount.valid_until and discount.valid_until <= now:
        raise DiscountRefused(
            _(DISCOUNT_EXPIRED).format(
                when=dateformat.format(timezone.localtime(discount.valid_until, zone), "j F Y, H:i")
            )
        )
    if discount.max_uses is not None and discount.uses >= discount.max_uses:
        raise DiscountRefused(_(DISCOUNT_USED_UP))


def discount_applies_to(discount: DiscountCode, session_ids: set[int]) -> set[int]:
    """The ids among ``session_ids`` the code applies to (all of them when it names no session)."""
    named = set(discount.sessions.values_list("pk", flat=True))
    return set(session_ids) if not named else set(session_ids) & named


def discounts_for_session(*, tenant: Tenant, session: Session):
    """Active codes staff may attach to an invitation to ``session``."""
    return (
        DiscountCode.objects.filter(tenant=tenant, is_active=True)
        .filter(Q(sessions=None) | Q(sessions=session))
        .distinct()
        .order_by("code")
    )


@dataclass(frozen=True)
class LineDiscount:
    price: Decimal
    discount: Decimal

    @property
    def amount(self) -> Decimal:
        return self.price - self.discount


def discount_split(discount: DiscountCode | None, prices: list[tuple[int, Decimal]]) -> list[LineDiscount]:
    """The discount on each line ``(session_id, price)``. A percentage comes off each eligible line;
    a fixed amount comes off the eligible lines in order, once per order. No line goes below zero."""
    if discount is None:
        return [LineDiscount(price, Decimal("0")) for _, price in prices]
    eligible = discount_applies_to(discount, {session_id for session_id, _ in prices})
    left = discount.value
    lines = []
    for session_id, price in prices:
        off = Decimal("0")
        if session_id in eligible:
            if discount.kind == DiscountKind.PERCENT:
                off = (price * discount.value / 100).quantize(CENT, rounding=ROUND_HALF_UP)
            else:
                off = min(left, price)
                left -= off
        lines.append(LineDiscount(price, min(off, price)))
    return lines


def discount_use(*, tenant: Tenant, discount: DiscountCode) -> None:
    """Count one use, only while uses < max_uses: one conditional UPDATE, exact under concurrency."""
    rows = DiscountCode.objects.filter(tenant=tenant, pk=discount.pk)
    if discount.max_uses is not None:
        rows = rows.filter(uses__lt=F("max_uses"))
    if rows.update(uses=F("uses") + 1) != 1:
        raise DiscountRefused(_(DISCOUNT_USED_UP))


def discount_give_back(*, tenant: Tenant, discount: DiscountCode) -> None:
    DiscountCode.objects.filter(tenant=tenant, pk=discount.pk, uses__gt=0).update(uses=F("uses") - 1)
