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


class ServiceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Service

    tenant = factory.SubFactory(TenantFactory)
    name = factory.Sequence(lambda n: f"Session type {n}")
    duration_minutes = 60
    price = Decimal("40.00")


class AvailabilityFactory(factory.django.DjangoModelFactory):
    """Every day of the week, 09:00–17:00, so tests always find slots."""

    class Meta:
        model = WeeklyAvailability

    service = factory.SubFactory(ServiceFactory)
    tenant = factory.LazyAttribute(lambda o: o.service.tenant)
    weekday = 0
    start_time = time(9)
    end_time = time(17)
    slot_capacity = 3


def open_every_day(service, capacity=3, start=time(9), end=time(17)):
    for weekday in range(7):
        AvailabilityFactory(service=service, weekday=weekday, slot_capacity=capacity, start_time=start, end_time=end)
    return service


class OrganisationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organisation

    tenant = factory.SubFactory(TenantFactory)
    name = factory.Sequence(lambda n: f"Client Org {n}")


def _prefix(n: int) -> str:
    alphabet = "ABCDEFGHJKMNPQRSTVWXYZ"
    return "P" + alphabet[n % len(alphabet)] + alphabet[(n // len(alphabet)) % len(alphabet)] + alphabet[n // 484 % 22]


class ContractFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contract

    organisation = factory.SubFactory(OrganisationFactory)
    tenant = factory.LazyAttribute(lambda o: o.organisation.tenant)
    name = factory.Sequence(lambda n: f"Contract {n}")
    invitation_prefix = factory.Sequence(_prefix)
    starts_on = factory.LazyFunction(lambda: date(2020, 1, 1))


class PriceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ContractPrice

    contract = factory.SubFactory(ContractFactory)
    tenant = factory.LazyAttribute(lambda o: o.contract.tenant)
    service = factory.LazyAttribute(lambda o: open_every_day(ServiceFactory(tenant=o.contract.tenant)))
    amount = Decimal("25.00")
    price_code = factory.Sequence(lambda n: f"P{n}")


class ParticipantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Participant

    contract = factory.SubFactory(ContractFactory)
    tenant = factory.LazyAttribute(lambda o: o.contract.tenant)
    first_name = "Pia"
    last_name = factory.Sequence(lambda n: f"Participant{n:05d}")
    email = factory.LazyAttribute(lambda o: f"{o.last_name.lower()}@staff.example")


class CodeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = InvitationCode

    price = factory.SubFactory(PriceFactory)
    contract = factory.LazyAttribute(lambda o: o.price.contract)
    tenant = factory.LazyAttribute(lambda o: o.price.tenant)
    code = factory.Sequence(lambda n: f"TESTC{n:09d}")


class BatchFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CodeBatch

    price = factory.SubFactory(PriceFactory)
    contract = factory.LazyAttribute(lambda o: o.price.contract)
    tenant = factory.LazyAttribute(lambda o: o.price.tenant)
    quantity = 3
    width = 10


class SlotFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Slot

    service = factory.SubFactory(ServiceFactory)
    tenant = factory.LazyAttribute(lambda o: o.service.tenant)
    starts_at = factory.LazyFunction(lambda: timezone.now().replace(microsecond=0) + timedelta(days=3))
    ends_at = factory.LazyAttribute(lambda o: o.starts_at + timedelta(hours=1))
    capacity = 5
    booked = 1


class BookingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Booking

    slot = factory.SubFactory(SlotFactory)
    tenant = factory.LazyAttribute(lambda o: o.slot.tenant)
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
