"""Beyond the public forms: every page of a workspace, as its owner, with hypothesis's junk in the
query string (filters, search, pagination cursors, page numbers) and in the form. The isolation
walker (tests/test_isolation.py) posts one fixed junk set to every page; this samples pages and
varies the junk. Never a server error, and a refused post changes nothing."""

import pytest
from django.test import Client as HttpClient
from hypothesis import event, given
from hypothesis import strategies as st

from tenancy.models import Role

from ..conftest import member
from ..test_isolation import make_values, tenant_routes, url_for
from ..world import build_world
from .strategies import PROPERTY, field_text
from .support import undone

pytestmark = pytest.mark.django_db

# The names pages read from the query string and forms, and a few they do not.
NAMES = (
    "q",
    "page",
    "after",
    "before",
    "status",
    "sort",
    "price",
    "assigned",
    "when",
    "client",
    "package",
    "service",
    "tag",
    "send",
    "from",
    "code",
    "email",
    "first_name",
    "last_name",
    "quantity",
    "width",
    "max_uses",
    "valid_from",
    "valid_until",
    "starts_on",
    "ends_on",
    "amount",
    "capacity",
    "confirm",
    "action",
    "role",
    "name",
    "subject",
    "text",
    "html",
    "recipients",
    "message",
    "notes",
    "phone",
    "discount_code",
    "url",
    "events",
)
JUNK = st.dictionaries(
    st.one_of(st.sampled_from(NAMES), st.text(min_size=1, max_size=10)),
    st.one_of(field_text(), st.integers(-(2**70), 2**70).map(str), st.lists(field_text(), max_size=3)),
    max_size=6,
)


@pytest.fixture
def owner_world(tenant):
    http = HttpClient()
    http.force_login(member(tenant, Role.OWNER))
    world = build_world(tenant)
    routes = [route for route in tenant_routes() if route.name]
    return http, [url_for(route, tenant, make_values(route, world)) for route in routes]


@PROPERTY
@given(data=st.data(), query=JUNK, form=JUNK)
def test_any_page_with_any_query_and_form_answers_without_a_server_error(owner_world, data, query, form):
    http, urls = owner_world
    url = data.draw(st.sampled_from(urls), label="url")
    with undone():
        shown, posted = http.get(url, query), http.post(url, form)
        event(f"GET {shown.status_code}, POST {posted.status_code}")
        assert shown.status_code < 500 and posted.status_code < 500
