"""The whole-workspace data export, with two full workspaces side by side (every kind of object of
tests/world.py in each): the archive of one holds nothing that identifies the other's rows."""

import zipfile

import pytest

from accounts.models import Client
from bookings.models import Booking
from contracts.models import Participant
from invitations.models import InvitationCode
from privacy.models import ExportStatus
from privacy.services import archive_path, data_export_build
from regcodes.models import SeatOrder

from ..world import build_world


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def identifying(world) -> dict[str, str]:
    ids = world.objects
    return {
        "participant email": Participant.objects.get(pk=ids["participant_id"]).email,
        "code": InvitationCode.objects.get(pk=ids["code_id"]).code,
        "client email": Client.objects.get(pk=ids["client_id"]).email,
        "booking reference": Booking.objects.get(pk=ids["booking_id"]).reference,
        "seat buyer email": SeatOrder.objects.get(pk=ids["order_id"]).buyer.email,
    }


def test_the_archive_of_one_workspace_holds_nothing_of_the_other(tenant, other_tenant):
    mine, theirs = build_world(tenant), build_world(other_tenant)
    export = data_export_build(tenant=tenant, export_id=mine.objects["export_id"])  # the world's queued export
    assert export.status == ExportStatus.READY
    with zipfile.ZipFile(archive_path(export)) as archive:
        everything = b"\n".join(archive.read(name) for name in archive.namelist()).decode("utf-8", "replace")

    for what, value in identifying(mine).items():
        assert value in everything, f"this workspace's {what} is missing: the check below would prove nothing"
    for what, value in identifying(theirs).items():
        assert value not in everything, f"the other workspace's {what} is in the archive"
