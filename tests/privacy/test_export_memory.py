"""The export streams: a tenant's rows are read in chunks and written to disk, never held at once."""

import tracemalloc
import zipfile

import pytest

from invitations.models import InvitationCode
from privacy.services import archive_path, data_export_build, data_export_request
from tests.factories import PriceFactory

ROWS = 50_000


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def test_fifty_thousand_codes_are_exported_in_bounded_memory(tenant, owner):
    price = PriceFactory(tenant=tenant)
    InvitationCode.objects.bulk_create(
        [InvitationCode(tenant=tenant, contract=price.contract, price=price, code=f"MEM{n:010d}") for n in range(ROWS)],
        batch_size=5000,
    )
    export = data_export_request(tenant=tenant, user=owner)
    tracemalloc.start()
    try:
        export = data_export_build(tenant=tenant, export_id=export.pk)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    with zipfile.ZipFile(archive_path(export)) as archive:
        with archive.open("invitations.invitationcode.csv") as rows:
            assert sum(1 for _ in rows) == ROWS + 1
    assert export.progress == 100 and export.row_count >= ROWS

    # Holding 50,000 rows of 15 columns would take tens of megabytes; chunks of 2,000 take a few.
    assert peak < 10_000_000
