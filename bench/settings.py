"""Settings of the benchmark processes: the production settings on the benchmark database (plain
HTTP on loopback), plus a constant page, the reference of the HTTP scenario, in bench/urls.py."""

import os

os.environ.setdefault("SECURE_COOKIES", "0")

from config.settings import *  # noqa: E402,F403

ROOT_URLCONF = "bench.urls"
ALLOWED_HOSTS = [*ALLOWED_HOSTS, "testserver"]  # noqa: F405  (the in-process client of the pages scenario)
