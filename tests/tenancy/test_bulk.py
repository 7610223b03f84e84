"""tenancy/bulk.py: many new rows in one go, their ids back in the order given, every value as the
ORM would have written it (JSON included)."""

import pytest
from django.utils import timezone

from contracts.models import Participant
from messaging.models import OutboundEmail
from tenancy.bulk import insert_rows

from ..factories import ContractFactory

pytestmark = pytest.mark.django_db


def test_rows_come_back_with_their_ids_in_the_order_given(tenant):
    contract = ContractFactory(tenant=tenant)
    now = timezone.now()
    names = [f"Person{n:03d}" for n in range(250)]

    ids = insert_rows(
        Participant,
        ("tenant_id", "contract_id", "first_name", "last_name", "created_at", "updated_at"),
        [(tenant.pk, contract.pk, "Pat", name, now, now) for name in names],
    )

    by_id = dict(Participant.objects.filter(pk__in=ids).values_list("pk", "last_name"))
    assert [by_id[pk] for pk in ids] == names
    assert Participant.objects.create(tenant=tenant, contract=contract, first_name="Next", last_name="One").pk > max(
        ids
    )  # the sequence moved on: the next row gets a new id


def test_json_values_are_written_as_json(tenant):
    now = timezone.now()

    [pk] = insert_rows(
        OutboundEmail,
        ("tenant_id", "to_email", "subject", "body_text", "template_key", "idempotency_key", "private_values"),
        [(tenant.pk, "a@example.com", "Hi", "Body", "k", "bulk-1", {"link": "https://x/1"})],
    )

    email = OutboundEmail.objects.get(pk=pk)
    assert email.private_values == {"link": "https://x/1"}
    # Columns not named take the model's defaults, as a new instance would.
    assert (email.status, email.attempts, email.body_html, email.last_error) == ("queued", 0, "", "")
    assert email.created_at >= now and email.next_attempt_at >= now


def test_nothing_to_insert_makes_no_query(tenant, django_assert_num_queries):
    with django_assert_num_queries(0):
        assert insert_rows(Participant, ("tenant_id",), []) == []
