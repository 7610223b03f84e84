"""The API tests' fixtures (a key's client, a contract with a price and a code), for the review's API tests."""

from ..api.conftest import _fresh_cache, api, api_key, code, contract, price, read_api, service  # noqa: F401
