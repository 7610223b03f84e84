"""Reads of registration codes. Customer reads start from the signed-in buyer: a customer never
reaches another customer's orders, invites or learners (a missing one and another's give one 404)."""

from django.db.models import Count, Q, QuerySet
from django.shortcuts import get_object_or_404

from accounts.models import User
from tenancy.models import Tenant

from .models import CodeStatus, CourseAccess, LearnerInvite, LearnerInviteStatus, SeatOrder


def customer_orders(*, tenant: Tenant, buyer: User) -> QuerySet:
    """The buyer's orders that came with registration codes, with their seat counts."""
    return (
        SeatOrder.objects.filter(tenant=tenant, buyer=buyer, codes__isnull=False)
        .select_related("product_session__product")
        .annotate(
            remaining=Count("codes", filter=Q(codes__status=CodeStatus.AVAILABLE), distinct=True),
            invited=Count("codes", filter=Q(codes__status=CodeStatus.INVITED), distinct=True),
            claimed=Count("codes", filter=Q(codes__status=CodeStatus.CLAIMED), distinct=True),
        )
        .order_by("-created_at", "-id")
    )


def customer_order_get(*, tenant: Tenant, buyer: User, order_id: int) -> SeatOrder:
    return get_object_or_404(customer_orders(tenant=tenant, buyer=buyer), pk=order_id)


def open_invites(*, tenant: Tenant, order: SeatOrder) -> QuerySet:
    return (
        LearnerInvite.objects.filter(tenant=tenant, code__order=order, status=LearnerInviteStatus.OPEN)
        .select_related("code")
        .order_by("-sent_at", "-id")
    )


def open_invite_get(*, tenant: Tenant, order: SeatOrder, invite_id: int) -> LearnerInvite:
    return get_object_or_404(open_invites(tenant=tenant, order=order).select_related("code__order"), pk=invite_id)


def completed(*, tenant: Tenant, order: SeatOrder) -> QuerySet:
    """Learners holding a seat of this order now."""
    return (
        CourseAccess.objects.filter(tenant=tenant, code__order=order, revoked_at__isnull=True)
        .select_related("learner", "code")
        .order_by("learner__last_name", "learner__first_name", "id")
    )


def completed_get(*, tenant: Tenant, order: SeatOrder, access_id: int) -> CourseAccess:
    return get_object_or_404(completed(tenant=tenant, order=order).select_related("code__order"), pk=access_id)


def earlier_learners(*, tenant: Tenant, buyer: User, order: SeatOrder) -> QuerySet:
    """People who had a seat through this customer's codes before and have no access to this
    order's course now: the learners the customer can tick."""
    had_seat = CourseAccess.objects.filter(tenant=tenant, code__order__buyer=buyer).values("learner")
    has_course = CourseAccess.objects.filter(
        tenant=tenant, product_session=order.product_session, revoked_at__isnull=True
    ).values("learner")
    return User.objects.filter(pk__in=had_seat).exclude(pk__in=has_course).order_by("last_name", "first_name", "email")


def learner_courses(*, tenant: Tenant, learner: User) -> QuerySet:
    return (
        CourseAccess.objects.filter(tenant=tenant, learner=learner, revoked_at__isnull=True)
        .select_related("product_session__product")
        .order_by("starts_on", "id")
    )
