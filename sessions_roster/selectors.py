"""Reads of session rosters. Every one starts from the tenant."""

from dataclasses import dataclass

from django.db.models import Count, F, OuterRef, Q, QuerySet, Subquery, Window
from django.db.models.functions import Coalesce, Lower, RowNumber
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone

from tenancy.models import Tenant

from .models import (
    DiscountCode,
    InvitationStatus,
    Order,
    Registration,
    RegistrationStatus,
    Session,
    SessionInvitation,
    WaitlistEntry,
    WaitlistStatus,
)


def _count_per_session(rows: QuerySet):
    """How many of ``rows`` each session has, as a correlated subquery. Joining registrations,
    invitations and the waitlist in one query instead multiplies them (a session with 60
    registrations, 25 invitations and 70 waiting people made 105,000 rows before the counts: 0.4 s
    for ten sessions, found by the soak run, bench/soak.py)."""
    counted = rows.filter(session=OuterRef("pk")).order_by().values("session").annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted), 0)


def _with_counts(rows: QuerySet) -> QuerySet:
    registrations = Registration.objects.all()
    return rows.annotate(
        confirmed_count=_count_per_session(registrations.filter(status=RegistrationStatus.CONFIRMED)),
        awaiting_count=_count_per_session(registrations.filter(status=RegistrationStatus.AWAITING_PAYMENT)),
        invited_count=_count_per_session(SessionInvitation.objects.filter(status=InvitationStatus.PENDING)),
        waiting_count=_count_per_session(
            WaitlistEntry.objects.filter(status__in=[WaitlistStatus.WAITING, WaitlistStatus.OFFERED])
        ),
    )


def sessions_search(*, tenant: Tenant, query: str = "", when: str = "upcoming") -> QuerySet:
    rows = Session.objects.filter(tenant=tenant).order_by("starts_at", "id")
    now = timezone.now()
    if when == "upcoming":
        rows = rows.filter(ends_at__gt=now)
    elif when == "past":
        rows = rows.filter(ends_at__lte=now).order_by("-starts_at", "-id")
    if query:
        rows = rows.filter(Q(title__icontains=query) | Q(location__icontains=query))
    return _with_counts(rows)


def session_get(*, tenant: Tenant, session_id: int) -> Session:
    return get_object_or_404(Session.objects.filter(tenant=tenant), pk=session_id)


def public_sessions(*, tenant: Tenant) -> QuerySet:
    return Session.objects.filter(tenant=tenant, is_listed=True, starts_at__gt=timezone.now())


def public_session(*, tenant: Tenant, key: str) -> Session:
    if "\x00" in key:  # from a URL; PostgreSQL refuses to compare text holding NUL, and no key holds one
        raise Http404("No such session.")
    return get_object_or_404(Session.objects.filter(tenant=tenant), key=key)


@dataclass(frozen=True)
class CapacitySummary:
    capacity: int
    confirmed: int
    awaiting_payment: int
    invited: int
    offers: int
    free: int


def capacity_summary(*, tenant: Tenant, session: Session) -> CapacitySummary:
    registrations = Registration.objects.filter(tenant=tenant, session=session).aggregate(
        confirmed=Count("pk", filter=Q(status=RegistrationStatus.CONFIRMED)),
        awaiting=Count("pk", filter=Q(status=RegistrationStatus.AWAITING_PAYMENT)),
    )
    invited = SessionInvitation.objects.filter(tenant=tenant, session=session, status=InvitationStatus.PENDING).count()
    offers = WaitlistEntry.objects.filter(tenant=tenant, session=session, status=WaitlistStatus.OFFERED).count()
    return CapacitySummary(
        capacity=session.capacity,
        confirmed=registrations["confirmed"],
        awaiting_payment=registrations["awaiting"],
        invited=invited,
        offers=offers,
        free=session.spots_left,
    )


def registrations_of(*, tenant: Tenant, session: Session, status: str) -> QuerySet:
    """The registrations holding a spot (the roster), or the cancelled ones, latest first; each
    with what its list shows (the order; who cancelled)."""
    rows = Registration.objects.filter(tenant=tenant, session=session)
    if status == "cancelled":
        return (
            rows.filter(status=RegistrationStatus.CANCELLED)
            .select_related("cancelled_by")
            .order_by("-cancelled_at", "-id")
        )
    return rows.exclude(status=RegistrationStatus.CANCELLED).select_related("order").order_by("created_at", "id")


def invitations_of(*, tenant: Tenant, session: Session, open_only: bool) -> QuerySet:
    """The pending invitations (with their discount code), or the closed ones (with who cancelled)."""
    rows = SessionInvitation.objects.filter(tenant=tenant, session=session)
    if open_only:
        return rows.filter(status=InvitationStatus.PENDING).select_related("discount_code").order_by("sent_at", "id")
    return (
        rows.filter(status__in=[InvitationStatus.CANCELLED, InvitationStatus.EXPIRED])
        .select_related("cancelled_by")
        .order_by("-closed_at", "-id")
    )


def invitation_get(*, tenant: Tenant, session: Session, invitation_id: int) -> SessionInvitation:
    return get_object_or_404(SessionInvitation.objects.filter(tenant=tenant, session=session), pk=invitation_id)


def registration_get(*, tenant: Tenant, session: Session, registration_id: int) -> Registration:
    return get_object_or_404(
        Registration.objects.filter(tenant=tenant, session=session).select_related("order"), pk=registration_id
    )


def waitlist_of(*, tenant: Tenant, session: Session) -> QuerySet:
    """Everyone who joined, in order; ``place`` among those with the same status (for the people
    still waiting: 1 is next in line)."""
    in_line = Window(RowNumber(), partition_by=[F("status")], order_by=[F("created_at").asc(), F("id").asc()])
    return (
        WaitlistEntry.objects.filter(tenant=tenant, session=session)
        .annotate(place=in_line)
        .order_by("created_at", "id")
    )


def session_choices(*, tenant: Tenant, selected=()) -> QuerySet:
    """Sessions a discount code can name: those not over yet, and any it already names."""
    return (
        Session.objects.filter(tenant=tenant)
        .filter(Q(ends_at__gt=timezone.now()) | Q(pk__in=[s.pk for s in selected]))
        .order_by("starts_at", "id")
    )


def waitlist_entry_get(*, tenant: Tenant, session: Session, entry_id: int) -> WaitlistEntry:
    return get_object_or_404(WaitlistEntry.objects.filter(tenant=tenant, session=session), pk=entry_id)


def discounts_search(*, tenant: Tenant, query: str = "") -> QuerySet:
    rows = DiscountCode.objects.filter(tenant=tenant).annotate(session_count=Count("sessions")).order_by("code")
    if query:
        rows = rows.filter(code__icontains=query.strip())
    return rows


def discount_get(*, tenant: Tenant, discount_id: int) -> DiscountCode:
    return get_object_or_404(DiscountCode.objects.filter(tenant=tenant), pk=discount_id)


def order_by_reference(*, tenant: Tenant, reference: str) -> Order:
    if "\x00" in reference:  # as in public_session
        raise Http404("No such order.")
    return get_object_or_404(Order.objects.filter(tenant=tenant), reference=reference)


def registrations_for_person(*, tenant: Tenant, email: str) -> QuerySet:
    # lower(email) as the index has it: ``email__iexact`` compares upper() and reads every row.
    return (
        Registration.objects.alias(email_lower=Lower("email"))
        .filter(tenant=tenant, email_lower=email.lower())
        .select_related("session", "order")
        .order_by("-session__starts_at")
    )


def waitlist_for_person(*, tenant: Tenant, email: str) -> QuerySet:
    return (
        WaitlistEntry.objects.alias(email_lower=Lower("email"))
        .filter(tenant=tenant, email_lower=email.lower(), status__in=[WaitlistStatus.WAITING, WaitlistStatus.OFFERED])
        .select_related("session")
    )
