"""The writes of Contract Management: each service keeps its rule inside the tenant, and every change
of a contract writes its history line in the same transaction."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from contracts import services
from contracts.models import Contract, ContractEvent, ContractPrice, EventKind, Participant

from ..factories import (
    CodeFactory,
    ContractFactory,
    OrganisationFactory,
    ParticipantFactory,
    PriceFactory,
    ServiceFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def organisation(tenant):
    return OrganisationFactory(tenant=tenant, name="Initech")


@pytest.fixture
def contract(tenant, organisation):
    return ContractFactory(tenant=tenant, organisation=organisation, invitation_prefix="ACME")


def new_contract(tenant, organisation, actor=None, **fields):
    values = {"name": "Onboarding", "invitation_prefix": "NEW", "starts_on": date(2025, 1, 1), **fields}
    return services.contract_save(tenant=tenant, organisation=organisation, actor=actor, **values)


def messages_of(exc_info, field) -> list[str]:
    return exc_info.value.message_dict[field]


# Organisations


def test_an_organisation_name_is_taken_whatever_its_case(tenant, organisation):
    with pytest.raises(ValidationError) as refused:
        services.organisation_save(tenant=tenant, name="INITECH")

    assert messages_of(refused, "name") == [services.ORGANISATION_NAME_TAKEN]
    assert list(type(organisation).objects.filter(tenant=tenant)) == [organisation]


def test_the_same_organisation_name_is_fine_in_another_tenant(other_tenant, organisation):
    services.organisation_save(tenant=other_tenant, name="Initech")

    assert type(organisation).objects.filter(name="Initech").count() == 2


def test_an_organisation_may_keep_its_own_name_in_another_case(tenant, organisation):
    services.organisation_save(tenant=tenant, organisation=organisation, name="INITECH")

    organisation.refresh_from_db()
    assert organisation.name == "INITECH"


# Contracts


def test_a_new_contract_gets_an_uppercase_prefix_and_a_history_line_naming_who(tenant, organisation, admin):
    contract = new_contract(tenant, organisation, actor=admin, invitation_prefix="abc")

    assert contract.invitation_prefix == "ABC"
    event = ContractEvent.objects.get(contract=contract)
    assert (event.kind, event.actor, event.summary) == (
        EventKind.CONTRACT_CREATED,
        admin,
        "Contract “Onboarding” created.",
    )


def test_a_prefix_is_unique_in_the_tenant(tenant, organisation, contract):
    with pytest.raises(ValidationError) as refused:
        new_contract(tenant, organisation, invitation_prefix="acme")

    assert messages_of(refused, "invitation_prefix") == [services.PREFIX_TAKEN]
    assert list(Contract.objects.filter(tenant=tenant)) == [contract]


def test_another_tenant_may_use_the_same_prefix(other_tenant, contract):
    new_contract(other_tenant, OrganisationFactory(tenant=other_tenant), invitation_prefix="ACME")

    assert Contract.objects.filter(invitation_prefix="ACME").count() == 2


def test_the_database_refuses_a_duplicate_prefix_in_one_tenant_too(tenant, contract):
    with pytest.raises(IntegrityError), transaction.atomic():
        ContractFactory(tenant=tenant, organisation=contract.organisation, invitation_prefix="ACME")


def test_the_prefix_is_locked_once_codes_carry_it(tenant, contract):
    CodeFactory(tenant=tenant, price=PriceFactory(contract=contract))
    fresh = Contract.objects.get(pk=contract.pk)

    with pytest.raises(ValidationError) as refused:
        services.contract_save(
            tenant=tenant, organisation=contract.organisation, contract=fresh, actor=None, invitation_prefix="ZZZ"
        )

    assert messages_of(refused, "invitation_prefix") == [services.PREFIX_LOCKED]
    assert Contract.objects.get(pk=contract.pk).invitation_prefix == "ACME"


def test_the_prefix_can_change_while_no_code_carries_it(tenant, contract):
    services.contract_save(
        tenant=tenant, organisation=contract.organisation, contract=contract, actor=None, invitation_prefix="zzz"
    )

    assert Contract.objects.get(pk=contract.pk).invitation_prefix == "ZZZ"
    assert ContractEvent.objects.get(contract=contract).kind == EventKind.CONTRACT_CHANGED


def test_the_database_refuses_a_contract_that_ends_before_it_starts(tenant, organisation):
    with pytest.raises(IntegrityError), transaction.atomic():
        ContractFactory(tenant=tenant, organisation=organisation, starts_on=date(2025, 5, 2), ends_on=date(2025, 5, 1))


# Prices


def save_price(tenant, contract, code="std", actor=None, price=None):
    service = price.service if price else ServiceFactory(tenant=tenant)
    return services.price_save(
        tenant=tenant,
        contract=contract,
        price=price,
        actor=actor,
        service=service,
        amount=Decimal("10"),
        price_code=code,
    )


def test_a_price_code_is_stored_uppercase_with_a_history_line(tenant, contract, admin):
    price = save_price(tenant, contract, "std", actor=admin)

    assert price.price_code == "STD"
    event = ContractEvent.objects.get(contract=contract)
    assert (event.kind, event.actor) == (EventKind.PRICE_ADDED, admin)
    assert event.summary.startswith("Price STD (") and event.summary.endswith(" added.")


def test_a_price_code_is_unique_in_its_contract_whatever_its_case(tenant, contract):
    save_price(tenant, contract, "STD")

    with pytest.raises(ValidationError) as refused:
        save_price(tenant, contract, "std")

    assert messages_of(refused, "price_code") == [services.PRICE_CODE_TAKEN]
    assert ContractPrice.objects.filter(contract=contract).count() == 1


def test_another_contract_may_use_the_same_price_code(tenant, contract):
    save_price(tenant, contract, "STD")
    save_price(tenant, ContractFactory(tenant=tenant), "STD")

    assert ContractPrice.objects.filter(price_code="STD").count() == 2


def test_a_price_that_codes_carry_cannot_be_removed(tenant, contract):
    price = PriceFactory(contract=contract)
    CodeFactory(price=price)

    with pytest.raises(ValidationError) as refused:
        services.price_delete(tenant=tenant, contract=contract, price=price, actor=None)

    assert refused.value.messages == [services.PRICE_IN_USE]
    assert ContractPrice.objects.filter(pk=price.pk).exists()
    assert not ContractEvent.objects.filter(contract=contract, kind=EventKind.PRICE_REMOVED).exists()


def test_a_price_without_codes_is_removed_with_a_history_line(tenant, contract, admin):
    price = PriceFactory(contract=contract, price_code="STD")

    services.price_delete(tenant=tenant, contract=contract, price=price, actor=admin)

    assert not ContractPrice.objects.filter(pk=price.pk).exists()
    assert ContractEvent.objects.get(contract=contract).summary == "Price STD removed."


# Participants


def save_participant(tenant, contract, email, participant=None, actor=None):
    return services.participant_save(
        tenant=tenant,
        contract=contract,
        participant=participant,
        actor=actor,
        first_name=" Ada ",
        last_name="Lovelace",
        email=email,
    )


def test_a_participant_is_stored_trimmed_with_a_lowercase_email(tenant, contract, staff):
    participant = save_participant(tenant, contract, " Ada@Example.COM ", actor=staff)

    assert (participant.first_name, participant.email) == ("Ada", "ada@example.com")
    event = ContractEvent.objects.get(contract=contract)
    assert (event.kind, event.actor, event.summary) == (
        EventKind.PARTICIPANT_ADDED,
        staff,
        "Participant Ada Lovelace added.",
    )


def test_an_email_is_taken_in_the_contract_whatever_its_case(tenant, contract):
    save_participant(tenant, contract, "ada@example.com")

    with pytest.raises(ValidationError) as refused:
        save_participant(tenant, contract, "ADA@example.com")

    assert messages_of(refused, "email") == [services.PARTICIPANT_EMAIL_TAKEN]
    assert Participant.objects.filter(contract=contract).count() == 1


def test_the_same_email_is_fine_in_another_contract_and_without_email_twice(tenant, contract):
    save_participant(tenant, contract, "ada@example.com")
    save_participant(tenant, ContractFactory(tenant=tenant), "ada@example.com")
    save_participant(tenant, contract, "")
    save_participant(tenant, contract, "")

    assert Participant.objects.filter(email="ada@example.com").count() == 2
    assert Participant.objects.filter(contract=contract, email="").count() == 2


def test_a_participant_may_keep_its_own_email(tenant, contract):
    participant = ParticipantFactory(contract=contract, email="ada@example.com")

    save_participant(tenant, contract, "ADA@example.com", participant=participant)

    participant.refresh_from_db()
    assert participant.first_name == "Ada"
