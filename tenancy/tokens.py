"""Secrets for emailed links: 256 random bits in the link, only their SHA-256 stored."""

import hashlib
import secrets


def token_new() -> tuple[str, str]:
    """Return ``(raw, hashed)``. The raw token goes into the link, the hash into the database."""
    raw = secrets.token_urlsafe(32)
    return raw, token_hash(raw)


def token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()
