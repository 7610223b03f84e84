"""manage.py seed_demo: a working demo, the same after any number of runs."""

from io import StringIO

import pytest
from django.apps import apps
from django.contrib.auth import authenticate
from django.core.management import CommandError, call_command

from accounts.models import Client
from tenancy.demo import DEMO_PASSWORDS
from tenancy.models import Membership, Role, Tenant

pytestmark = pytest.mark.django_db


def row_counts():
    return {model._meta.label: model._default_manager.count() for model in apps.get_models()}


def test_seed_demo_is_idempotent_and_prints_working_logins():
    out = StringIO()
    call_command("seed_demo", stdout=out)
    first = row_counts()
    call_command("seed_demo", stdout=StringIO())
    assert row_counts() == first

    demo = Tenant.objects.get(slug="demo")
    assert Client.objects.filter(tenant=demo).count() > 25  # more than one page
    for email, password in DEMO_PASSWORDS.items():
        assert f"{email}  /  {password}" in out.getvalue()
        assert authenticate(username=email, password=password) is not None
    assert set(Membership.objects.filter(tenant=demo).values_list("role", flat=True)) == {Role.OWNER, Role.STAFF}
    assert Membership.objects.filter(user__email="owner@demo.tessera.test").count() == 2


def test_create_tenant_makes_a_workspace_with_an_owner():
    call_command(
        "create_tenant", "north", "North Studio", "Boss@North.example", "--password", "pw-123456-x", stdout=StringIO()
    )
    membership = Membership.objects.get(tenant__slug="north")
    assert membership.role == Role.OWNER and membership.user.email == "boss@north.example"
    with pytest.raises(CommandError, match="slug"):
        call_command("create_tenant", "Bad Slug!", "X", "x@example.com", "--password", "pw", stdout=StringIO())
