"""Schemathesis against the API's own OpenAPI schema: every operation, with generated parameters
and bodies (valid and not), sent by a read-and-write key of a workspace that has one of every
object — as generated, and again with the path's ids replaced by real ones of that workspace, so
the requests reach real rows. None may answer a server error.

Kept short (a few examples an operation) so it runs with the normal suite in well under a minute."""

import os

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from ..world import build_world
from .conftest import key_for

EXAMPLES = int(os.environ.get("API_FUZZ_EXAMPLES", "8"))  # more for a deeper run by hand
REAL_IDS = ("contract_id", "batch_id", "session_id", "job_id")


@pytest.fixture
def world(tenant, settings):
    settings.API_RATE_LIMIT = "100000/minute"  # the limit has its own test; here it would only interrupt
    return build_world(tenant)


@pytest.fixture(autouse=True)
def _connection_kept_open():
    """The requests run inside the test's transaction: Django must not close the connection at the
    end of each one (its own test client does the same)."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def bearer(world, tenant):
    return {"Authorization": f"Bearer {key_for(tenant)[1]}"}


# The schema is generated without the database, so it can be read while the tests are collected.
schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", get_wsgi_application())


@pytest.mark.django_db
@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_no_operation_answers_a_server_error(case, bearer, world):
    case.call_and_validate(headers=bearer, checks=[not_a_server_error])
    if case.path_parameters:
        case.path_parameters = {
            name: world.objects[name] if name in REAL_IDS else value for name, value in case.path_parameters.items()
        }
        case.call_and_validate(headers=bearer, checks=[not_a_server_error])
