"""Brute force on sign-in, password reset and emailed links meets limits per address, per account
and per workspace (tenancy/ratelimit.py): a 429 page that says when to try again, nothing changed,
and an entry staff can read in the audit trail (a log line for the platform's own pages)."""

import logging

import pytest
from django.core import mail
from django.test import Client as HttpClient
from django.urls import reverse

from audit.models import AuditEvent
from invitations.services import CODE_UNKNOWN
from messaging.models import OutboundEmail
from sessions_roster.models import SessionInvitation
from tenancy import ratelimit
from tenancy.models import Membership
from tenancy.urlresolvers import tenant_reverse

from ..factories import (
    DEFAULT_PASSWORD,
    ProductSessionFactory,
    SessionFactory,
    UserFactory,
    invitation_with_token,
    seat_invite,
    seat_order,
    session_invite,
)

pytestmark = pytest.mark.django_db

UNKNOWN_TOKEN = "A" * 43  # looks like a link's token, is none


def visitor(address="203.0.113.7"):
    return HttpClient(REMOTE_ADDR=address)


def text(response) -> str:
    return response.content.decode()


def assert_refused(response, message):
    assert response.status_code == 429
    page = text(response)
    assert message.split("{wait}")[0] in page
    assert "You can try again from" in page and "Nothing was changed." in page
    assert 0 < int(response["Retry-After"]) <= 3600


def hits(tenant):
    return AuditEvent.objects.filter(tenant=tenant, event="rate_limit.hit")


# Sign-in


def sign_in(http, email, password="wrong-password"):
    return http.post(reverse("accounts:login"), {"username": email, "password": password})


@pytest.fixture
def three_signins(settings):
    settings.SIGNIN_ATTEMPT_LIMIT = 3
    settings.SIGNIN_ACCOUNT_ATTEMPT_LIMIT = 3


def test_past_the_failed_sign_ins_of_an_address_even_the_right_password_is_refused(three_signins, caplog):
    user = UserFactory(email="pat@example.com")
    http = visitor()
    for email in ["a@example.com", "b@example.com", "c@example.com"]:  # three accounts: the address limit
        assert sign_in(http, email).status_code == 200

    with caplog.at_level(logging.WARNING, logger="tenancy.ratelimit"):
        response = sign_in(http, user.email, DEFAULT_PASSWORD)

    assert_refused(response, ratelimit.SIGNIN_REFUSED)
    assert "_auth_user_id" not in http.session
    assert any("rate_limit.hit signin.address" in line and "203.0.113.7" in line for line in caplog.messages)
    assert sign_in(visitor("198.51.100.9"), user.email, DEFAULT_PASSWORD).status_code == 302  # others go on


def test_an_account_tried_from_many_addresses_is_paused_for_every_address(three_signins, caplog):
    user = UserFactory(email="pat@example.com")
    for n in range(3):
        assert sign_in(visitor(f"198.51.100.{n}"), "PAT@example.com").status_code == 200

    with caplog.at_level(logging.WARNING, logger="tenancy.ratelimit"):
        response = sign_in(visitor("192.0.2.1"), user.email, DEFAULT_PASSWORD)

    assert_refused(response, ratelimit.SIGNIN_REFUSED)
    assert any("signin.account" in line and "pa…@example.com" in line for line in caplog.messages)
    assert all("pat@example.com" not in line for line in caplog.messages)  # the log names no one in full
    assert sign_in(visitor("192.0.2.1"), "other@example.com").status_code == 200  # the address is not blocked


def test_a_sign_in_that_works_does_not_count_and_clears_the_accounts_failures(three_signins):
    user = UserFactory(email="pat@example.com")
    http = visitor("198.51.100.1")
    sign_in(http, user.email)
    sign_in(http, user.email)
    assert sign_in(http, user.email, DEFAULT_PASSWORD).status_code == 302

    http = visitor("198.51.100.2")
    sign_in(http, user.email)
    sign_in(http, user.email)

    assert sign_in(http, user.email, DEFAULT_PASSWORD).status_code == 302  # 4 failures, 2 since the last success


def test_signing_in_to_ones_own_account_does_not_reset_the_address(three_signins):
    user = UserFactory(email="pat@example.com")
    http = visitor()
    sign_in(http, "victim@example.com")
    sign_in(http, "victim@example.com")
    assert sign_in(HttpClient(REMOTE_ADDR="203.0.113.7"), user.email, DEFAULT_PASSWORD).status_code == 302
    sign_in(http, "victim@example.com")

    assert sign_in(http, "victim@example.com").status_code == 429


def test_ipv6_addresses_of_one_64_block_share_a_count(three_signins):
    for n in range(3):
        sign_in(visitor(f"2001:db8:1:2::{n + 1:x}"), f"x{n}@example.com")

    assert sign_in(visitor("2001:db8:1:2:ffff::9"), "y@example.com").status_code == 429
    assert sign_in(visitor("2001:db8:1:3::1"), "y@example.com").status_code == 200


# Password reset


def ask_reset(http, email):
    return http.post(reverse("accounts:password_reset"), {"email": email})


def test_reset_requests_for_one_email_are_limited_past_it_nothing_is_sent(settings, django_capture_on_commit_callbacks):
    settings.PASSWORD_RESET_EMAIL_LIMIT = 2
    UserFactory(email="pat@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        for n in range(2):
            assert ask_reset(visitor(f"198.51.100.{n}"), "pat@example.com").status_code == 302
    emails, sent = OutboundEmail.objects.count(), len(mail.outbox)
    assert sent >= 1

    with django_capture_on_commit_callbacks(execute=True):
        response = ask_reset(visitor("192.0.2.1"), "Pat@Example.com")

    assert_refused(response, ratelimit.RESET_REFUSED)
    assert (OutboundEmail.objects.count(), len(mail.outbox)) == (emails, sent)


def test_reset_requests_from_one_address_are_limited_whatever_the_email(settings):
    settings.PASSWORD_RESET_LIMIT = 2
    http = visitor()
    ask_reset(http, "nobody1@example.com")
    ask_reset(http, "nobody2@example.com")
    UserFactory(email="pat@example.com")

    assert_refused(ask_reset(http, "pat@example.com"), ratelimit.RESET_REFUSED)
    assert not OutboundEmail.objects.exists()


def test_an_unknown_email_counts_like_a_known_one_so_the_limit_tells_nothing(settings):
    settings.PASSWORD_RESET_EMAIL_LIMIT = 1
    UserFactory(email="pat@example.com")
    ask_reset(visitor("198.51.100.1"), "pat@example.com")
    ask_reset(visitor("198.51.100.1"), "nobody@example.com")

    assert ask_reset(visitor("198.51.100.2"), "pat@example.com").status_code == 429
    assert ask_reset(visitor("198.51.100.2"), "nobody@example.com").status_code == 429


# Emailed links, per address and per workspace


@pytest.fixture
def three_links(settings):
    settings.LINK_ATTEMPT_LIMIT = 3


@pytest.fixture
def session(tenant):
    return SessionFactory(tenant=tenant, title="Evening class")


def link_pages(tenant, session, owner):
    """Each public page behind an emailed link: (a wrong link, a real one)."""
    invitation, token = session_invite(session, "ivy@example.com")
    locked, locked_token = session_invite(session, "lou@example.com", lock_to_email=True)
    _, staff_token = invitation_with_token(tenant=tenant, email="new@example.com")
    order = seat_order(ProductSessionFactory(tenant=tenant), owner, quantity=2)
    _, seat_token = seat_invite(order, "sam@example.com")
    return {
        "register:invitation": (
            tenant_reverse(tenant, "register:invitation", invite_token=UNKNOWN_TOKEN),
            tenant_reverse(tenant, "register:invitation", invite_token=token),
        ),
        "register:invitation_verify": (
            tenant_reverse(tenant, "register:invitation_verify", invite_token=UNKNOWN_TOKEN),
            tenant_reverse(tenant, "register:invitation_verify", invite_token=locked_token),
        ),
        "register:offer": (
            tenant_reverse(tenant, "register:offer", offer_token=UNKNOWN_TOKEN),
            None,
        ),
        "tenancy:join": (
            tenant_reverse(tenant, "tenancy:join", token=UNKNOWN_TOKEN),
            tenant_reverse(tenant, "tenancy:join", token=staff_token),
        ),
        "seats:accept": (
            tenant_reverse(tenant, "seats:accept", seat_token=UNKNOWN_TOKEN),
            tenant_reverse(tenant, "seats:accept", seat_token=seat_token),
        ),
    }


@pytest.mark.parametrize(
    "page", ["register:invitation", "register:invitation_verify", "register:offer", "tenancy:join", "seats:accept"]
)
def test_wrong_links_from_one_address_are_refused_past_the_limit_and_staff_see_it(
    three_links, tenant, other_tenant, session, owner, owner_http, page
):
    wrong, _ = link_pages(tenant, session, owner)[page]
    http = visitor()
    for _ in range(3):
        assert http.get(wrong).status_code == 404

    response = http.get(wrong)

    assert_refused(response, ratelimit.LINK_REFUSED)
    [hit] = hits(tenant)
    assert hit.summary.startswith("Links paused for 203.0.113.7: more than 3 links or email codes that did not work")
    assert hit.data["page"] == page and UNKNOWN_TOKEN not in str(hit.data)
    assert hit.actor_label == "system"
    assert not hits(other_tenant).exists()
    assert hit.summary in text(owner_http.get(tenant_reverse(tenant, "audit:list")))
    assert visitor("198.51.100.1").get(wrong).status_code == 404  # another address is not slowed


def test_past_the_limit_a_real_link_changes_nothing(three_links, tenant, session, owner):
    pages = link_pages(tenant, session, owner)
    http = visitor()
    for _ in range(3):
        http.get(pages["register:invitation"][0])

    response = http.get(pages["register:invitation"][1])

    assert response.status_code == 429
    assert "Your cart is empty" in text(http.get(tenant_reverse(tenant, "register:cart")))
    assert http.post(pages["tenancy:join"][1], {"first_name": "N", "last_name": "N"}).status_code == 429
    assert not Membership.objects.filter(tenant=tenant, user__email="new@example.com").exists()


def test_real_links_opened_many_times_never_count(three_links, tenant, session, owner):
    pages = link_pages(tenant, session, owner)
    http = visitor()
    for _ in range(3):
        for name in ["register:invitation", "tenancy:join", "seats:accept"]:
            assert http.get(pages[name][1]).status_code in (200, 302)

    assert http.get(pages["register:invitation"][0]).status_code == 404  # a first wrong link still answers


def test_a_closed_link_is_a_real_one_and_does_not_count(three_links, tenant, session, owner):
    invitation, token = session_invite(session, "ivy@example.com")
    SessionInvitation.objects.filter(pk=invitation.pk).update(status="cancelled")
    http = visitor()
    for _ in range(4):
        assert http.get(tenant_reverse(tenant, "register:invitation", invite_token=token)).status_code == 410


def test_many_addresses_trying_wrong_links_in_one_workspace_get_one_try_each(settings, tenant, session, owner):
    settings.LINK_ATTEMPT_LIMIT = 10
    settings.LINK_TENANT_ATTEMPT_LIMIT = 3
    pages = link_pages(tenant, session, owner)
    wrong, real = pages["register:invitation"]
    for n in range(3):
        visitor(f"198.51.100.{n}").get(wrong)

    fresh = visitor("192.0.2.50")
    assert fresh.get(wrong).status_code == 404  # one failed try
    assert fresh.get(wrong).status_code == 429
    assert visitor("192.0.2.51").get(real).status_code == 302  # a working link is never slowed
    summaries = list(hits(tenant).values_list("summary", flat=True))
    assert any(s.startswith("More than 3 links or email codes that did not work were tried") for s in summaries)


def test_wrong_email_proof_codes_count_against_the_address(three_links, settings, tenant, session):
    settings.EMAIL_PROOF_ATTEMPTS = 10
    invitation, token = session_invite(session, "lou@example.com", lock_to_email=True)
    verify = tenant_reverse(tenant, "register:invitation_verify", invite_token=token)
    http = visitor()
    http.post(verify, {"action": "send"})
    for guess in ["000000", "111111", "222222"]:
        assert http.post(verify, {"action": "check", "code": guess}).status_code == 200

    response = http.post(verify, {"action": "check", "code": "333333"})

    assert response.status_code == 429
    invitation.refresh_from_db()
    assert invitation.proof_attempts == 3  # the fourth guess was never checked
    assert hits(tenant).count() == 1


def test_the_audit_trail_gets_a_bounded_number_of_entries(settings, tenant, session, owner):
    settings.LINK_ATTEMPT_LIMIT = 1
    settings.RATE_LIMIT_REPORTS_PER_WINDOW = 2
    wrong, _ = link_pages(tenant, session, owner)["register:invitation"]
    for n in range(5):
        http = visitor(f"198.51.100.{n}")
        http.get(wrong)
        assert http.get(wrong).status_code == 429
        assert http.get(wrong).status_code == 429  # a second refusal is not a second entry

    assert hits(tenant).count() == 2


# Typed codes on the booking page


def test_crossing_the_code_limit_is_one_audit_entry(settings, tenant, other_tenant):
    settings.CODE_ATTEMPT_LIMIT = 2
    http = visitor()
    for n in range(4):
        response = http.post(tenant_reverse(tenant, "book:start"), {"code": f"ACME-ZZZZZ-ZZZ{n}Z"})

    assert CODE_UNKNOWN not in text(response) and "Too many codes" in text(response)
    [hit] = hits(tenant)
    assert hit.summary.startswith("Booking codes paused for 203.0.113.7: more than 2 codes that did not work")
    assert not hits(other_tenant).exists()


# The module


def test_with_the_cache_down_pages_keep_working_unlimited(settings, three_signins, three_links, tenant, session):
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:1/0"}
    }
    user = UserFactory(email="pat@example.com")
    http = visitor()
    for _ in range(4):
        assert sign_in(http, user.email).status_code == 200
    assert sign_in(http, user.email, DEFAULT_PASSWORD).status_code == 302
    _, token = session_invite(session, "ivy@example.com")
    for _ in range(4):
        assert http.get(tenant_reverse(tenant, "register:invitation", invite_token=UNKNOWN_TOKEN)).status_code == 404
    assert http.get(tenant_reverse(tenant, "register:invitation", invite_token=token)).status_code == 302


def test_attempts_count_first_and_refuse_with_the_time_left(settings):
    counter = ratelimit.Counter("test.one", "x", limit=2, window=600)

    assert not ratelimit.attempt(counter)
    assert not ratelimit.attempt(counter)
    refused = ratelimit.attempt(counter)
    again = ratelimit.attempt(counter)

    assert 590 <= refused.wait <= 600 and refused.crossed == [counter]
    assert again.wait and again.crossed == []  # crossing is reported once
    ratelimit.forgive(counter)
    ratelimit.forgive(counter)
    ratelimit.forgive(counter)
    assert not ratelimit.attempt(counter)


@pytest.mark.parametrize(
    "address, counted_as",
    [
        ("203.0.113.7", "203.0.113.7"),
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
        ("::ffff:203.0.113.7", "203.0.113.7"),
        ("", "unknown"),
        ("not an address", "not an address"),
    ],
)
def test_addresses_are_counted_per_host_or_ipv6_64(address, counted_as):
    assert ratelimit.address_key(address) == counted_as


def test_behind_a_proxy_the_configured_header_gives_the_address(settings, three_signins):
    settings.CLIENT_IP_HEADER = "HTTP_X_FORWARDED_FOR"
    for n in range(3):
        HttpClient(HTTP_X_FORWARDED_FOR=f"1.1.1.1, 198.51.100.{n}").post(
            reverse("accounts:login"), {"username": f"x{n}@example.com", "password": "x"}
        )
    same = HttpClient(HTTP_X_FORWARDED_FOR="198.51.100.1")

    assert same.post(reverse("accounts:login"), {"username": "y@example.com", "password": "x"}).status_code == 200
