"""API keys: made and revoked by owners and admins in the dashboard, shown once, kept only as a
hash; the API refuses a request without a working key, and a read key that tries to write."""

import hashlib
import html
import re
from datetime import timedelta

import pytest
from django.utils import timezone

from api.authentication import BAD_KEY, NO_KEY, READ_ONLY_KEY, REVOKED_KEY
from api.models import ApiKey, KeyScope
from api.services import ALREADY_REVOKED, api_key_revoke
from audit.models import AuditEvent

from ..conftest import member, signed_in
from .conftest import Api, key_for

pytestmark = pytest.mark.django_db

KEYS = "/t/acme/api-keys/"
NEW = "/t/acme/api-keys/new/"


def text(response) -> str:
    return html.unescape(response.content.decode())


def shown_key(response) -> str:
    return re.search(r'id="api-key"[^>]*value="(tess_[^"]+)"', text(response))[1]


# The dashboard pages


def test_the_list_starts_empty_and_offers_to_create_a_key(owner_http):
    response = owner_http.get(KEYS)

    assert response.status_code == 200
    assert "No API keys yet" in text(response)


def test_a_new_key_is_shown_once_and_only_its_hash_is_kept(owner_http, tenant):
    made = owner_http.post(NEW, {"name": "CRM sync", "scope": "read_write"})
    key = ApiKey.objects.get(tenant=tenant)
    assert made.status_code == 302 and made.url == f"{KEYS}{key.pk}/created/"

    response = owner_http.get(made.url)
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    full = shown_key(response)
    # Shown once: the page again (a reload, the back button) sends to the list and says why.
    again = owner_http.get(made.url, follow=True)
    assert full not in text(again) and "was shown once" in text(again)
    assert ApiKey.objects.filter(tenant=tenant).count() == 1
    prefix, secret = full.removeprefix("tess_").split("_", 1)
    assert key.prefix == prefix and key.scope == KeyScope.READ_WRITE
    assert key.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in repr(ApiKey.objects.filter(pk=key.pk).values().get())
    listed = text(owner_http.get(KEYS))
    assert "CRM sync" in listed and prefix in listed and secret not in listed
    assert Api(full).get("/api/v1/contracts/").status_code == 200


def test_a_key_needs_a_name_and_a_listed_access(owner_http, tenant):
    response = owner_http.post(NEW, {"name": "  ", "scope": "everything"})

    assert response.status_code == 200
    assert "This field is required." in text(response)
    assert "Select a valid choice." in text(response)
    assert not ApiKey.objects.filter(tenant=tenant).exists()


def test_admins_manage_keys_and_staff_may_not(tenant, admin_http, staff_http):
    assert admin_http.get(KEYS).status_code == 200
    assert staff_http.get(KEYS).status_code == 403
    assert staff_http.post(NEW, {"name": "Sneaky", "scope": "read_write"}).status_code == 403
    assert not ApiKey.objects.filter(tenant=tenant).exists()


def test_revoking_asks_first_then_the_key_stops_working(owner_http, tenant, owner):
    key, full = key_for(tenant, actor=owner)
    url = f"{KEYS}{key.pk}/revoke/"

    question = owner_http.get(url)
    assert question.status_code == 200 and "Revoke the API key “CRM sync”" in text(question)
    assert Api(full).get("/api/v1/contracts/").status_code == 200

    assert owner_http.post(url).status_code == 302
    key.refresh_from_db()
    assert key.revoked_at is not None and key.revoked_by == owner
    refused = Api(full).get("/api/v1/contracts/")
    assert refused.status_code == 401 and refused.json() == {"detail": REVOKED_KEY}
    assert "Revoked" in text(owner_http.get(KEYS))


def test_revoking_twice_says_it_is_already_revoked(tenant, owner):
    key, _ = key_for(tenant, actor=owner)
    api_key_revoke(tenant=tenant, key=key, actor=owner)

    with pytest.raises(Exception, match=ALREADY_REVOKED):
        api_key_revoke(tenant=tenant, key=key, actor=owner)


def test_creating_and_revoking_are_in_the_audit_trail(owner_http, tenant, owner):
    owner_http.post(NEW, {"name": "CRM sync", "scope": "read"})
    key = ApiKey.objects.get(tenant=tenant)
    owner_http.post(f"{KEYS}{key.pk}/revoke/")

    events = AuditEvent.objects.filter(tenant=tenant, event__startswith="api_key.").order_by("id")
    assert [(e.event, e.actor_label) for e in events] == [
        ("api_key.created", owner.email),
        ("api_key.revoked", owner.email),
    ]
    assert all(key.secret_hash not in str(e.data) + str(e.changes) for e in events)


def test_another_workspaces_key_cannot_be_revoked_from_here(owner_http, other_tenant):
    theirs, full = key_for(other_tenant)

    assert owner_http.post(f"{KEYS}{theirs.pk}/revoke/").status_code == 404
    assert Api(full).get("/api/v1/contracts/").status_code == 200


# Authentication


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("", NO_KEY),
        ("Basic dXNlcjpwYXNz", NO_KEY),
        ("Bearer ", NO_KEY),
        ("Bearer not-a-key", BAD_KEY),
        ("Bearer tess_000000000000_" + "A" * 43, BAD_KEY),
    ],
)
def test_a_request_without_a_working_key_is_401_with_the_reason(api_key, header, message):
    response = Api(None).get("/api/v1/contracts/", **({"Authorization": header} if header else {}))

    assert response.status_code == 401
    assert response.json() == {"detail": message}
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_the_right_prefix_with_a_wrong_secret_is_refused(api_key):
    key, full = api_key
    wrong = full[:-4] + ("AAAA" if not full.endswith("AAAA") else "BBBB")

    assert Api(wrong).get("/api/v1/contracts/").status_code == 401


def test_a_read_key_reads_but_may_not_write(read_api, contract, price):
    assert read_api.get(f"/api/v1/contracts/{contract.pk}/codes/").status_code == 200

    response = read_api.post(f"/api/v1/contracts/{contract.pk}/codes/", {"price": price.pk, "quantity": 5})

    assert response.status_code == 403 and response.json() == {"detail": READ_ONLY_KEY}
    assert not contract.code_batches.exists()


def test_last_used_is_recorded_at_most_once_a_minute(api, api_key):
    key, _ = api_key
    assert key.last_used_at is None

    api.get("/api/v1/contracts/")
    key.refresh_from_db()
    first = key.last_used_at
    assert first is not None
    api.get("/api/v1/contracts/")
    key.refresh_from_db()
    assert key.last_used_at == first

    ApiKey.objects.filter(pk=key.pk).update(last_used_at=timezone.now() - timedelta(minutes=2))
    api.get("/api/v1/contracts/")
    key.refresh_from_db()
    assert key.last_used_at > first


def test_staff_of_the_workspace_see_no_keys_of_another(tenant, other_tenant):
    key_for(other_tenant, name="Globex only")
    http = signed_in(member(tenant, "owner"))

    assert "Globex only" not in text(http.get(KEYS))
