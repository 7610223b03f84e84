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
