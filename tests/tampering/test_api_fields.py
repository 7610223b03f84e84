"""API bodies and filters holding another workspace's ids (the URL ids are tests/api's): refused
with 400 and a message naming the field, or an empty list; no row changes."""

import pytest
from django.core.cache import cache

from invitations.models import CodeBatch

from ..api.conftest import Api, key_for
from ..world import build_world
from .helpers import snapshot


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def worlds(tenant, other_tenant):
    return build_world(tenant), build_world(other_tenant)


def test_a_batch_with_another_workspaces_price_is_refused(worlds, tenant):
    mine, theirs = worlds
    api = Api(key_for(tenant)[1])
    before = snapshot(mine.tenant), snapshot(theirs.tenant)
    path = f"/api/v1/contracts/{mine.objects['contract_id']}/codes/"

    response = api.post(path, {"price": theirs.objects["price_id"], "quantity": 2})

    assert response.status_code == 400
    assert "price" in str(response.json())
    after = snapshot(mine.tenant), snapshot(theirs.tenant)
    assert [label for label in before[0] if before[0][label] != after[0][label]] == ["api.ApiKey"]  # its last use
    assert after[1] == before[1]
    # The control: this contract's price makes a batch.
    assert api.post(path, {"price": mine.objects["price_id"], "quantity": 2}).status_code == 202
    assert CodeBatch.objects.filter(tenant=tenant).count() == 2


def test_filters_naming_another_workspaces_rows_find_nothing_of_theirs(worlds, tenant):
    mine, theirs = worlds
    api = Api(key_for(tenant)[1])
    ids = theirs.objects

    response = api.get("/api/v1/bookings/", {"service": ids["service_id"]})
    assert response.status_code == 400 and "service" in str(response.json())

    codes = api.get(f"/api/v1/contracts/{mine.objects['contract_id']}/codes/", {"participant": ids["participant_id"]})
    assert codes.status_code == 200 and codes.json()["results"] == []

    learners = api.get("/api/v1/learner-registrations/", {"product_session": ids["product_session_id"]})
    assert learners.status_code == 200 and learners.json()["results"] == []
    # The control: the same filter with this workspace's course session finds its learner.
    learners = api.get("/api/v1/learner-registrations/", {"product_session": mine.objects["product_session_id"]})
    assert len(learners.json()["results"]) == 1
