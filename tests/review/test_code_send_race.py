"""A send whose codes were taken by another send committed while it waited for the contract's
lock stops, sends nothing, and says why in the send's own words (not "ValidationError")."""

from unittest import mock

import pytest

from imports.models import ImportJob, ImportStatus
from invitations import sending
from invitations.models import CodeSend
from messaging.models import OutboundEmail

from ..factories import CodeFactory, ContractFactory, PriceFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def codes(tenant):
    contract = ContractFactory(tenant=tenant, name="Acme staff", invitation_prefix="ACME")
    price = PriceFactory(tenant=tenant, contract=contract)
    return [CodeFactory(tenant=tenant, price=price, code=f"ACME{n:06d}QQ") for n in range(2)]


def test_codes_taken_meanwhile_fail_the_send_with_its_reason(staff_http, codes, django_capture_on_commit_callbacks):
    contract = codes[0].contract
    with django_capture_on_commit_callbacks(execute=True):
        staff_http.post(f"/t/acme/contracts/{contract.pk}/codes/send/", {"recipients": "ana@example.com, Ana, 2"})
    job = ImportJob.objects.latest("id")
    assert job.status == ImportStatus.VALID

    taken = sending.advisory_xact_lock

    def another_send_commits_first(name):
        taken(name)
        for code in codes[:1]:  # what the other send took while this one waited for the lock
            CodeSend.objects.create(tenant=code.tenant, code=code, channel="email", recipient="bo@example.com")

    with (
        mock.patch.object(sending, "advisory_xact_lock", another_send_commits_first),
        django_capture_on_commit_callbacks(execute=True),
    ):
        staff_http.post(f"/t/acme/imports/{job.pk}/commit/")

    job.refresh_from_db()
    assert job.status == ImportStatus.FAILED
    assert job.failure == (
        "The import stopped and changed nothing: " + sending.NOT_ENOUGH_NOW.format(available=1, asked=2)
    )
    page = staff_http.get(f"/t/acme/imports/{job.pk}/").content.decode()
    assert "Only 1 of the 2 codes asked for can still be sent" in page
    assert not OutboundEmail.objects.exists()
    assert not CodeSend.objects.filter(recipient="ana@example.com").exists()
