"""Demo registration codes: a course with a session that generates codes, a customer with an order
of ten seats (some assigned, some invited, one removed) and a learner who can sign in."""

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from accounts.models import User

from . import services
from .models import CourseAccess, Product, ProductSession, SeatOrder

LOGINS = {
    "customer@demo.tessera.test": ("Casey", "Customer", "demo-customer-pass"),
    "learner@demo.tessera.test": ("Lee", "Learner", "demo-learner-pass"),
}


def _login(email) -> User:
    first, last, password = LOGINS[email]
    user = User.objects.find_by_email(email) or User(email=email)
    user.first_name, user.last_name, user.is_active = first, last, True
    user.set_password(password)  # the printed logins always work
    user.save()
    return user


def seed(demo) -> None:
    tenant = demo.tenants["demo"]
    customer, learner = _login("customer@demo.tessera.test"), _login("learner@demo.tessera.test")
    demo.logins += [
        ("customer with 10 seats (Demo Studio)", customer.email, LOGINS[customer.email][2]),
        ("learner with a course (Demo Studio)", learner.email, LOGINS[learner.email][2]),
    ]
    product, _ = Product.objects.get_or_create(
        tenant=tenant, name="First aid at work", defaults={"description": "Two days, certificate included."}
    )
    start = timezone.localdate(timezone=tenant.zone) + timedelta(days=30)
    run, _ = ProductSession.objects.get_or_create(
        tenant=tenant,
        product=product,
        name="Spring group",
        defaults={
            "starts_on": start,
            "ends_on": start + timedelta(days=1),
            "price": Decimal("120.00"),
            "access_days": 180,
            "generates_codes": True,
        },
    )
    demo.notes.append("registration codes: sign in as the customer and open My Account → Registration Codes")
    if SeatOrder.objects.filter(tenant=tenant, buyer=customer, product_session=run).exists():
        return
    order = services.seat_order_create(tenant=tenant, product_session=run, buyer=customer, quantity=10)
    NewLearner = services.NewLearner
    services.learners_assign(
        tenant=tenant,
        order=order,
        learners=[
            NewLearner(learner.email),
            NewLearner("mara.jong@example.com", "Mara", "de Jong"),
            NewLearner("piet.smit@example.com", "Piet", "Smit"),
            NewLearner("left.early@example.com", "Lotte", "Vroeg"),
        ],
        actor=customer,
    )
    services.invites_send(
        tenant=tenant,
        order=order,
        emails=["invitee.one@example.com", "invitee.two@example.com"],
        phones={"invitee.one@example.com": "+31 6 12345678"},  # also by SMS
        message="Please join us for the first aid course.",
        actor=customer,
    )
    removed = CourseAccess.objects.get(tenant=tenant, learner__email="left.early@example.com", code__order=order)
    services.access_remove(tenant=tenant, access=removed, actor=customer)
