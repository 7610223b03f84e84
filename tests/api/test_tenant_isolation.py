"""A key reaches its own workspace only: another workspace's ids are the same 404 as missing ones,
and its lists never hold another workspace's rows."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings

from bookings.models import Booking
from invitations.models import InvitationCode

from ..world import build_world
from .conftest import Api, key_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def worlds(tenant, other_tenant):
    return build_world(tenant), build_world(other_tenant)


def test_another_workspaces_ids_are_not_found(worlds, tenant, other_tenant):
    _, theirs = worlds
    api = Api(key_for(tenant)[1])
    ids = theirs.objects
    code = InvitationCode.objects.get(pk=ids["code_id"])

    for path in (
        f"/api/v1/contracts/{ids['contract_id']}/codes/",
        f"/api/v1/contracts/{ids['contract_id']}/participants/",
        f"/api/v1/contracts/{ids['contract_id']}/batches/{ids['batch_id']}/",
        f"/api/v1/sessions/{ids['session_id']}/registrations/",
        f"/api/v1/imports/{ids['job_id']}/",
    ):
        assert api.get(path).status_code == 404, path
    assert api.post(f"/api/v1/contracts/{ids['contract_id']}/codes/", {"price": 1, "quantity": 1}).status_code == 404
    upload = {"file": SimpleUploadedFile("p.csv", b"first_name\n")}
    assert api.post(f"/api/v1/contracts/{ids['contract_id']}/imports/", upload, multipart=True).status_code == 404
    assert api.post(f"/api/v1/imports/{ids['job_id']}/commit/").status_code == 404
    assert api.get("/api/v1/codes/lookup/", {"code": code.code}).status_code == 404


def test_lists_hold_only_the_keys_workspace(worlds, tenant, other_tenant):
    mine, theirs = worlds
    api = Api(key_for(tenant)[1])

    def ids(path):
        response = api.get(path, {"limit": 200})
        assert response.status_code == 200, (path, response.json())
        return {row["id"] for row in response.json()["results"]}

    assert ids("/api/v1/contracts/") == {mine.objects["contract_id"]}
    assert ids("/api/v1/bookings/") == set(Booking.objects.filter(tenant=tenant).values_list("pk", flat=True))
    assert theirs.objects["session_id"] not in ids("/api/v1/sessions/?when=all")
    assert ids("/api/v1/packages/") == {mine.objects["client_package_id"]}


@override_settings(API_RATE_LIMIT="3/minute")
def test_a_key_over_its_rate_limit_gets_429_with_retry_after_and_other_keys_do_not(tenant):
    busy, quiet = Api(key_for(tenant)[1]), Api(key_for(tenant, name="Other")[1])

    statuses = [busy.get("/api/v1/contracts/").status_code for _ in range(4)]

    assert statuses == [200, 200, 200, 429]
    refused = busy.get("/api/v1/contracts/")
    assert refused.status_code == 429 and 0 < int(refused["Retry-After"]) <= 60
    assert "throttled" in refused.json()["detail"].lower()
    assert quiet.get("/api/v1/contracts/").status_code == 200
