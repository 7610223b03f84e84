"""The learners' bulk invitation from My Account takes a CSV of addresses (email, optional phone)
outside the imports pipeline: any file gives invitations for every row or a message, never a server
error and never some of the invitations."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from hypothesis import given
from hypothesis import strategies as st

from regcodes.forms_portal import ADDRESS_COLUMNS
from regcodes.models import LearnerInvite
from tenancy.urlresolvers import tenant_reverse

from ..conftest import signed_in
from ..factories import ProductSessionFactory, UserFactory, seat_order
from .strategies import PROPERTY, any_file
from .support import changed, snapshot, text, undone

pytestmark = pytest.mark.django_db

EMAIL = st.from_regex(r"[a-z0-9][a-z0-9+_-]{0,19}@(example|mail)\.(com|org|nl)", fullmatch=True)
# 64 + 1 + 4 × 63 + 3 dots + 3 = 323 characters, and 255 — valid to the address checker, too long to keep
LONG_EMAIL = "a" * 64 + "@" + ".".join(["b" * 63] * 3) + ".com"
NEARLY = "a" * 64 + "@" + "b" * 63 + "." + "c" * 63 + "." + "d" * 58 + ".com"


@pytest.fixture
def order(tenant):
    return seat_order(ProductSessionFactory(tenant=tenant), UserFactory(email="buyer@example.com"), quantity=40)


def invite(http, order, content: bytes, typed: str = ""):
    url = tenant_reverse(order.tenant, "seats_portal:invites", order_id=order.pk)
    response = http.post(url, {"addresses": typed, "message": "", "csv_file": SimpleUploadedFile("a.csv", content)})
    return response if response.status_code == 200 else http.get(response["Location"])


@PROPERTY
@given(content=any_file(ADDRESS_COLUMNS, {"email": EMAIL, "phone": st.just("")}))
def test_any_file_of_addresses_invites_everyone_in_it_or_no_one(order, content):
    http = signed_in(order.buyer)  # before the picture: signing in sets the buyer's last login
    with undone():
        before = snapshot()

        page = invite(http, order, content)

        assert page.status_code == 200
        added = len(LearnerInvite.objects.filter(code__order=order)) - len(before["regcodes.LearnerInvite"])
        if "invitation" in text(page) and "sent" in text(page) and 'class="flash flash-success"' in text(page):
            assert added > 0
        else:
            assert changed(before, snapshot()) == set()
            assert 'class="form-errors"' in text(page) or 'class="field-error"' in text(page)


@pytest.mark.parametrize("address", [LONG_EMAIL, NEARLY])
def test_an_address_too_long_to_keep_is_named_and_nobody_is_invited(order, address):
    assert 254 < len(address) <= 320
    http = signed_in(order.buyer)
    before = snapshot()

    page = invite(http, order, f"email\nann@example.com\n{address}\n".encode())

    assert "Row 3, column email: Longer than 254 characters." in text(page)
    assert changed(before, snapshot()) == set()
