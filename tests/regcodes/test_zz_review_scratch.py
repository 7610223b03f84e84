import pytest
from django.contrib.auth import authenticate
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings

from accounts.models import Client
from imports.models import ImportJob, ImportStatus
from messaging import private
from messaging.models import OutboundEmail
from regcodes import services
from regcodes.models import CodeStatus, CourseAccess, LearnerInvite, RegistrationCode
from tenancy.urlresolvers import tenant_reverse

from ..conftest import member, signed_in
from ..factories import ClientFactory, ProductSessionFactory, UserFactory, seat_invite, seat_order
from tenancy.models import Role

pytestmark = pytest.mark.django_db


@pytest.fixture
def order(tenant):
    return seat_order(ProductSessionFactory(tenant=tenant), UserFactory(email="buyer@example.com"), quantity=3)


def upload(http, order, content, capture):
    url = tenant_reverse(order.tenant, "seats_portal:upload", order_id=order.pk)
    with capture(execute=True):
        response = http.post(url, {"file": SimpleUploadedFile("learners.csv", content)})
    return response


def commit(http, order, job, capture):
    url = tenant_reverse(order.tenant, "seats_portal:import_commit", order_id=order.pk, job_id=job.pk)
    with capture(execute=True):
        http.post(url)
    job.refresh_from_db()
    return job


def test_A_order_email_existing_login_shows_password_line(tenant, order):
    email = OutboundEmail.objects.get(template_key="regcodes.order_confirmation")
    print("BODY:", repr(email.body_text))
    print("REVEALED:", repr(private.reveal(email.body_text, email.private_values)))
    print("HTML has href=\"\"?", 'href=""' in private.reveal(email.body_html, email.private_values, is_html=True))
    print("private_link_delivered-style:", private.carries_private(email.body_text))


def test_B_prehijack_cross_tenant(tenant, other_tenant, order, client):
    victim_card = ClientFactory(tenant=other_tenant, email="victim@corp.example", first_name="Vic", last_name="Tim")
    http = signed_in(order.buyer)
    r = http.post(
        tenant_reverse(tenant, "seats_portal:learners", order_id=order.pk),
        {"email": "victim@corp.example", "first_name": "V", "last_name": "T", "password": "violet-marmot-47-lantern"},
    )
    print("create status", r.status_code)
    user = authenticate(username="victim@corp.example", password="violet-marmot-47-lantern")
    print("customer-chosen password works:", user is not None)
    c = signed_in(user)
    page = c.get(tenant_reverse(other_tenant, "portal:home"))
    victim_card.refresh_from_db()
    print("other tenant portal", page.status_code, "card linked to hijacked login:", victim_card.user_id == user.pk)


def test_B2_invite_link_copied_by_customer_sets_up_account(tenant, order):
    invite, token = seat_invite(order, email="boss@corp.example")
    from django.test import Client as C

    anon = C()
    url = tenant_reverse(tenant, "seats:accept", seat_token=token)
    r = anon.post(url, {"first_name": "X", "last_name": "Y", "password1": "violet-marmot-47-lantern", "password2": "violet-marmot-47-lantern"})
    print("accept by link holder", r.status_code, authenticate(username="boss@corp.example", password="violet-marmot-47-lantern") is not None)


def test_C_long_name_passes_check_then_commit_fails(tenant, order, django_capture_on_commit_callbacks):
    http = signed_in(order.buyer)
    content = b"first_name,last_name,email,password\n" + b"A" * 200 + b",Ng,ann@example.com,\n"
    upload(http, order, content, django_capture_on_commit_callbacks)
    job = ImportJob.objects.get()
    print("after check:", job.status, job.problems)
    if job.status == ImportStatus.VALID:
        job = commit(http, order, job, django_capture_on_commit_callbacks)
        print("after commit:", job.status, job.failure)


def test_E_email_over_254(tenant, order, django_capture_on_commit_callbacks):
    http = signed_in(order.buyer)
    email = ("a" * 60 + ".") * 3 + "b" * 40 + "@" + ("d" * 60 + ".") * 1 + "example.com"
    print("len", len(email))
    content = b"first_name,last_name,email,password\nAnn,Ng," + email.encode() + b",\n"
    upload(http, order, content, django_capture_on_commit_callbacks)
    job = ImportJob.objects.get()
    print("after check:", job.status, job.problems)
    if job.status == ImportStatus.VALID:
        job = commit(http, order, job, django_capture_on_commit_callbacks)
        print("after commit:", job.status, job.failure)


def test_D_staff_downloads_customer_passwords(tenant, order, django_capture_on_commit_callbacks):
    http = signed_in(order.buyer)
    content = b"first_name,last_name,email,password\nAnn,Ng,ann@example.com,violet-marmot-47-lantern\n"
    upload(http, order, content, django_capture_on_commit_callbacks)
    job = ImportJob.objects.get()
    job = commit(http, order, job, django_capture_on_commit_callbacks)
    staff = member(tenant, Role.STAFF, email="st@acme.example")
    s = signed_in(staff)
    lst = s.get(tenant_reverse(tenant, "imports:list"))
    f = s.get(tenant_reverse(tenant, "imports:file", job_id=job.pk))
    print("job", job.status, "list", lst.status_code, "file", f.status_code, b"violet-marmot" in f.content)


def test_F_big_ids(tenant, order):
    http = signed_in(order.buyer)
    for name, kw in [
        ("seats_portal:order", {"order_id": 99999999999999999999}),
        ("seats_portal:invite_again", {"order_id": order.pk, "seat_invite_id": 99999999999999999999}),
    ]:
        r = http.get(tenant_reverse(tenant, name, **kw))
        print(name, r.status_code)
    staff = member(tenant, Role.STAFF, email="st@acme.example")
    r = signed_in(staff).get(tenant_reverse(tenant, "courses:learner_access", learner_id=99999999999999999999))
    print("learner_access", r.status_code)


def test_G_reinvite_to_learner_with_access_and_pending(tenant, order):
    [access] = services.learners_assign(
        tenant=tenant, order=order, learners=[services.NewLearner("has@example.com", "H", "A")], actor=None
    )
    inv1, _ = seat_invite(order, email="one@example.com")
    inv2, _ = seat_invite(order, email="two@example.com")
    http = signed_in(order.buyer)
    r = http.post(
        tenant_reverse(tenant, "seats_portal:invite_again", order_id=order.pk, seat_invite_id=inv1.pk),
        {"email": "has@example.com"},
    )
    r2 = http.post(
        tenant_reverse(tenant, "seats_portal:invite_again", order_id=order.pk, seat_invite_id=inv1.pk),
        {"email": "two@example.com"},
    )
    print("reinvite to learner with access:", r.status_code, "to pending address:", r2.status_code)
    print(list(LearnerInvite.objects.filter(status="open").values_list("email", "code_id")))


def test_J_double_resend_two_emails(tenant, order):
    [access] = services.learners_assign(
        tenant=tenant, order=order, learners=[services.NewLearner("has@example.com", "H", "A")], actor=None
    )
    http = signed_in(order.buyer)
    url = tenant_reverse(tenant, "seats_portal:access_resend", order_id=order.pk, access_id=access.pk)
    http.post(url)
    http.post(url)
    print("login-detail emails:", OutboundEmail.objects.filter(template_key="regcodes.learner_login_details").count())


def test_M_secret_key_rotation_copy_link(tenant, order):
    invite, token = seat_invite(order, email="x@example.com")
    with override_settings(SECRET_KEY="another-secret-key-" + "x" * 40):
        shown = LearnerInvite.objects.get(pk=invite.pk).token
        print("link shown after rotation works:", services.invite_for_token(tenant=tenant, token=shown) is not None)


def test_Q_single_seat_order(tenant):
    buyer = UserFactory(email="solo@example.com")
    http = signed_in(buyer)
    run = ProductSessionFactory(tenant=tenant)
    r = http.post(tenant_reverse(tenant, "seats_portal:buy"), {"product_session": run.pk, "quantity": 1})
    print("buy 1:", r.status_code, r.get("Location"))
    home = http.get(tenant_reverse(tenant, "portal:home"))
    print("access rows:", CourseAccess.objects.filter(learner=buyer).count(), "R-0 in home:", "R-0" in home.content.decode())


def test_X_tick_earlier_and_type_same(tenant, order):
    other = seat_order(ProductSessionFactory(tenant=tenant), order.buyer, quantity=2)
    [a] = services.learners_assign(tenant=tenant, order=other, learners=[services.NewLearner("e@example.com", "E", "R")], actor=None)
    http = signed_in(order.buyer)
    r = http.post(
        tenant_reverse(tenant, "seats_portal:learners", order_id=order.pk),
        {"earlier": [a.learner_id], "email": "E@example.com", "first_name": "E", "last_name": "R"},
    )
    import re
    print("tick + type same:", r.status_code, re.findall(r'form-errors[^>]*>(.*?)</div>', r.content.decode(), re.S))


def test_Y_csv_invites_edge(tenant, order):
    http = signed_in(order.buyer)
    url = tenant_reverse(tenant, "seats_portal:invites", order_id=order.pk)
    import re
    for name, content in [
        ("empty", b""),
        ("header only", b"email\n"),
        ("bom semicolon", "\ufeffemail;first_name\nA@example.com;a\n".encode()),
        ("dup header", b"email,email\na@example.com,b@example.com\n"),
        ("formula", b"email\n=HYPERLINK(\"x\")\n"),
        ("latin1", "email\nj\xf6rg@example.com\n".encode("latin-1")),
    ]:
        r = http.post(url, {"addresses": "", "csv_file": SimpleUploadedFile("a.csv", content), "message": ""})
        errs = re.findall(r'class="field-error"[^>]*>(.*?)</p>', r.content.decode(), re.S)
        print(name, r.status_code, errs[:3])
    print(list(LearnerInvite.objects.values_list("email", flat=True)))


def test_Z_remove_then_learner_tile_and_expired(tenant, order):
    import datetime
    [a] = services.learners_assign(tenant=tenant, order=order, learners=[services.NewLearner("e@example.com", "E", "R")], actor=None)
    services.access_change_dates(tenant=tenant, access=a, starts_on=datetime.date(2020, 1, 1), ends_on=datetime.date(2020, 2, 1))
    http = signed_in(a.learner)
    page = http.get(tenant_reverse(tenant, "portal:home")).content.decode()
    print("expired course still listed:", "Access 1 Jan 2020" in page)


@pytest.mark.django_db(transaction=True)
def test_R_deadlock_two_orders_same_course_reverse_order(tenant):
    import threading
    from unittest import mock
    from ..races import race
    run = ProductSessionFactory(tenant=tenant)
    o1 = seat_order(run, UserFactory(email="b1@example.com"), quantity=2)
    o2 = seat_order(run, UserFactory(email="b2@example.com"), quantity=2)
    UserFactory(email="l1@example.com"); UserFactory(email="l2@example.com")
    meeting = threading.Barrier(2)
    real = services._claim
    calls = threading.local()

    def slow_claim(*a, **kw):
        result = real(*a, **kw)
        if not getattr(calls, "done", False):
            calls.done = True
            try:
                meeting.wait(timeout=3)
            except threading.BrokenBarrierError:
                pass
        return result

    with mock.patch.object(services, "_claim", slow_claim):
        out = race(tenant, [
            lambda: services.learners_assign(tenant=tenant, order=o1, learners=[services.NewLearner("l1@example.com"), services.NewLearner("l2@example.com")], actor=None),
            lambda: services.learners_assign(tenant=tenant, order=o2, learners=[services.NewLearner("l2@example.com"), services.NewLearner("l1@example.com")], actor=None),
        ])
    print("OUTCOMES:", [type(o).__name__ + ":" + str(o)[:120] for o in out])
