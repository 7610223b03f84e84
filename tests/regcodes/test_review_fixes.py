"""Fixes from the review of registration codes: logins made for someone else prove no address,
customer uploads with passwords stay the customer's and are emptied, order emails, paying."""

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.test import Client as Browser
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from accounts.models import Client, User
from imports.models import ImportJob, ImportStatus
from messaging import private
from messaging.models import OutboundEmail
from regcodes import learners_csv, services
from regcodes.models import SeatOrderStatus
from tenancy.models import Role
from tenancy.urlresolvers import tenant_reverse

from ..conftest import member, signed_in
from ..factories import ClientFactory, ProductSessionFactory, TenantFactory, UserFactory, seat_invite, seat_order
from .test_learners_upload import upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def order(tenant):
    return seat_order(ProductSessionFactory(tenant=tenant), UserFactory(email="buyer@example.com"), quantity=3)


def body(email: OutboundEmail) -> str:
    return private.reveal(email.body_text, email.private_values)


def test_a_login_a_customer_made_links_no_client_card_in_another_workspace_until_its_owner_proves_it(tenant, order):
    services.learners_assign(
        tenant=tenant,
        order=order,
        learners=[services.NewLearner("victim@corp.example", "Vic", "Tim", "a-password-the-customer-knows")],
        actor=order.buyer,
    )
    victim = User.objects.get(email="victim@corp.example")
    assert not victim.email_verified
    elsewhere = TenantFactory(slug="elsewhere")
    card = ClientFactory(tenant=elsewhere, email="victim@corp.example")

    signed_in(victim).get(f"/t/{elsewhere.slug}/account/")
    assert Client.objects.get(pk=card.pk).user_id is None

    # The owner uses the emailed set-password link: now the address is theirs.
    uid, token = urlsafe_base64_encode(force_bytes(victim.pk)), default_token_generator.make_token(victim)
    http = signed_in(UserFactory())
    http.logout()
    step = http.get(f"/accounts/password/reset/{uid}/{token}/")
    http.post(step.url, {"new_password1": "my-own-secret-2027", "new_password2": "my-own-secret-2027"})
    assert User.objects.get(pk=victim.pk).email_verified
    signed_in(User.objects.get(pk=victim.pk)).get(f"/t/{elsewhere.slug}/account/")
    assert Client.objects.get(pk=card.pk).user_id == victim.pk


def test_a_customer_upload_with_passwords_is_not_on_the_staff_pages_and_is_emptied_when_done(
    tenant, order, django_capture_on_commit_callbacks
):
    content = b"first_name,last_name,email,password\nAnn,Ng,ann@example.com,violet-marmot-47-lantern\n"
    upload(signed_in(order.buyer), order, content, django_capture_on_commit_callbacks)
    job = ImportJob.objects.get()
    staff = signed_in(member(tenant, Role.OWNER))

    assert staff.get(f"/t/{tenant.slug}/imports/{job.pk}/").status_code == 404
    assert staff.get(f"/t/{tenant.slug}/imports/{job.pk}/file/").status_code == 404
    assert staff.post(f"/t/{tenant.slug}/imports/{job.pk}/commit/").status_code == 404
    assert f"/imports/{job.pk}/" not in staff.get(f"/t/{tenant.slug}/imports/").content.decode()

    commit = tenant_reverse(tenant, "seats_portal:import_commit", order_id=order.pk, job_id=job.pk)
    with django_capture_on_commit_callbacks(execute=True):
        signed_in(order.buyer).post(commit)
    job.refresh_from_db()
    assert job.status == ImportStatus.COMMITTED and bytes(job.content) == b""


def test_an_upload_with_problems_is_emptied_at_once(tenant, order, django_capture_on_commit_callbacks):
    content = b"first_name,last_name,email,password\n" + b"A" * 200 + b",Ng,ann@example.com,secret-pass-123\n"
    upload(signed_in(order.buyer), order, content, django_capture_on_commit_callbacks)

    job = ImportJob.objects.get()
    assert job.status == ImportStatus.INVALID and bytes(job.content) == b""
    assert {(p["row"], p["column"]) for p in job.problems} == {(2, "first_name")}
    assert job.problems[0]["message"] == learners_csv.TOO_LONG.format(n=150)


def test_an_order_email_asks_to_choose_a_password_only_for_a_new_login(tenant):
    run = ProductSessionFactory(tenant=tenant)
    staff = member(tenant, Role.STAFF)
    services.seat_order_for_customer(
        tenant=tenant,
        product_session=run,
        email="new@example.com",
        first_name="N",
        last_name="Ew",
        quantity=2,
        actor=staff,
    )
    UserFactory(email="old@example.com")
    services.seat_order_for_customer(
        tenant=tenant,
        product_session=run,
        email="old@example.com",
        first_name="O",
        last_name="Ld",
        quantity=2,
        actor=staff,
    )

    new, old = (
        OutboundEmail.objects.get(to_email=e, template_key="regcodes.order_confirmation")
        for e in ("new@example.com", "old@example.com")
    )
    assert "Choose your password" in body(new) and "/accounts/password/reset/" in body(new)
    assert "Choose your password" not in body(old) and "private-" not in body(old)


def test_staff_mark_a_seat_order_paid_once_and_the_customer_is_told(tenant, order):
    http = signed_in(member(tenant, Role.STAFF))
    paid = tenant_reverse(tenant, "courses:order_paid", order_id=order.pk)

    assert "Record that order" in http.get(paid).content.decode()
    http.post(paid)
    http.post(paid)  # a second click changes nothing

    order.refresh_from_db()
    assert order.status == SeatOrderStatus.PAID and order.paid_at is not None
    assert (
        OutboundEmail.objects.filter(template_key="regcodes.payment_received", to_email="buyer@example.com").count()
        == 1
    )


def test_setting_up_an_account_for_a_seat_just_taken_leaves_no_login_behind(tenant, order):
    first, _ = seat_invite(order, "first@example.com")
    second = services.invite_again(tenant=tenant, invite=first, email="second@example.com", actor=None)
    services.invite_assign_directly(tenant=tenant, invite=first, actor=None)  # the seat goes to first

    page = Browser().post(
        tenant_reverse(tenant, "seats:accept", seat_token=second.token),
        {"first_name": "Se", "last_name": "Cond", "password1": "a-long-pass-2027", "password2": "a-long-pass-2027"},
    )
    assert page.status_code == 410
    assert not User.objects.filter(email="second@example.com").exists()
