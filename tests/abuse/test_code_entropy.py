"""How guessable codes are, as the generate form states it: 5 bits per symbol, and the time to a
first hit at the configured limit of wrong codes per address (CODE_ATTEMPT_LIMIT per window)."""

import html
from decimal import Decimal

import pytest

from invitations import codes
from invitations.forms import attempts_per_hour, guessability

from ..factories import ContractFactory, PriceFactory, ServiceFactory, open_every_day

pytestmark = pytest.mark.django_db


@pytest.fixture
def generate_page(tenant, owner_http):
    contract = ContractFactory(organisation__tenant=tenant, invitation_prefix="ACME", name="Staff training")
    PriceFactory(contract=contract, service=open_every_day(ServiceFactory(tenant=tenant)), amount=Decimal("25.00"))
    url = f"/t/{tenant.slug}/contracts/{contract.pk}/codes/generate/"
    return lambda: html.unescape(owner_http.get(url).content.decode())


@pytest.mark.parametrize("width, bits", [(6, 30), (8, 40), (10, 50), (16, 80), (20, 100)])
def test_each_symbol_carries_five_bits(width, bits):
    assert guessability(width, issued=1)["bits"] == bits
    assert codes.guess_odds(width=width, issued=1, attempts_per_hour=1)["space"] == 2**bits


def test_the_form_states_the_time_to_a_first_hit_at_the_configured_limit(settings, generate_page):
    settings.CODE_ATTEMPT_LIMIT, settings.CODE_ATTEMPT_WINDOW_SECONDS = 20, 3600
    default = generate_page()
    # 100 new codes, 20 tries an hour: 32**10 / 100 / 20 hours.
    assert "someone trying 20 wrong codes an hour" in default and "about 6.4e+07 years" in default

    settings.CODE_ATTEMPT_LIMIT, settings.CODE_ATTEMPT_WINDOW_SECONDS = 20_000, 60
    loose = generate_page()

    assert attempts_per_hour() == 1_200_000
    assert "someone trying 1200000 wrong codes an hour" in loose
    assert f"<strong>{codes.describe_hours(32**10 / 100 / 1_200_000)}</strong> to hit one" in loose
    assert "about 6.4e+07 years" not in loose


def test_the_form_warns_when_the_workspace_wide_limit_makes_guessing_practical(settings, generate_page):
    settings.CODE_ATTEMPT_LIMIT, settings.CODE_ATTEMPT_WINDOW_SECONDS = 20, 3600
    settings.CODE_TENANT_ATTEMPT_LIMIT = 2000
    # Width 10 with 100 new codes: 32**10 / 100 / 2000 hours, about 640,000 years from many addresses.
    calm = generate_page()
    assert "up to the workspace's limit of 2000 an hour" in calm and "Guessing one is practical" not in calm

    # A workspace that allows 5 billion wrong codes an hour: width 10 falls within a year.
    settings.CODE_TENANT_ATTEMPT_LIMIT = 5_000_000_000
    loose = generate_page()
    assert guessability(10, issued=100)["warn"] and "Guessing one is practical at these limits" in loose
