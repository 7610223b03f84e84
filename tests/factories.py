"""factory-boy factories. Related rows stay in one tenant: pass ``tenant=`` and the rest follows."""

from datetime import timedelta

import factory
from django.utils import timezone

from accounts.models import Client, User
from messaging.models import OutboundEmail
from tenancy.models import Membership, Role, StaffInvitation, Tenant
from tenancy.tokens import token_new

DEFAULT_PASSWORD = "correct-horse-battery"


class TenantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tenant

    name = factory.Sequence(lambda n: f"Studio {n}")
    slug = factory.Sequence(lambda n: f"studio-{n}")
    time_zone = "Europe/Amsterdam"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.com")
    first_name = "Pat"
    last_name = factory.Sequence(lambda n: f"Person{n}")
    password = factory.PostGenerationMethodCall("set_password", DEFAULT_PASSWORD)

    @factory.post_generation
    def save_password(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    tenant = factory.SubFactory(TenantFactory)
    user = factory.SubFactory(UserFactory)
    role = Role.STAFF


class ClientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Client

    tenant = factory.SubFactory(TenantFactory)
    first_name = "Chris"
    last_name = factory.Sequence(lambda n: f"Client{n:04d}")
    email = factory.LazyAttribute(lambda c: f"{c.last_name.lower()}@clients.example.com")


class StaffInvitationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StaffInvitation

    tenant = factory.SubFactory(TenantFactory)
    email = factory.Sequence(lambda n: f"invitee{n}@example.com")
    role = Role.STAFF
    token_hash = factory.LazyFunction(lambda: token_new()[1])
    expires_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=7))


def invitation_with_token(**kwargs) -> tuple[StaffInvitation, str]:
    """An invitation and the raw token of its link (only the hash is stored)."""
    raw, hashed = token_new()
    return StaffInvitationFactory(token_hash=hashed, **kwargs), raw


class OutboundEmailFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OutboundEmail

    tenant = factory.SubFactory(TenantFactory)
    to_email = factory.Sequence(lambda n: f"recipient{n}@example.com")
    subject = "Hello"
    body_text = "Hello there\n"
    body_html = "<p>Hello there</p>"
    template_key = "tenancy.staff_invitation"
    idempotency_key = factory.Sequence(lambda n: f"test:{n}")


# Bookings, contracts, invitations, imports -------------------------------------------------------

from datetime import date, time  # noqa: E402
from decimal import Decimal  # noqa: E402

from bookings.models import Booking, Service, Slot, WeeklyAvailability  # noqa: E402
from contracts.models import Contract, ContractPrice, Organisation, Participant  # noqa: E402
from imports.models import ImportJob  # noqa: E402
from invitations.models import CodeBatch, InvitationCode  # noqa: E402


class InTenant(factory.django.DjangoModelFactory):
    """A row whose parent row (``parent_field``) decides its tenant.

    Pass ``tenant=`` and the parents are made in that tenant too; pass a parent and the row takes
    the parent's tenant. Either way a chain of related rows never straddles two tenants.
    """

    parent_field = None

    class Meta:
        abstract = True
        exclude = ["parent_field"]

    tenant = factory.SubFactory(TenantFactory)

    @classmethod
    def _adjust_kwargs(cls, **kwargs):
        parent = kwargs.get(cls.parent_field) if cls.parent_field else None
        if parent is not None:
            kwargs["tenant"] = parent.tenant
        return kwargs


def in_parent_tenant():
    return factory.SelfAttribute("..tenant")


class ServiceFactory(InTenant):
    class Meta:
        model = Service

    name = factory.Sequence(lambda n: f"Session type {n}")
    duration_minutes = 60
    price = Decimal("40.00")


class AvailabilityFactory(InTenant):
    """09:00–17:00 on the given weekday, so tests always find slots."""

    class Meta:
        model = WeeklyAvailability

    parent_field = "service"
    service = factory.SubFactory(ServiceFactory, tenant=in_parent_tenant())
    weekday = 0
    start_time = time(9)
    end_time = time(17)
    slot_capacity = 3


def open_every_day(service, capacity=3, start=time(9), end=time(17)):
    for weekday in range(7):
        AvailabilityFactory(service=service, weekday=weekday, slot_capacity=capacity, start_time=start, end_time=end)
    return service


class OrganisationFactory(InTenant):
    class Meta:
        model = Organisation

    name = factory.Sequence(lambda n: f"Client Org {n}")


def _prefix(n: int) -> str:
    alphabet = "ABCDEFGHJKMNPQRSTVWXYZ"
    return "P" + alphabet[n % len(alphabet)] + alphabet[(n // len(alphabet)) % len(alphabet)] + alphabet[n // 484 % 22]


class ContractFactory(InTenant):
    class Meta:
        model = Contract

    parent_field = "organisation"
    organisation = factory.SubFactory(OrganisationFactory, tenant=in_parent_tenant())
    name = factory.Sequence(lambda n: f"Contract {n}")
    invitation_prefix = factory.Sequence(_prefix)
    starts_on = factory.LazyFunction(lambda: date(2020, 1, 1))


class PriceFactory(InTenant):
    """Its service is open every day 09:00–17:00 with 3 places per slot."""

    class Meta:
        model = ContractPrice

    parent_field = "contract"
    contract = factory.SubFactory(ContractFactory, tenant=in_parent_tenant())
    service = factory.LazyAttribute(lambda o: open_every_day(ServiceFactory(tenant=o.contract.tenant)))
    amount = Decimal("25.00")
    price_code = factory.Sequence(lambda n: f"P{n}")


class ParticipantFactory(InTenant):
    class Meta:
        model = Participant

    parent_field = "contract"
    contract = factory.SubFactory(ContractFactory, tenant=in_parent_tenant())
    first_name = "Pia"
    last_name = factory.Sequence(lambda n: f"Participant{n:05d}")
    email = factory.LazyAttribute(lambda o: f"{o.last_name.lower()}@staff.example")


class CodeFactory(InTenant):
    class Meta:
        model = InvitationCode

    parent_field = "price"
    price = factory.SubFactory(PriceFactory, tenant=in_parent_tenant())
    contract = factory.LazyAttribute(lambda o: o.price.contract)
    code = factory.Sequence(lambda n: f"TESTC{n:09d}")


class BatchFactory(InTenant):
    class Meta:
        model = CodeBatch

    parent_field = "price"
    price = factory.SubFactory(PriceFactory, tenant=in_parent_tenant())
    contract = factory.LazyAttribute(lambda o: o.price.contract)
    quantity = 3
    width = 10


class SlotFactory(InTenant):
    class Meta:
        model = Slot

    parent_field = "service"
    service = factory.SubFactory(ServiceFactory, tenant=in_parent_tenant())
    starts_at = factory.LazyFunction(lambda: timezone.now().replace(microsecond=0) + timedelta(days=3))
    ends_at = factory.LazyAttribute(lambda o: o.starts_at + timedelta(hours=1))
    capacity = 5
    booked = 1


class BookingFactory(InTenant):
    class Meta:
        model = Booking

    parent_field = "slot"
    slot = factory.SubFactory(SlotFactory, tenant=in_parent_tenant())
    service = factory.LazyAttribute(lambda o: o.slot.service)
    starts_at = factory.LazyAttribute(lambda o: o.slot.starts_at)
    ends_at = factory.LazyAttribute(lambda o: o.slot.ends_at)
    reference = factory.Sequence(lambda n: f"ref{n:012d}")
    first_name = "Bo"
    last_name = factory.Sequence(lambda n: f"Booker{n}")
    email = factory.LazyAttribute(lambda o: f"{o.last_name.lower()}@example.com")


class ImportJobFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ImportJob

    tenant = factory.SubFactory(TenantFactory)
    kind = "contracts.participants"
    params = factory.LazyAttribute(lambda o: {"contract": ContractFactory(tenant=o.tenant).pk})
    original_name = "participants.csv"
    content = b"first_name,last_name,email,price_code\n"


from sessions_roster.models import DiscountCode, Session  # noqa: E402
from sessions_roster.services import checkout as session_checkout  # noqa: E402
from sessions_roster.services import invitations as session_invitations  # noqa: E402
from sessions_roster.services import waitlist as session_waitlist  # noqa: E402
from tenancy import tokens as session_tokens  # noqa: E402


class SessionFactory(InTenant):
    """A session a week ahead, open for registration. Spots are taken only through the services
    (``session_register``, ``session_invite``, ``waitlist_add``), so the counter stays true."""

    class Meta:
        model = Session

    key = factory.Sequence(lambda n: f"sess{n:08d}")
    title = factory.Sequence(lambda n: f"Workshop {n}")
    location = "Room 1"
    starts_at = factory.LazyFunction(lambda: timezone.now().replace(microsecond=0) + timedelta(days=7))
    ends_at = factory.LazyAttribute(lambda o: o.starts_at + timedelta(hours=2))
    capacity = 5
    price = Decimal("20.00")


class DiscountFactory(InTenant):
    class Meta:
        model = DiscountCode

    code = factory.Sequence(lambda n: f"SAVE{n}")
    kind = "percent"
    value = Decimal("10")


def session_register(session, email=None, *, first_name="Reg", last_name="Istrant", discount="", invitation=None):
    """Check out one spot in ``session`` (through its invitation if given); returns the order."""
    email = email or f"{session_register.counter}@attendees.example.com"
    session_register.counter += 1
    line = session_checkout.CartLine(session.pk, invitation_id=invitation.pk if invitation else None)
    return session_checkout.order_checkout(
        tenant=session.tenant,
        lines=[line],
        attendee=session_checkout.Attendee(first_name, last_name, email),
        discount_text=discount,
        proven_invitations=frozenset([invitation.pk]) if invitation else frozenset(),
    )


session_register.counter = 0


def session_invite(session, email="invitee@example.com", **kwargs):
    """Invite through the service; returns ``(invitation, token of its link)``."""
    invitation = session_invitations.invitation_send(tenant=session.tenant, session=session, email=email, **kwargs)
    return invitation, session_tokens.link_token("sessions_roster.invitation", invitation.token_salt)


def waitlist_add(session, email="waiting@example.com", first_name="Wait", last_name="Ing"):
    return session_waitlist.waitlist_join(
        tenant=session.tenant, session=session, first_name=first_name, last_name=last_name, email=email
    )


def offer_token(entry) -> str:
    entry.refresh_from_db()
    return session_tokens.link_token("sessions_roster.offer", entry.offer_salt)


from regcodes.models import Product, ProductSession  # noqa: E402
from regcodes.services import NewLearner, invites_send, seat_order_create  # noqa: E402


class ProductFactory(InTenant):
    class Meta:
        model = Product

    name = factory.Sequence(lambda n: f"Course {n}")


class ProductSessionFactory(InTenant):
    """A course run that generates registration codes, a month ahead."""

    class Meta:
        model = ProductSession

    parent_field = "product"
    product = factory.SubFactory(ProductFactory, tenant=in_parent_tenant())
    name = factory.Sequence(lambda n: f"Run {n}")
    starts_on = factory.LazyFunction(lambda: timezone.localdate() + timedelta(days=30))
    ends_on = factory.LazyAttribute(lambda o: o.starts_on + timedelta(days=2))
    price = Decimal("100.00")
    access_days = 90
    generates_codes = True


def seat_order(product_session, buyer, quantity=5):
    """An order of seats through the service (so its codes are made as in real use)."""
    return seat_order_create(
        tenant=product_session.tenant, product_session=product_session, buyer=buyer, quantity=quantity
    )


def seat_invite(order, email="learner@example.com", **kwargs):
    """Invite ``email`` to a seat of ``order``; returns ``(invite, token of its link)``."""
    [invite] = invites_send(tenant=order.tenant, order=order, emails=[email], actor=None, **kwargs)
    return invite, invite.token


__all__ = ["NewLearner"]  # for tests that build learners
