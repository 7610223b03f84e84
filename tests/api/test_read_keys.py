"""A read-only key may not change anything, whichever write it tries."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from api.authentication import READ_ONLY_KEY

from ..test_isolation import snapshot
from ..world import build_world

pytestmark = pytest.mark.django_db


def test_every_write_is_refused_to_a_read_key_and_changes_nothing(read_api, tenant):
    world = build_world(tenant).objects
    before = snapshot(tenant)
    contract = world["contract_id"]

    attempts = [
        read_api.post(f"/api/v1/contracts/{contract}/codes/", {"price": world["price_id"], "quantity": 5}),
        read_api.post("/api/v1/codes/redeem/", {"code": "X", "starts_at": "2030-01-01T10:00:00Z"}),
        read_api.post(
            f"/api/v1/contracts/{contract}/imports/", {"file": SimpleUploadedFile("p.csv", b"a\n")}, multipart=True
        ),
        read_api.post(f"/api/v1/imports/{world['job_id']}/commit/"),
    ]

    assert [(r.status_code, r.json()) for r in attempts] == [(403, {"detail": READ_ONLY_KEY})] * 4
    after = snapshot(tenant)
    after.pop("api.ApiKey"), before.pop("api.ApiKey")  # its last use is recorded
    assert after == before
