"""The API's endpoints do what the pages do: the same lists and filters, generating codes,
redeeming a code for a booking (or refusing it with the booking page's message), imports."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from api.pagination import MAX_LIMIT
from api.views import NOT_THE_CODES_SERVICE, TIME_NOT_OFFERED
from audit.models import AuditEvent
from bookings.models import Booking, BookingStatus
from bookings.services import SLOT_FULL
from contracts.models import Participant
from imports.models import ImportJob, ImportStatus
from invitations.models import CodeStatus, InvitationCode, Redemption
from invitations.services import CODE_MISTYPED, CODE_UNKNOWN, CODE_USED_UP, CODE_WRONG_DOMAIN

from ..factories import BookingFactory, ClientFactory, CodeFactory, SessionFactory, SlotFactory, session_register
from .conftest import CODE

pytestmark = pytest.mark.django_db

DETAILS = {"first_name": "Grace", "last_name": "Hopper", "email": "grace@example.com"}


def codes_url(contract):
    return f"/api/v1/contracts/{contract.pk}/codes/"


# Codes


def test_a_contracts_codes_newest_first_in_pages_that_follow_the_next_link(api, price, contract):
    made = [CodeFactory(price=price) for _ in range(5)]

    first = api.get(codes_url(contract), {"limit": 2}).json()
    assert [row["id"] for row in first["results"]] == [made[4].pk, made[3].pk]
    second = api.get(first["next"]).json()
    assert [row["id"] for row in second["results"]] == [made[2].pk, made[1].pk]
    last = api.get(second["next"]).json()
    assert [row["id"] for row in last["results"]] == [made[0].pk] and last["next"] is None
    assert api.get(last["previous"]).json()["results"] == second["results"]


def test_codes_filter_by_status_campaign_participant_and_the_start_of_the_code(api, price, contract, participant):
    used = CodeFactory(price=price, code="ACMEUSED00001", uses=1, status=CodeStatus.USED_UP)
    spring = CodeFactory(price=price, code="ACMESPR1NG001", campaign="spring-mailing")
    held = CodeFactory(price=price, code="ACMEHE1D00001", participant=participant)

    def ids(**params):
        response = api.get(codes_url(contract), params)
        assert response.status_code == 200, response.json()
        return [row["id"] for row in response.json()["results"]]

    assert ids(status="used_up") == [used.pk]
    assert ids(campaign="spring-mailing") == [spring.pk]
    assert ids(participant=participant.pk) == [held.pk]
    assert ids(code="acme-spr") == [spring.pk]
    assert ids(code="he1d") == [held.pk]  # without the prefix, typed loosely
    assert ids(status="active", campaign="nothing") == []


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"status": "nonsense"}, "status"),
        ({"participant": "abc"}, "participant"),
        ({"participant": "99999999999999999999999"}, "participant"),
        ({"code": "ÄÖ!"}, "code"),
        ({"limit": "0"}, "limit"),
        ({"limit": str(MAX_LIMIT + 1)}, "limit"),
        ({"limit": "\x00"}, "limit"),
    ],
)
def test_a_bad_filter_is_400_naming_the_parameter(api, contract, params, field):
    response = api.get(codes_url(contract), params)

    assert response.status_code == 400
    assert field in response.json()


def test_generating_codes_makes_a_batch_to_poll(api, contract, price, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(
            codes_url(contract), {"price": price.pk, "quantity": 25, "width": 12, "campaign": "  spring  mailing "}
        )

    assert response.status_code == 202, response.json()
    body = response.json()
    batch_url = body["url"]
    assert response["Location"] == batch_url
    batch = api.get(batch_url).json()
    assert batch["status"] == "done" and batch["created_count"] == 25 and batch["percent"] == 100
    codes = InvitationCode.objects.filter(contract=contract, batch_id=body["batch"]["id"])
    assert codes.count() == 25
    assert {c.campaign for c in codes} == {"spring mailing"}
    assert all(len(c.code) == len("ACME") + 12 for c in codes)


@pytest.mark.parametrize(
    ("extra", "field", "message"),
    [
        ({"quantity": 0}, "quantity", "greater than or equal to 1"),
        ({"width": 8}, "accept_short", "easier to guess"),
        ({"width": 30}, "width", "less than or equal to 20"),
        ({"restricted_domain": "not a domain"}, "restricted_domain", "Enter a domain"),
        (
            {"valid_from": "2030-01-02T00:00:00Z", "valid_until": "2030-01-01T00:00:00Z"},
            "valid_until",
            "must be after",
        ),
        ({"valid_from": "1999-01-01T00:00:00Z"}, "valid_from", "between the years 2000 and 2100"),
    ],
)
def test_generating_refuses_what_the_page_refuses(api, contract, price, extra, field, message):
    response = api.post(codes_url(contract), {"price": price.pk, "quantity": 10, **extra})

    assert response.status_code == 400
    assert message in " ".join(response.json()[field])
    assert not contract.code_batches.exists()


def test_generating_needs_a_price_of_this_contract(api, contract, price, other_tenant):
    from ..factories import PriceFactory

    foreign = PriceFactory(tenant=other_tenant)

    response = api.post(codes_url(contract), {"price": foreign.pk, "quantity": 10})

    assert response.status_code == 400 and "price" in response.json()


# Looking a code up and redeeming it


def test_looking_up_a_code_typed_loosely_gives_it_its_service_and_free_times(api, code, tomorrow_at_ten):
    response = api.get("/api/v1/codes/lookup/", {"code": " acme 7kdoq-x2mlf "})

    assert response.status_code == 200
    body = response.json()
    assert body["code"]["id"] == code.pk and body["code"]["code"] == "ACME-7KD0Q-X2M1F"
    assert body["service"] == "Intro session"
    assert tomorrow_at_ten.isoformat() in [t["starts_at"] for t in body["times"]]


@pytest.mark.parametrize(
    ("typed", "status", "message"), [("!!", 400, CODE_MISTYPED), ("ACME-ZZZZZ-ZZZZZ", 404, CODE_UNKNOWN)]
)
def test_looking_up_a_mistyped_or_unknown_code(api, code, typed, status, message):
    response = api.get("/api/v1/codes/lookup/", {"code": typed})

    assert response.status_code == status
    assert message in str(response.json())


def test_redeeming_uses_the_code_and_books_the_time(api, api_key, code, tomorrow_at_ten, tenant):
    response = api.post(
        "/api/v1/codes/redeem/", {"code": "acme-7kd0q-x2m1f", "starts_at": tomorrow_at_ten.isoformat(), **DETAILS}
    )

    assert response.status_code == 201, response.json()
    booking = Booking.objects.get(reference=response.json()["reference"])
    assert booking.starts_at == tomorrow_at_ten and booking.email == "grace@example.com"
    assert booking.price_amount == Decimal("25.00")
    code.refresh_from_db()
    assert code.uses == 1 and code.status == CodeStatus.USED_UP
    assert Redemption.objects.get(code=code).booking == booking
    redeemed = AuditEvent.objects.get(tenant=tenant, event="code.redeemed")
    assert redeemed.actor_label == "API key “CRM sync”" and redeemed.api_key_id == api_key[0].pk


def test_a_used_up_code_is_refused_with_the_booking_pages_message(api, code, tomorrow_at_ten):
    body = {"code": CODE, "starts_at": tomorrow_at_ten.isoformat(), **DETAILS}
    assert api.post("/api/v1/codes/redeem/", body).status_code == 201

    again = api.post("/api/v1/codes/redeem/", {**body, "email": "someone.else@example.com"})

    assert again.status_code == 409
    assert again.json() == {"detail": CODE_USED_UP}
    assert Booking.objects.count() == 1


def test_a_code_for_another_domain_is_refused_on_the_email_and_changes_nothing(api, price, tomorrow_at_ten):
    code = CodeFactory(price=price, code=CODE, restricted_domain="initech.example")

    response = api.post("/api/v1/codes/redeem/", {"code": CODE, "starts_at": tomorrow_at_ten.isoformat(), **DETAILS})

    assert response.status_code == 400
    assert response.json() == {"email": [CODE_WRONG_DOMAIN.format(domain="initech.example")]}
    code.refresh_from_db()
    assert code.uses == 0 and not Booking.objects.exists()


def test_details_left_out_come_from_the_codes_participant(api, price, participant, tomorrow_at_ten):
    CodeFactory(price=price, code=CODE, participant=participant)

    response = api.post("/api/v1/codes/redeem/", {"code": CODE, "starts_at": tomorrow_at_ten.isoformat()})

    assert response.status_code == 201, response.json()
    assert response.json()["email"] == "ada@initech.example" and response.json()["last_name"] == "Lovelace"


@pytest.mark.parametrize("reason", ["not a slot", "after the contract"])
def test_a_time_the_code_cannot_book_is_400(api, code, contract, tenant, tomorrow_at_ten, reason):
    starts_at = tomorrow_at_ten
    if reason == "not a slot":
        starts_at += timedelta(minutes=7)
    else:  # the booking page offers no time after the contract's last day
        contract.ends_on = timezone.localdate(timezone=tenant.zone)
        contract.save()

    response = api.post("/api/v1/codes/redeem/", {"code": CODE, "starts_at": starts_at.isoformat(), **DETAILS})

    assert response.status_code == 400 and response.json() == {"starts_at": [TIME_NOT_OFFERED]}
    code.refresh_from_db()
    assert code.uses == 0


def test_a_full_time_is_a_conflict_and_the_code_keeps_its_use(api, code, service, tomorrow_at_ten):
    SlotFactory(service=service, starts_at=tomorrow_at_ten, capacity=3, booked=3)

    response = api.post("/api/v1/codes/redeem/", {"code": CODE, "starts_at": tomorrow_at_ten.isoformat(), **DETAILS})

    assert response.status_code == 409 and response.json() == {"detail": SLOT_FULL}
    code.refresh_from_db()
    assert code.uses == 0 and not Booking.objects.exists()


def test_naming_another_service_than_the_codes_is_400(api, code, service, tomorrow_at_ten):
    response = api.post(
        "/api/v1/codes/redeem/",
        {"code": CODE, "starts_at": tomorrow_at_ten.isoformat(), "service": service.pk + 1000, **DETAILS},
    )

    assert response.status_code == 400
    assert response.json() == {"service": [NOT_THE_CODES_SERVICE.format(service=service.name, id=service.pk)]}


def test_bad_details_are_400_per_field(api, code, tomorrow_at_ten):
    response = api.post(
        "/api/v1/codes/redeem/",
        {"code": CODE, "starts_at": tomorrow_at_ten.isoformat(), **DETAILS, "email": "nope", "phone": "call me"},
    )

    assert response.status_code == 400
    assert set(response.json()) == {"email", "phone"}


# Participants, bookings, sessions, packages


def test_participants_of_a_contract_by_name(api, contract):
    from ..factories import ParticipantFactory

    for last in ("Zuse", "Babbage", "Lovelace"):
        ParticipantFactory(contract=contract, last_name=last)

    response = api.get(f"/api/v1/contracts/{contract.pk}/participants/", {"limit": 2})

    body = response.json()
    assert [p["last_name"] for p in body["results"]] == ["Babbage", "Lovelace"]
    assert [p["last_name"] for p in api.get(body["next"]).json()["results"]] == ["Zuse"]


def test_bookings_in_a_date_range_and_of_a_status(api, tenant, service, tomorrow_at_ten):
    later = tomorrow_at_ten + timedelta(days=7)
    near = BookingFactory(tenant=tenant, service=service, slot=SlotFactory(service=service, starts_at=tomorrow_at_ten))
    far = BookingFactory(tenant=tenant, service=service, slot=SlotFactory(service=service, starts_at=later))
    Booking.objects.filter(pk=far.pk).update(status=BookingStatus.CANCELLED)

    def refs(**params):
        response = api.get("/api/v1/bookings/", params)
        assert response.status_code == 200, response.json()
        return [b["reference"] for b in response.json()["results"]]

    assert refs() == [near.reference, far.reference]
    assert refs(starts_before=(tomorrow_at_ten + timedelta(days=1)).isoformat()) == [near.reference]
    assert refs(status="cancelled") == [far.reference]
    assert api.get("/api/v1/bookings/", {"starts_from": "yesterday"}).status_code == 400
    assert "between the years 2000 and 2100" in str(api.get("/api/v1/bookings/", {"starts_from": "0001-01-01"}).json())
    assert api.get("/api/v1/bookings/", {"service": 10**6}).json() == {"service": ["No such service."]}


def test_a_sessions_registrations_the_roster_or_the_cancelled(api, tenant):
    session = SessionFactory(tenant=tenant, capacity=5)
    session_register(session, "one@example.com")
    session_register(session, "two@example.com")

    response = api.get(f"/api/v1/sessions/{session.pk}/registrations/")

    assert [r["email"] for r in response.json()["results"]] == ["one@example.com", "two@example.com"]
    assert api.get(f"/api/v1/sessions/{session.pk}/registrations/", {"status": "cancelled"}).json()["results"] == []
    assert api.get("/api/v1/sessions/").json()["results"][0]["id"] == session.pk
    assert api.get("/api/v1/sessions/", {"when": "soon"}).status_code == 400


def test_package_balances_with_each_credits_used_and_total(api, tenant, service):
    from packages_credits.services import client_package_add, default_expiry, package_save

    package = package_save(
        tenant=tenant, items=[(service, 5)], name="Five sessions", price=Decimal("100.00"), validity_days=90
    )
    for email in ("kim@example.com", "lee@example.com"):
        client_package_add(
            tenant=tenant,
            client=ClientFactory(tenant=tenant, email=email),
            package=package,
            price=package.price,
            expires_on=default_expiry(tenant=tenant, package=package),
        )

    response = api.get("/api/v1/packages/", {"email": "KIM@example.com"})

    [held] = response.json()["results"]
    assert held["client"]["email"] == "kim@example.com" and held["name"] == "Five sessions"
    assert held["credits"] == [
        {"service_id": service.pk, "service": service.name, "used": 0, "total": 5, "remaining": 5}
    ]
    assert len(api.get("/api/v1/packages/").json()["results"]) == 2
    assert api.get("/api/v1/packages/", {"email": "not-an-address"}).status_code == 400


# Imports

CSV = b"first_name,last_name,email,price_code\nAda,Lovelace,ada@example.com,STD\nAlan,Turing,alan@example.com,STD\n"


def test_an_import_is_started_checked_and_committed_once(api, contract, price, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        started = api.post(
            f"/api/v1/contracts/{contract.pk}/imports/",
            {"file": SimpleUploadedFile("people.csv", CSV)},
            multipart=True,
        )
    assert started.status_code == 202, started.json()
    job_url = started["Location"]
    job = api.get(job_url).json()
    assert job["status"] == ImportStatus.VALID and job["plan"]["participants to add"] == 2

    with django_capture_on_commit_callbacks(execute=True):
        committed = api.post(f"{job_url}commit/")
    assert committed.status_code == 202
    assert api.get(job_url).json()["status"] == ImportStatus.COMMITTED
    assert Participant.objects.filter(contract=contract).count() == 2
    assert InvitationCode.objects.filter(contract=contract, participant__isnull=False).count() == 2

    again = api.post(f"{job_url}commit/")
    assert again.status_code == 400 and "imported once" in again.json()["detail"]


def test_an_import_with_problems_lists_them_and_cannot_be_committed(
    api, contract, price, django_capture_on_commit_callbacks
):
    bad = b"first_name,last_name,email,price_code\nAda,Lovelace,not-an-email,NOPE\n"
    with django_capture_on_commit_callbacks(execute=True):
        started = api.post(
            f"/api/v1/contracts/{contract.pk}/imports/", {"file": SimpleUploadedFile("bad.csv", bad)}, multipart=True
        )
    job = api.get(started["Location"]).json()
    assert job["status"] == ImportStatus.INVALID and job["problem_count"] >= 2
    assert {p["column"] for p in job["problems"]} >= {"email", "price_code"}

    refused = api.post(f"{started['Location']}commit/")
    assert refused.status_code == 400
    assert not Participant.objects.filter(contract=contract).exists()


def test_an_import_needs_a_file(api, contract):
    assert api.post(f"/api/v1/contracts/{contract.pk}/imports/", {}, multipart=True).status_code == 400
    empty = api.post(
        f"/api/v1/contracts/{contract.pk}/imports/", {"file": SimpleUploadedFile("e.csv", b"")}, multipart=True
    )
    assert empty.status_code == 400
    assert not ImportJob.objects.exists()


def test_learner_registrations_with_their_course_and_code_and_removed_access(api, tenant):
    from regcodes.services import NewLearner, access_remove, learners_assign

    from ..factories import ProductSessionFactory, UserFactory, seat_order

    course = ProductSessionFactory(tenant=tenant)
    order = seat_order(course, UserFactory(email="buyer@example.com"), quantity=3)
    kept, removed = learners_assign(
        tenant=tenant,
        order=order,
        learners=[NewLearner("kim@example.com", "Kim", "Ito"), NewLearner("lee@example.com", "Lee", "Ng")],
        actor=None,
    )
    access_remove(tenant=tenant, access=removed, actor=None)

    everyone = api.get("/api/v1/learner-registrations/").json()["results"]
    assert [(row["learner_email"], row["revoked_at"] is None) for row in everyone] == [
        ("lee@example.com", False),
        ("kim@example.com", True),
    ]
    assert everyone[1]["product_session_id"] == course.pk and everyone[1]["order_reference"] == order.reference
    assert everyone[1]["code"] == kept.code.code
    current = api.get("/api/v1/learner-registrations/", {"active": "true"}).json()["results"]
    assert [row["learner_email"] for row in current] == ["kim@example.com"]
    assert api.get("/api/v1/learner-registrations/", {"email": "LEE@example.com"}).json()["results"][0]["id"] == (
        removed.pk
    )
    assert api.get("/api/v1/learner-registrations/", {"product_session": course.pk + 999}).json()["results"] == []
    assert api.get("/api/v1/learner-registrations/", {"active": "maybe"}).status_code == 400
