"""Test settings: the production settings module, with test defaults in the environment.

The suite runs on PostgreSQL; DATABASE_URL defaults to the local server on 127.0.0.1:5432.
"""

import os

os.environ.setdefault("ENV_FILE", os.devnull)  # a developer's .env (DEBUG=1 …) must not change the tests
os.environ.setdefault("SECRET_KEY", "tests-only-not-secret")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/tessera")
os.environ.setdefault("SECURE_COOKIES", "0")
os.environ.setdefault("SITE_URL", "http://testserver")

from config.settings import *  # noqa: E402,F403

STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}  # noqa: F405
WHITENOISE_USE_FINDERS = True
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast; the real hasher is not under test

# Several checkouts (or sessions) can share one PostgreSQL server: give each its own test database.
DATABASES["default"]["TEST"] = {"NAME": os.environ.get("TEST_DATABASE_NAME", "test_tessera")}  # noqa: F405
