"""One of every kind of object in a tenant, related to each other as in real use; the isolation
walker fills URLs from it (so a URL with a contract and a code gets that contract's code)."""

from dataclasses import dataclass
from decimal import Decimal

from .factories import (
    BatchFactory,
    BookingFactory,
    ClientFactory,
    CodeFactory,
    ContractFactory,
    DiscountFactory,
    ImportJobFactory,
    MembershipFactory,
    OrganisationFactory,
    OutboundEmailFactory,
    ParticipantFactory,
    PriceFactory,
    ProductSessionFactory,
    SessionFactory,
    SlotFactory,
    StaffInvitationFactory,
    UserFactory,
    invitation_with_token,
    offer_token,
    seat_invite,
    seat_order,
    session_invite,
    session_register,
    waitlist_add,
)


@dataclass
class World:
    tenant: object
    objects: dict


def build_world(tenant) -> World:
    organisation = OrganisationFactory(tenant=tenant)
    contract = ContractFactory(tenant=tenant, organisation=organisation)
    price = PriceFactory(tenant=tenant, contract=contract)
    participant = ParticipantFactory(tenant=tenant, contract=contract)
    code = CodeFactory(tenant=tenant, contract=contract, price=price, participant=participant)
    service = price.service
    slot = SlotFactory(tenant=tenant, service=service)
    booking = BookingFactory(tenant=tenant, slot=slot, service=service)
    _, token = invitation_with_token(tenant=tenant)
    session = SessionFactory(tenant=tenant, capacity=3)
    discount = DiscountFactory(tenant=tenant)
    order = session_register(session)
    invite, invite_token = session_invite(session, discount_code=discount)
    session_register(session)  # now full: the next person waits, then gets the spot a cancellation frees
    entry = waitlist_add(session)
    from sessions_roster.services.invitations import invitation_cancel

    invitation_cancel(tenant=tenant, invitation=invite, actor=None)
    pending, invite_token = session_invite(session, email="second-invitee@example.com", raise_capacity=True)
    buyer = UserFactory()
    course_run = ProductSessionFactory(tenant=tenant)
    seats = seat_order(course_run, buyer)
    seat_inv, seat_token = seat_invite(seats)
    from regcodes.services import NewLearner, learners_assign

    [seat_access] = learners_assign(
        tenant=tenant, order=seats, learners=[NewLearner("seated@example.com", "Sea", "Ted")], actor=None
    )
    card = ClientFactory(tenant=tenant)
    from packages_credits.services import client_package_add, default_expiry, package_save

    package = package_save(
        tenant=tenant, items=[(service, 5)], name="Five sessions", price=Decimal("100.00"), validity_days=90
    )
    held = client_package_add(
        tenant=tenant,
        client=card,
        package=package,
        price=package.price,
        expires_on=default_expiry(tenant=tenant, package=package),
    )
    objects = {
        "client_id": card.pk,
        "package_id": package.pk,
        "client_package_id": held.pk,
        "member_id": MembershipFactory(tenant=tenant).pk,
        "invitation_id": StaffInvitationFactory(tenant=tenant).pk,
        "email_id": OutboundEmailFactory(tenant=tenant).pk,
        "token": token,
        "organisation_id": organisation.pk,
        "contract_id": contract.pk,
        "price_id": price.pk,
        "participant_id": participant.pk,
        "code_id": code.pk,
        "batch_id": BatchFactory(tenant=tenant, contract=contract, price=price).pk,
        "service_id": service.pk,
        "availability_id": service.availability.first().pk,
        "booking_id": booking.pk,
        "reference": booking.reference,
        "job_id": ImportJobFactory(tenant=tenant, params={"contract": contract.pk}).pk,
        "session_id": session.pk,
        "session_key": session.key,
        "invite_id": pending.pk,
        "invite_token": invite_token,
        "registration_id": order.registrations.get().pk,
        "order_reference": order.reference,
        "entry_id": entry.pk,
        "offer_token": offer_token(entry),
        "discount_id": discount.pk,
        "seat_token": seat_token,
        "order_id": seats.pk,
        "seat_invite_id": seat_inv.pk,
        "access_id": seat_access.pk,
        "product_id": course_run.product_id,
        "product_session_id": course_run.pk,
        "learner_id": seat_access.learner_id,
        "api_key_id": _api_key(tenant).pk,
    }
    from .webhooks.factories import DeliveryFactory

    delivery = DeliveryFactory(tenant=tenant)
    objects.update(endpoint_id=delivery.endpoint_id, delivery_id=delivery.pk)
    from audit.models import AuditEvent

    objects["event_id"] = AuditEvent.objects.filter(tenant=tenant).latest("id").pk
    from privacy.models import DataExport

    objects["export_id"] = DataExport.objects.create(tenant=tenant).pk
    return World(tenant, objects)


def _api_key(tenant):
    from api.services import api_key_create

    return api_key_create(tenant=tenant, name="World key", scope="read", actor=None)[0]
