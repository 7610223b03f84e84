"""Codes a program read through the API's codes list have their text fixed, as a CSV download
fixes it: staff can no longer change a text the program may already have sent out."""

import pytest
from django.core.exceptions import ValidationError

from audit.models import AuditEvent
from contracts.models import ContractEvent, EventKind
from invitations import services
from invitations.models import InvitationCode
from invitations.services import CODE_TEXT_LOCKED

from ..api.conftest import CODE

pytestmark = pytest.mark.django_db


def test_codes_read_through_the_api_list_keep_their_text(api, tenant, owner, contract, code):
    other = InvitationCode.objects.create(
        tenant=tenant, contract=contract, price=code.price, code="ACME9KD0QX2M1F", max_uses=1
    )
    assert not code.text_locked

    response = api.get(f"/api/v1/contracts/{contract.pk}/codes/", {"limit": 1})
    assert response.status_code == 200
    [listed] = response.json()["results"]
    assert listed["id"] == other.pk  # newest first: only the page's code is fixed

    other.refresh_from_db()
    code.refresh_from_db()
    assert other.text_locked and not code.text_locked
    with pytest.raises(ValidationError) as refused:
        services.code_update(tenant=tenant, code=other, actor=owner, changes={"code": "ACMEZZZZZ77777"})
    assert refused.value.message_dict == {"code": [CODE_TEXT_LOCKED]}
    [line] = ContractEvent.objects.filter(tenant=tenant, contract=contract, kind=EventKind.CODES_DOWNLOADED)
    assert "API codes list: 1 code handed out" in line.summary
    assert AuditEvent.objects.filter(
        tenant=tenant, event="contract.codes_downloaded", actor_label__startswith="API key"
    ).exists()

    api.get(f"/api/v1/contracts/{contract.pk}/codes/", {"limit": 1})  # read again: nothing more to write
    assert ContractEvent.objects.filter(tenant=tenant, kind=EventKind.CODES_DOWNLOADED).count() == 1


def test_a_read_only_key_fixes_them_too(read_api, contract, code):
    assert read_api.get(f"/api/v1/contracts/{contract.pk}/codes/").status_code == 200
    code.refresh_from_db()
    assert code.code == CODE and code.text_locked
