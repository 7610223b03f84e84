"""One of every kind of object in a tenant, related to each other as in real use; the isolation
walker fills URLs from it (so a URL with a contract and a code gets that contract's code)."""

from dataclasses import dataclass

from .factories import (
    BatchFactory,
    BookingFactory,
    ClientFactory,
    CodeFactory,
    ContractFactory,
    ImportJobFactory,
    MembershipFactory,
    OrganisationFactory,
    OutboundEmailFactory,
    ParticipantFactory,
    PriceFactory,
    SlotFactory,
    StaffInvitationFactory,
    invitation_with_token,
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
    objects = {
        "client_id": ClientFactory(tenant=tenant).pk,
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
    }
    return World(tenant, objects)
