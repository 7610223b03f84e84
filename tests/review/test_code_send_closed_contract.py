"""Codes of a contract whose codes cannot be used (suspended, ended, past its end date: the booking
page's rule) are not sent out, in bulk or again: the person would get a code the booking page refuses."""

from datetime import timedelta

import pytest
from django.utils import timezone

from contracts.models import ContractStatus
from imports.models import ImportJob, ImportStatus
from invitations import sending
from invitations.models import CodeSend
from messaging.models import OutboundEmail

from ..factories import CodeFactory, ContractFactory, PriceFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def contract(tenant):
    return ContractFactory(tenant=tenant, name="Acme staff", invitation_prefix="ACME")


@pytest.fixture
def codes(contract):
    price = PriceFactory(tenant=contract.tenant, contract=contract)
    return [CodeFactory(tenant=contract.tenant, price=price, code=f"ACME{n:06d}QQ") for n in range(2)]


def _close(contract, how):
    if how == "ended on its date":
        contract.ends_on = timezone.localdate() - timedelta(days=2)
    else:
        contract.status = how
    contract.save()


def _post(staff_http, contract, capture, text="ana@example.com, Ana, 1"):
    with capture(execute=True):
        return staff_http.post(f"/t/acme/contracts/{contract.pk}/codes/send/", {"recipients": text})


@pytest.mark.parametrize("how", [ContractStatus.SUSPENDED, ContractStatus.ENDED, "ended on its date"])
def test_a_closed_contracts_codes_are_not_sent(staff_http, contract, codes, how, django_capture_on_commit_callbacks):
    _close(contract, how)
    _post(staff_http, contract, django_capture_on_commit_callbacks)
    job = ImportJob.objects.latest("id")
    assert job.status == ImportStatus.INVALID
    [problem] = [p["message"] for p in job.problems]
    assert problem.startswith("The contract Acme staff is ") and "its codes cannot be used, so none are sent" in problem
    page = staff_http.get(f"/t/acme/imports/{job.pk}/").content.decode()
    assert "its codes cannot be used" in page and "Complete Import" not in page
    assert not CodeSend.objects.exists() and not OutboundEmail.objects.exists()


def test_a_contract_closed_after_the_check_stops_the_send(
    staff_http, contract, codes, django_capture_on_commit_callbacks
):
    _post(staff_http, contract, django_capture_on_commit_callbacks)
    job = ImportJob.objects.latest("id")
    assert job.status == ImportStatus.VALID
    _close(contract, ContractStatus.SUSPENDED)
    with django_capture_on_commit_callbacks(execute=True):
        staff_http.post(f"/t/acme/imports/{job.pk}/commit/")
    job.refresh_from_db()
    assert job.status in (ImportStatus.INVALID, ImportStatus.FAILED)
    assert not CodeSend.objects.exists() and not OutboundEmail.objects.exists()


def test_a_code_of_a_closed_contract_is_not_resent(staff_http, contract, codes, monkeypatch):
    code = codes[0]
    send = CodeSend.objects.create(tenant=code.tenant, code=code, channel="email", recipient="ana@example.com")
    monkeypatch.setattr(sending, "RESEND_GUARD_SECONDS", 0)
    _close(contract, ContractStatus.ENDED)
    url = f"/t/acme/contracts/{contract.pk}/codes/{code.pk}/resend/?send={send.pk}"
    page = staff_http.post(url, follow=True).content.decode()
    assert "The contract Acme staff is ended: its codes cannot be used" in page
    assert CodeSend.objects.count() == 1 and not OutboundEmail.objects.exists()
