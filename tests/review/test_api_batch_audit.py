"""Codes generated through the API are in the audit trail under the API key that asked for them
(the task that makes them later can only name a person), and those generated on the page under the
person."""

import pytest

from audit.models import Action, AuditEvent
from invitations.models import CodeBatch

pytestmark = pytest.mark.django_db


def test_a_batch_asked_for_by_an_api_key_names_the_key(api, tenant, contract, price):
    response = api.post(f"/api/v1/contracts/{contract.pk}/codes/", {"price": price.pk, "quantity": 3})
    assert response.status_code == 202, response.json()
    batch = CodeBatch.objects.get(tenant=tenant)
    [entry] = AuditEvent.objects.filter(tenant=tenant, event="code_batch.created")
    assert entry.actor_label == "API key “CRM sync”" and entry.api_key_id is not None
    assert entry.action == Action.CREATE and entry.object_id == str(batch.pk)
    assert entry.summary == "3 codes of Staff training requested at price STD."


def test_a_batch_asked_for_on_the_page_names_the_person(owner_http, owner, tenant, contract, price):
    owner_http.post(
        f"/t/acme/contracts/{contract.pk}/codes/generate/",
        {"price": price.pk, "quantity": 2, "width": 10, "max_uses": 1, "campaign": "spring"},
    )
    [entry] = AuditEvent.objects.filter(tenant=tenant, event="code_batch.created")
    assert entry.actor_label == owner.email and entry.actor_user_id == owner.pk
    assert entry.summary == "2 codes of Staff training requested at price STD, campaign spring."
