"""My Account with another customer's ids of the same workspace: their seat order, invitation,
learner access or earlier learner, and another client's package — a 404 or a message on the page,
and no row changes. (Another workspace's ids are the isolation walker's; these are all one tenant's.)"""

import pytest

from accounts.models import User
from bookings.models import Booking
from packages_credits.models import ClientPackage
from regcodes.models import CourseAccess, SeatOrder

from ..conftest import signed_in
from ..factories import ClientFactory, NewLearner, ProductSessionFactory, UserFactory, seat_order
from ..world import build_world
from .helpers import INVALID_CHOICE, page_text, snapshot, tenant_reverse


@pytest.fixture
def here(tenant):
    return build_world(tenant)


@pytest.fixture
def victim_order(here):
    return SeatOrder.objects.get(pk=here.objects["order_id"])


@pytest.fixture
def intruder(tenant, here):
    """Another customer of the same workspace, with a seat order of their own on the same course."""
    user = UserFactory(email="intruder@example.com")
    run = ProductSessionFactory._meta.model.objects.get(pk=here.objects["product_session_id"])
    user.own_order = seat_order(run, user)
    return user


@pytest.fixture
def unchanged(tenant, here, intruder):
    before = snapshot(tenant)
    return lambda: snapshot(tenant) == before


def url(tenant, name, **kwargs):
    return tenant_reverse(tenant, name, **kwargs)


def test_another_customers_seat_order_is_not_found(tenant, victim_order, intruder, unchanged):
    http = signed_in(intruder)
    order_id = victim_order.pk
    assert http.get(url(tenant, "seats_portal:order", order_id=intruder.own_order.pk)).status_code == 200
    assert http.get(url(tenant, "seats_portal:order", order_id=order_id)).status_code == 404
    for name in ("seats_portal:learners", "seats_portal:invites", "seats_portal:upload"):
        response = http.post(
            url(tenant, name, order_id=order_id), {"email": "x@example.com", "emails": "x@example.com"}
        )
        assert response.status_code == 404, name
    assert unchanged()


@pytest.mark.parametrize(
    "name", ["seats_portal:invite_withdraw", "seats_portal:invite_assign", "seats_portal:invite_again"]
)
def test_another_customers_invitation_under_your_own_order_is_not_found(tenant, here, intruder, unchanged, name):
    http = signed_in(intruder)
    target = url(tenant, name, order_id=intruder.own_order.pk, seat_invite_id=here.objects["seat_invite_id"])
    assert http.get(target).status_code == 404
    assert http.post(target, {"email": "intruder@example.com"}).status_code == 404
    assert unchanged()


@pytest.mark.parametrize("name", ["seats_portal:access_remove", "seats_portal:access_resend"])
def test_another_customers_learner_under_your_own_order_is_not_found(tenant, here, intruder, unchanged, name):
    http = signed_in(intruder)
    target = url(tenant, name, order_id=intruder.own_order.pk, access_id=here.objects["access_id"])
    assert http.get(target).status_code == 404
    assert http.post(target).status_code == 404
    assert unchanged()
    assert CourseAccess.objects.get(pk=here.objects["access_id"]).revoked_at is None


def test_ticking_another_customers_learner_as_an_earlier_learner_is_refused(tenant, here, intruder):
    """The intruder has an earlier learner of their own (so the list is shown) and ticks the
    victim's learner instead, for a seat on another course run."""
    from regcodes.services import learners_assign

    learners_assign(
        tenant=tenant, order=intruder.own_order, learners=[NewLearner("mine@example.com", "Mi", "Ne")], actor=None
    )
    other_run = ProductSessionFactory(tenant=tenant)
    second = seat_order(other_run, intruder)
    victim_learner = User.objects.get(pk=here.objects["learner_id"])
    before = snapshot(tenant)

    response = signed_in(intruder).post(
        url(tenant, "seats_portal:learners", order_id=second.pk), {"earlier": [victim_learner.pk]}
    )

    assert response.status_code == 200
    assert INVALID_CHOICE in page_text(response)
    assert snapshot(tenant) == before
    assert not CourseAccess.objects.filter(tenant=tenant, learner=victim_learner, product_session=other_run).exists()


def test_staff_cannot_reach_a_clients_package_through_another_clients_card(owner_http, tenant, here):
    other_card = ClientFactory(tenant=tenant)
    before = snapshot(tenant)
    held = here.objects["client_package_id"]
    for name in ("packages:payment", "packages:cancel"):
        target = url(tenant, name, client_id=other_card.pk, client_package_id=held)
        assert owner_http.get(target).status_code == 404, name
        assert owner_http.post(target, {"amount": "10.00", "method": "cash", "reason": "x"}).status_code == 404, name
    assert snapshot(tenant) == before


def test_a_customer_cannot_book_with_a_service_only_another_clients_package_covers(tenant, here):
    """Their own card holds no package; the service id in the query is one another client's covers."""
    user = UserFactory(email="nopackage@example.com")
    ClientFactory(tenant=tenant, user=user, email=user.email)
    before = snapshot(tenant)
    http = signed_in(user)
    service_id = here.objects["service_id"]
    target = url(tenant, "packages_portal:book")
    page = http.get(target, {"service": service_id})
    assert page.status_code == 200 and 'name="starts_at"' not in page.content.decode()
    assert http.post(f"{target}?service={service_id}", {"starts_at": "2030-01-01T09:00:00+00:00"}).status_code == 200
    assert snapshot(tenant) == before
    assert not Booking.objects.filter(tenant=tenant, email=user.email).exists()


def test_buying_a_package_of_another_workspace_in_my_account_is_refused(tenant, other_tenant, here, unchanged):
    foreign = build_world(other_tenant).objects["package_id"]
    user = UserFactory(email="buyer-of-packages@example.com")
    before = ClientPackage.objects.count()
    response = signed_in(user).post(url(tenant, "packages_portal:buy"), {"package": foreign}, follow=True)
    assert "Pick one of the packages shown." in page_text(response)
    assert ClientPackage.objects.count() == before


def test_another_customers_learner_upload_is_not_found_under_your_own_order(tenant, victim_order, intruder, owner):
    from imports.models import ImportStatus
    from regcodes import learners_csv

    from ..factories import ImportJobFactory

    job = ImportJobFactory(
        tenant=tenant,
        kind=learners_csv.KIND,
        params={"order": victim_order.pk, "buyer": victim_order.buyer_id},
        created_by=victim_order.buyer,
        content=b"email,first_name,last_name\nvictim-learner@example.com,Vic,Tim\n",
        status=ImportStatus.VALID,
    )
    before = snapshot(tenant)
    http = signed_in(intruder)
    for order in (intruder.own_order, victim_order):
        for name in ("seats_portal:import", "seats_portal:import_commit"):
            target = url(tenant, name, order_id=order.pk, job_id=job.pk)
            assert http.get(target).status_code == 404, (name, order)
            assert http.post(target).status_code == 404, (name, order)
    # Staff do not complete a customer's upload from the imports pages either.
    staff_http = signed_in(owner)
    assert staff_http.get(url(tenant, "imports:detail", job_id=job.pk)).status_code == 404
    assert staff_http.post(url(tenant, "imports:commit", job_id=job.pk)).status_code == 404
    assert snapshot(tenant) == before
    # The control: its own buyer reaches it.
    assert (
        signed_in(victim_order.buyer)
        .get(url(tenant, "seats_portal:import", order_id=victim_order.pk, job_id=job.pk))
        .status_code
        == 200
    )
