"""CSV files naming another workspace's objects, and CSV downloads asked for another workspace's
rows in the query string: problems by row and nothing written; downloads of this workspace only."""

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from audit.models import AuditEvent
from contracts import participants_csv
from contracts.models import ContractPrice, Participant
from imports.models import ImportStatus
from imports.services import import_start
from invitations.models import InvitationCode

from ..factories import CodeFactory
from ..world import build_world
from .helpers import snapshot, tenant_reverse


@pytest.fixture
def here(tenant):
    return build_world(tenant)


@pytest.fixture
def there(other_tenant):
    return build_world(other_tenant)


def upload(rows: list[dict]) -> SimpleUploadedFile:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=["participant_id", "first_name", "last_name", "email", "price_code"])
    writer.writeheader()
    writer.writerows(rows)
    return SimpleUploadedFile("participants.csv", out.getvalue().encode(), content_type="text/csv")


def test_a_participants_csv_naming_another_workspaces_participant_and_price_code_is_refused_by_row(
    tenant, owner, here, there, django_capture_on_commit_callbacks
):
    mine = ContractPrice.objects.get(pk=here.objects["price_id"]).price_code
    theirs = ContractPrice.objects.get(pk=there.objects["price_id"]).price_code
    assert mine != theirs
    foreign_participant = there.objects["participant_id"]
    participants = Participant.objects.filter(tenant=tenant).count()
    before_there = snapshot(there.tenant)

    with django_capture_on_commit_callbacks(execute=True):
        job = import_start(
            tenant=tenant,
            kind=participants_csv.KIND,
            params={"contract": here.objects["contract_id"]},
            upload=upload(
                [
                    {
                        "participant_id": foreign_participant,
                        "first_name": "Taken",
                        "last_name": "Over",
                        "email": "taken-over@example.com",
                        "price_code": mine,
                    },
                    {"first_name": "New", "last_name": "Person", "email": "new@example.com", "price_code": theirs},
                ]
            ),
            actor=owner,
        )

    job.refresh_from_db()
    assert job.status == ImportStatus.INVALID
    messages = {(p["row"], p["column"]): p["message"] for p in job.problems}
    assert messages[(2, "participant_id")] == (
        f"No participant {foreign_participant} in this contract. Leave it empty for a new participant."
    )
    assert messages[(3, "price_code")].startswith(f"Unknown price code “{theirs}”. This contract has: {mine}")
    assert Participant.objects.filter(tenant=tenant).count() == participants
    assert snapshot(there.tenant) == before_there


def csv_rows(response) -> list[list[str]]:
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


def foreign_query(there) -> dict:
    """Every id of the other workspace a download could be tempted to read from the query string."""
    return {key: there.objects[key] for key in ("contract_id", "price_id", "code_id", "participant_id")} | {
        "contract": there.objects["contract_id"],
        "price": there.objects["price_id"],
        "code": there.objects["code_id"],
        "participant": there.objects["participant_id"],
    }


def test_code_and_participant_downloads_hold_this_workspaces_rows_only(owner_http, here, there):
    foreign_code = InvitationCode.objects.get(pk=there.objects["code_id"])
    foreign_email = Participant.objects.get(pk=there.objects["participant_id"]).email
    contract_id = here.objects["contract_id"]
    for name, expected in (
        ("invitations:download", InvitationCode.objects.filter(tenant=here.tenant, contract_id=contract_id).count()),
        ("contracts:participants_download", Participant.objects.filter(tenant=here.tenant).count()),
    ):
        rows = csv_rows(
            owner_http.get(tenant_reverse(here.tenant, name, contract_id=contract_id), foreign_query(there))
        )
        body = "\n".join(",".join(row) for row in rows[1:])
        assert len(rows) - 1 == expected >= 1, name
        assert foreign_code.code not in body and foreign_email not in body, name


def test_the_audit_download_for_another_workspaces_object_is_empty(owner_http, here, there):
    participant = Participant.objects.get(pk=there.objects["participant_id"])
    assert AuditEvent.objects.filter(tenant=there.tenant).exists()
    export = tenant_reverse(here.tenant, "audit:export")
    for query in (
        {"object_type": "contracts.participant", "object_id": str(participant.pk), "q": participant.email},
        {"q": there.tenant.name},
    ):
        rows = csv_rows(owner_http.get(export, query))
        body = "\n".join(",".join(row) for row in rows[1:])
        assert participant.email not in body and there.tenant.name not in body


def test_the_campaign_download_of_a_tag_only_another_workspace_uses_is_not_found(owner_http, here, there):
    CodeFactory(tenant=there.tenant, campaign="globex-only-spring")
    download = tenant_reverse(here.tenant, "analytics:campaign_csv")
    assert owner_http.get(download, {"tag": "globex-only-spring"}).status_code == 404
    # The control: once this workspace has a code with the tag, the same download answers.
    CodeFactory(tenant=here.tenant, campaign="globex-only-spring")
    assert csv_rows(owner_http.get(download, {"tag": "globex-only-spring"}))[0][1] == "Redemptions"
