"""The emails of session rosters, each queued in the caller's transaction with one idempotency key
per action, so an action sends exactly one email however often it is retried."""

from django.conf import settings
from django.utils import dateformat, timezone

from messaging.services import email_queue, sms_queue
from tenancy.localization import money as format_money
from tenancy.localization import when
from tenancy.models import Tenant
from tenancy.urlresolvers import absolute_tenant_url

from ..models import (
    DiscountCode,
    Order,
    OrderStatus,
    Registration,
    RegistrationStatus,
    Session,
    SessionInvitation,
    WaitlistEntry,
)


def session_when(tenant: Tenant, session: Session) -> str:
    start = timezone.localtime(session.starts_at, tenant.zone)
    end = timezone.localtime(session.ends_at, tenant.zone)
    until = f"{end:%H:%M}" if end.date() == start.date() else dateformat.format(end, "l j F Y, H:i")
    return f"{dateformat.format(start, 'l j F Y, H:i')}–{until} ({tenant.time_zone})"


def local_time(tenant: Tenant, moment) -> str:
    return f"{when(moment, tenant.zone)} ({tenant.time_zone})"


def money(tenant: Tenant, amount) -> str:
    return format_money(amount, tenant.currency)


def _session_context(tenant: Tenant, session: Session) -> dict:
    return {
        "session": session.title,
        "when": session_when(tenant, session),
        "location": session.location,
        "price": money(tenant, session.price),
    }


def invitation_email(*, tenant: Tenant, invitation: SessionInvitation, token: str, actor) -> None:
    """The invitation by email, and by SMS too when it has a phone number; each (re)send is new."""
    discount: DiscountCode | None = invitation.discount_code
    context = {
        **_session_context(tenant, invitation.session),
        "discount": discount.describe if discount else "",
        "discount_code": discount.code if discount else "",
        "expires": local_time(tenant, invitation.expires_at) if invitation.expires_at else "",
        "locked": invitation.lock_to_email,
        "link": absolute_tenant_url(tenant, "register:invitation", invite_token=token),
    }
    sent = f"session-invitation:{invitation.pk}:{invitation.times_sent}"
    email_queue(
        tenant=tenant,
        to=invitation.email,
        key="sessions_roster.invitation",
        context=context,
        idempotency_key=sent,
        created_by=actor,
    )
    if invitation.phone:
        sms_queue(
            tenant=tenant,
            to=invitation.phone,
            key="sessions_roster.invitation",
            context=context,
            idempotency_key=f"{sent}:sms",
            created_by=actor,
        )


def proof_email(*, tenant: Tenant, invitation: SessionInvitation, code: str, attempt: int) -> None:
    email_queue(
        tenant=tenant,
        to=invitation.email,
        key="sessions_roster.email_proof",
        context={"session": invitation.session.title, "code": code, "minutes": settings.EMAIL_PROOF_MINUTES},
        idempotency_key=f"session-invitation-proof:{invitation.pk}:{attempt}",
    )


def _lines(tenant: Tenant, registrations: list[Registration]) -> list[dict]:
    return [
        {
            "session": r.session.title,
            "when": session_when(tenant, r.session),
            "location": r.session.location,
            "price": money(tenant, r.price),
            "discount": money(tenant, r.discount) if r.discount else "",
            "amount": money(tenant, r.amount),
        }
        for r in registrations
    ]


def order_confirmation_email(*, tenant: Tenant, order: Order, registrations: list[Registration]) -> None:
    email_queue(
        tenant=tenant,
        to=order.email,
        key="sessions_roster.order_confirmation",
        context={
            "name": order.first_name,
            "order_number": order.number,
            "lines": _lines(tenant, registrations),
            "subtotal": money(tenant, order.subtotal),
            "discount": money(tenant, order.discount_amount) if order.discount_amount else "",
            "discount_code": order.discount_code.code if order.discount_code else "",
            "total": money(tenant, order.total),
            "paid": order.status == OrderStatus.PAID,
            "payment_instructions": order.payment_instructions,
            "order_link": absolute_tenant_url(tenant, "register:order", order_reference=order.reference),
        },
        idempotency_key=f"session-order:{order.pk}",
    )


def payment_received_email(*, tenant: Tenant, order: Order, actor) -> None:
    email_queue(
        tenant=tenant,
        to=order.email,
        key="sessions_roster.payment_received",
        context={
            "name": order.first_name,
            "order_number": order.number,
            "total": money(tenant, order.total),
            "lines": _lines(
                tenant, list(order.registrations.select_related("session").exclude(status=RegistrationStatus.CANCELLED))
            ),
        },
        idempotency_key=f"session-order-paid:{order.pk}",
        created_by=actor,
    )


def registration_cancelled_email(*, tenant: Tenant, registration: Registration, actor) -> None:
    email_queue(
        tenant=tenant,
        to=registration.email,
        key="sessions_roster.registration_cancelled",
        context={"name": registration.first_name, **_session_context(tenant, registration.session)},
        idempotency_key=f"session-registration-cancelled:{registration.pk}",
        created_by=actor,
    )


def waitlist_joined_email(*, tenant: Tenant, entry: WaitlistEntry, position: int) -> None:
    email_queue(
        tenant=tenant,
        to=entry.email,
        key="sessions_roster.waitlist_joined",
        context={
            "name": entry.first_name,
            **_session_context(tenant, entry.session),
            "position": position,
            "hold_hours": entry.session.offer_hold_hours,
        },
        idempotency_key=f"waitlist-joined:{entry.pk}",
    )


def waitlist_offer_email(*, tenant: Tenant, entry: WaitlistEntry, token: str) -> None:
    email_queue(
        tenant=tenant,
        to=entry.email,
        key="sessions_roster.waitlist_offer",
        context={
            "name": entry.first_name,
            **_session_context(tenant, entry.session),
            "held_until": local_time(tenant, entry.offer_expires_at),
            "link": absolute_tenant_url(tenant, "register:offer", offer_token=token),
        },
        idempotency_key=f"waitlist-offer:{entry.pk}",
    )
