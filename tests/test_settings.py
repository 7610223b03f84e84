"""Settings come from the environment; with nothing set, the app runs on the embedded default."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROBE = """
import json, django
from django.conf import settings
django.setup()
from config.celery import app
print(json.dumps({
    "engine": settings.DATABASES["default"]["ENGINE"],
    "name": str(settings.DATABASES["default"]["NAME"]),
    "eager": app.conf.task_always_eager,
    "broker": app.conf.broker_url,
    "email": settings.EMAIL_BACKEND,
    "email_host": settings.EMAIL_HOST,
    "email_port": settings.EMAIL_PORT,
    "email_tls": settings.EMAIL_USE_TLS,
    "debug": settings.DEBUG,
    "hosts": settings.ALLOWED_HOSTS,
    "secure_cookies": settings.SESSION_COOKIE_SECURE,
    "hsts": settings.SECURE_HSTS_SECONDS,
}))
"""
OURS = (
    "DATABASE_URL",
    "CELERY_BROKER_URL",
    "EMAIL_URL",
    "DEBUG",
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "SECURE_COOKIES",
    "SECURE_HSTS_SECONDS",
    "SITE_URL",
)


def run_probe(**env):
    clean = {k: v for k, v in os.environ.items() if k not in OURS}
    clean.update({"DJANGO_SETTINGS_MODULE": "config.settings", "ENV_FILE": "/nonexistent/.env", **env})
    return subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=clean, capture_output=True, text=True)


def probe(**env) -> dict:
    result = run_probe(**env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_defaults_are_the_embedded_setup():
    found = probe(SECRET_KEY="x")
    assert found["engine"] == "django.db.backends.sqlite3"
    assert found["name"] == str(ROOT / "var" / "tessera.sqlite3")
    assert found["eager"] is True
    assert found["email"] == "django.core.mail.backends.console.EmailBackend"
    assert found["debug"] is False
    assert found["secure_cookies"] is True
    assert "127.0.0.1" in found["hosts"] and "localhost" in found["hosts"]


def test_a_missing_secret_key_stops_start_up_with_a_clear_message():
    result = run_probe()
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr
    assert "DEBUG=1 for local development" in result.stderr


def test_debug_runs_without_a_secret_key_and_without_secure_cookies():
    found = probe(DEBUG="1")
    assert found["debug"] is True and found["secure_cookies"] is False


def test_a_deployment_is_configured_by_urls():
    found = probe(
        SECRET_KEY="x",
        DATABASE_URL="postgres://app:pw@db.internal:5433/tessera",
        CELERY_BROKER_URL="redis://redis.internal:6379/0",
        EMAIL_URL="smtp+tls://mailer:pw@smtp.example.com:587",
        ALLOWED_HOSTS="tessera.example.com,www.tessera.example.com",
        SECURE_HSTS_SECONDS="31536000",
    )
    assert found["engine"] == "tenancy.postgresql" and found["name"] == "tessera"
    assert found["eager"] is False and found["broker"] == "redis://redis.internal:6379/0"
    assert found["email"] == "django.core.mail.backends.smtp.EmailBackend"
    assert (found["email_host"], found["email_port"], found["email_tls"]) == ("smtp.example.com", 587, True)
    assert found["hosts"] == ["tessera.example.com", "www.tessera.example.com"]
    assert found["hsts"] == 31536000
