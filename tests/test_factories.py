"""The factories keep every chain of related rows in one tenant, whichever way they are called."""

import pytest

from . import factories as f

pytestmark = pytest.mark.django_db

CHAINS = [
    (f.AvailabilityFactory, ["service"]),
    (f.ContractFactory, ["organisation"]),
    (f.PriceFactory, ["contract", "contract.organisation", "service"]),
    (f.ParticipantFactory, ["contract"]),
    (f.CodeFactory, ["price", "contract", "price.service"]),
    (f.BatchFactory, ["price", "contract"]),
    (f.BookingFactory, ["slot", "service"]),
]


def related(obj, path):
    for name in path.split("."):
        obj = getattr(obj, name)
    return obj


@pytest.mark.parametrize("factory, paths", CHAINS, ids=[c[0].__name__ for c in CHAINS])
def test_a_tenant_given_reaches_every_parent(tenant, factory, paths):
    row = factory(tenant=tenant)
    assert row.tenant == tenant
    assert {related(row, p).tenant for p in paths} == {tenant}


@pytest.mark.parametrize("factory, paths", CHAINS, ids=[c[0].__name__ for c in CHAINS])
def test_a_parent_given_decides_the_tenant(tenant, factory, paths):
    parent_field = factory.parent_field
    parent = factory._meta.declarations[parent_field].get_factory()(tenant=tenant)
    row = factory(**{parent_field: parent})
    assert row.tenant == tenant and {related(row, p).tenant for p in paths} == {tenant}
