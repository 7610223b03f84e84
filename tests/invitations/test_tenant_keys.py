"""The database's own check that a code's or a participant's contract is its tenant's: one foreign
key over (tenant, contract), checked at commit (deferred), as the other keys are."""

import pytest
from django.db import IntegrityError, connection, transaction

from contracts.models import Participant
from invitations.models import InvitationCode
from tests.factories import ContractFactory, PriceFactory

pytestmark = pytest.mark.django_db


def _checked_now():
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def test_a_code_pointing_at_another_tenants_contract_is_refused_by_the_database(tenant, other_tenant):
    price = PriceFactory(tenant=tenant)
    with pytest.raises(IntegrityError, match="code_contract_in_tenant"), transaction.atomic():
        InvitationCode.objects.create(tenant=other_tenant, contract=price.contract, price=price, code="XTENANT1")
        _checked_now()
    assert not InvitationCode.objects.filter(code="XTENANT1").exists()


def test_a_code_pointing_at_a_contract_that_does_not_exist_is_refused(tenant):
    price = PriceFactory(tenant=tenant)
    with pytest.raises(IntegrityError, match="code_contract_in_tenant"), transaction.atomic():
        InvitationCode.objects.create(tenant=tenant, contract_id=price.contract_id + 10_000, price=price, code="GHOST1")
        _checked_now()


def test_a_participant_of_another_tenants_contract_is_refused_by_the_database(tenant, other_tenant):
    contract = ContractFactory(tenant=tenant)
    with pytest.raises(IntegrityError, match="participant_contract_in_tenant"), transaction.atomic():
        Participant.objects.create(tenant=other_tenant, contract=contract, first_name="Cross", last_name="Tenant")
        _checked_now()
    assert not Participant.objects.filter(last_name="Tenant").exists()


def test_rows_of_the_contracts_own_tenant_are_accepted(tenant):
    price = PriceFactory(tenant=tenant)
    with transaction.atomic():
        InvitationCode.objects.create(tenant=tenant, contract=price.contract, price=price, code="OWNTENANT1")
        Participant.objects.create(tenant=tenant, contract=price.contract, first_name="Own", last_name="Tenant")
        _checked_now()
    assert InvitationCode.objects.filter(code="OWNTENANT1").exists()
