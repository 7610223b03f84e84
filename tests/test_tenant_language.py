"""A workspace's language (Tenant.language) on its pages, in its tasks and in its emails: a workspace in
Dutch shows the public booking page in Dutch, with Dutch day and month names and decimal commas; a
workspace in English shows exactly what it showed before."""

import html
import re
from datetime import datetime, time, timedelta
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.template import Context, Template
from django.utils import timezone, translation

from config.celery import app
from messaging.models import OutboundEmail
from tenancy.localization import money, tenant_locale, when
from tenancy.tasks import TenantTask

from .factories import CodeFactory, ContractFactory, PriceFactory, ServiceFactory, open_every_day

pytestmark = pytest.mark.django_db

START, TIMES, DETAILS = "/t/acme/book/", "/t/acme/book/times/", "/t/acme/book/details/"
CODE = "ACME7KD0QX2M1F"
DUTCH_DAYS = ("maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag", "zondag")
ENGLISH_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@pytest.fixture(autouse=True)
def _fresh_attempt_counts():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def code(tenant):
    contract = ContractFactory(organisation__tenant=tenant, organisation__name="Initech", invitation_prefix="ACME")
    service = open_every_day(ServiceFactory(tenant=tenant, name="Intro", duration_minutes=60), capacity=3)
    price = PriceFactory(contract=contract, service=service, price_code="STD", amount=Decimal("1234.50"))
    return CodeFactory(price=price, code=CODE)


def speaking(tenant, language):
    tenant.language = language
    tenant.save(update_fields=["language"])
    return tenant


def text(response) -> str:
    assert response.status_code == 200, response.status_code
    return " ".join(html.unescape(response.content.decode()).split())


def tomorrow_at_ten(tenant):
    day = timezone.localdate(timezone=tenant.zone) + timedelta(days=1)
    return datetime.combine(day, time(10)).replace(tzinfo=tenant.zone)


def test_a_dutch_workspace_shows_the_booking_page_in_dutch(client, tenant, code):
    speaking(tenant, "nl")

    start = text(client.get(START))
    assert '<html lang="nl">' in start
    assert "Boeken met uw uitnodigingscode" in start
    assert "Vul de code uit uw uitnodiging in." in start
    assert ">Uw uitnodigingscode<" in start and ">Verder</button>" in start
    assert "Book with your invitation code" not in start

    unknown = text(client.post(START, {"code": "ACME-ZZZZZ-ZZZZZ"}))
    assert "Deze code kennen we niet. Vergelijk hem met uw uitnodiging." in unknown
    assert "Dit veld is vereist." in text(client.post(START, {"code": " "}))  # Django's own Dutch

    assert client.post(START, {"code": CODE}).status_code == 302
    times = text(client.get(TIMES))
    assert "Kies een tijd" in times
    assert "1234,50 EUR" in times and "1234.50" not in times  # decimal comma, currency code after
    assert "60 minuten · 1234,50 EUR · met uw code" in times
    assert "nog 3 plaatsen" in times
    assert any(f"<legend>{day} " in times for day in DUTCH_DAYS)
    assert not any(day in times for day in ENGLISH_DAYS)


def test_a_dutch_booking_is_confirmed_in_dutch_formats(client, tenant, code):
    speaking(tenant, "nl")
    starts_at = tomorrow_at_ten(tenant)
    assert client.post(START, {"code": CODE}).status_code == 302
    assert client.post(TIMES, {"starts_at": starts_at.isoformat()}).status_code == 302

    details = text(client.get(DETAILS))
    assert "Uw gegevens" in details and ">Voornaam" in details and ">Boeken</button>" in details

    form = {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com"}
    done = client.post(DETAILS, form, follow=True)
    page = text(done)
    assert "U bent geboekt" in page
    assert "Een bevestiging is onderweg naar ada@example.com." in page
    dutch_day = DUTCH_DAYS[starts_at.weekday()]
    assert f"{dutch_day} {starts_at.day} " in page  # "woensdag 26 november 2026, 10:00"

    email = OutboundEmail.objects.get(to_email="ada@example.com")
    # The email's moment and price are written in the workspace's language.
    with translation.override("nl"):
        expected_when = when(starts_at, tenant.zone)
    assert expected_when.startswith(dutch_day)
    assert expected_when in email.body_text
    assert "1234,50 EUR" in email.body_text
    assert email.subject == f"Uw boeking: Intro op {expected_when} ({tenant.time_zone})"
    assert "Hallo Ada," in email.body_text and "Uw boeking bij Acme Training is bevestigd." in email.body_text
    assert "Prijs: 1234,50 EUR" in email.body_text and "Tot dan." in email.body_text
    assert "Uw boeking bij <strong>Acme Training</strong> is bevestigd." in email.body_html


def test_an_english_workspace_is_unchanged(client, tenant, code):
    assert tenant.language == "en"
    start = text(client.get(START))
    assert '<html lang="en">' in start
    assert "Book with your invitation code" in start and ">Continue</button>" in start

    assert client.post(START, {"code": CODE}).status_code == 302
    times = text(client.get(TIMES))
    assert "60 minutes · 1234.50 EUR · with your code" in times
    assert "3 places left" in times
    assert any(f"<legend>{day} " in times for day in ENGLISH_DAYS)

    starts_at = tomorrow_at_ten(tenant)
    assert client.post(TIMES, {"starts_at": starts_at.isoformat()}).status_code == 302
    client.post(DETAILS, {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com"})
    email = OutboundEmail.objects.get(to_email="ada@example.com")
    assert f"When: {starts_at:%A %-d %B %Y, %H:%M} ({tenant.time_zone})" in email.body_text  # as it always was
    assert "Price: 1234.50 EUR" in email.body_text and "See you then." in email.body_text
    assert email.subject.startswith("Your booking: Intro on ")


def test_a_workspace_in_another_language_does_not_change_the_next_request(client, tenant, other_tenant, code):
    """The language is set around each request and put back: a Dutch page, then an English one."""
    speaking(other_tenant, "nl")
    assert "Boeken met uw uitnodigingscode" in text(client.get("/t/globex/book/"))
    assert "Book with your invitation code" in text(client.get(START))
    assert translation.get_language() in (None, "en", "en-us")


@pytest.mark.parametrize(
    "language,amount,expected",
    [
        ("en", Decimal("30"), "30.00 EUR"),
        ("en", Decimal("1234.5"), "1234.50 EUR"),
        ("nl", Decimal("30"), "30,00 EUR"),
        ("nl", Decimal("-4.5"), "-4,50 EUR"),
        ("de", "12.3", "12,30 EUR"),
        ("en", None, ""),
    ],
)
def test_money_writes_the_amount_in_the_language_and_the_currency_after_it(language, amount, expected):
    with translation.override(language):
        assert money(amount, "EUR") == expected
        rendered = Template("{% load tenancy %}{{ amount|money:'EUR' }}").render(Context({"amount": amount}))
        assert rendered == expected


@app.task(base=TenantTask, name="tests.test_tenant_language.what_the_task_sees")
def what_the_task_sees(*, tenant):
    return translation.get_language(), timezone.get_current_timezone_name()


def test_a_tenant_task_runs_in_the_workspace_language_and_time_zone(tenant):
    tenant.language, tenant.time_zone = "nl", "Europe/Amsterdam"
    tenant.save(update_fields=["language", "time_zone"])

    assert what_the_task_sees(tenant_id=tenant.pk) == ("nl", "Europe/Amsterdam")
    assert what_the_task_sees(tenant_id=None)[0] != "nl"  # the platform: the default language


def test_tenant_locale_puts_the_language_back(tenant):
    speaking(tenant, "nl")
    before = translation.get_language()
    with tenant_locale(tenant):
        assert translation.get_language() == "nl"
        assert re.fullmatch(r"\d+,\d\d EUR", money(Decimal("1.5"), "EUR"))
    assert translation.get_language() == before
