"""`manage.py check --deploy` with production settings (config.settings, as a deployment reads them
from the environment): no warning at all. The same run without HSTS and the TLS redirect warns, so the
clean result is the settings', not a check that cannot fail."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = {
    "DJANGO_SETTINGS_MODULE": "config.settings",
    "ENV_FILE": os.devnull,
    "SECRET_KEY": secrets.token_urlsafe(50),
    "DEBUG": "0",
    "ALLOWED_HOSTS": "tessera.example.com",
    "SITE_URL": "https://tessera.example.com",
    "DATABASE_URL": "postgres://tessera@127.0.0.1:5432/tessera",
    "SECURE_SSL_REDIRECT": "1",
    "SECURE_HSTS_SECONDS": "31536000",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": "1",
    "SECURE_HSTS_PRELOAD": "1",
    "SECURE_COOKIES": "1",
}


def check_deploy(**overrides) -> subprocess.CompletedProcess:
    environment = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp"), **PRODUCTION}
    environment.update(overrides)
    environment = {name: value for name, value in environment.items() if value is not None}
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_is_clean_with_production_settings():
    result = check_deploy()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_check_deploy_warns_without_hsts_and_the_tls_redirect():
    result = check_deploy(SECURE_HSTS_SECONDS=None, SECURE_SSL_REDIRECT=None)
    assert result.returncode != 0
    assert "security.W004" in result.stderr and "security.W008" in result.stderr


def test_production_settings_refuse_a_missing_secret_key():
    result = check_deploy(SECRET_KEY=None)
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr
