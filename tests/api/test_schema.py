"""The OpenAPI schema tells tools how to authenticate, and the docs page needs no CDN."""

import re

import pytest

pytestmark = pytest.mark.django_db


def test_the_schema_describes_bearer_keys_for_every_operation(client):
    schema = client.get("/api/schema/", {"format": "json"}).json()

    assert schema["components"]["securitySchemes"]["ApiKey"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "tess_<prefix>_<secret>",
        "description": "An API key of one workspace (dashboard → API keys).",
    }
    operations = [op for path in schema["paths"].values() for op in path.values()]
    assert len(operations) >= 14
    assert all(op["security"] == [{"ApiKey": []}] for op in operations)


def test_the_docs_page_loads_its_scripts_from_this_server(client):
    page = client.get("/api/docs/").content.decode()

    sources = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert sources and all(source.startswith("/static/") for source in sources)
