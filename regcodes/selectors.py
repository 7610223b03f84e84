"""Reads of registration codes. Customer reads start from the signed-in buyer: a customer never
reaches another customer's orders, invites or learners (a missing one and another's give one 404)."""

from django.db.models import Count, F, Q, QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone

from accounts.models import Client, User
from tenancy.models import Tenant

from .models import CodeStatus, CourseAccess, LearnerInvite, LearnerInviteStatus, Product, ProductSession, SeatOrder


def customer_orders(*, tenant: Tenant, buyer: User) -> QuerySet:
    """The buyer's orders that came with registration codes, with their seat counts."""
    return (
        SeatOrder.objects.filter(tenant=tenant, buyer=buyer, quantity__gte=2, codes__isnull=False)
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
        .select_related("product_session__product", "tenant")
        .order_by("starts_on", "id")
    )


def products(*, tenant: Tenant) -> QuerySet:
    return Product.objects.filter(tenant=tenant).prefetch_related("sessions").order_by("name")


def product_get(*, tenant: Tenant, product_id: int) -> Product:
    return get_object_or_404(Product.objects.filter(tenant=tenant), pk=product_id)


def product_session_get(*, tenant: Tenant, product: Product, session_id: int) -> ProductSession:
    return get_object_or_404(ProductSession.objects.filter(tenant=tenant, product=product), pk=session_id)


def sessions_on_sale(*, tenant: Tenant) -> QuerySet:
    """Runs of active courses that have not ended."""
    return (
        ProductSession.objects.filter(
            tenant=tenant, product__is_active=True, ends_on__gte=timezone.localdate(timezone=tenant.zone)
        )
        .select_related("product")
        .order_by("product__name", "starts_on", "id")
    )


def orders_search(*, tenant: Tenant, query: str = "") -> QuerySet:
    rows = SeatOrder.objects.filter(tenant=tenant).select_related("product_session__product", "buyer")
    if query:
        rows = rows.filter(Q(buyer__email__icontains=query) | Q(product_session__product__name__icontains=query))
    return rows.annotate(claimed=Count("codes", filter=Q(codes__status=CodeStatus.CLAIMED))).order_by(
        "-created_at", "-id"
    )


def code_users_of_client(*, tenant: Tenant, client: Client) -> QuerySet:
    """Every learner with access through the codes of this customer's orders."""
    return (
        CourseAccess.objects.filter(tenant=tenant, code__order__client=client, revoked_at__isnull=True)
        .select_related("learner", "product_session__product", "code__order")
        .order_by("learner__last_name", "learner__first_name", "id")
    )


def access_of_learner(*, tenant: Tenant, learner_id: int) -> tuple[User, QuerySet]:
    """A learner's course access in this tenant; 404 when they have none here."""
    rows = (
        CourseAccess.objects.filter(tenant=tenant, learner_id=learner_id)
        .select_related("learner", "product_session__product", "code__order__client")
        .order_by(F("revoked_at").desc(nulls_first=True), "-granted_at")  # active first
    )
    first = rows.first()
    if first is None:
        raise Http404("No such learner here.")
    return first.learner, rows


def access_get(*, tenant: Tenant, access_id: int) -> CourseAccess:
    return get_object_or_404(
        CourseAccess.objects.filter(tenant=tenant).select_related("learner", "code__order__client"), pk=access_id
    )


def order_get(*, tenant: Tenant, order_id: int) -> SeatOrder:
    return get_object_or_404(SeatOrder.objects.filter(tenant=tenant).select_related("buyer"), pk=order_id)
