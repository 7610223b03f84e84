"""Secrets for emailed links. Two kinds, both 256 bits with only a SHA-256 in the database:

- ``token_new``: random; the link can never be shown again (staff invitations).
- ``link_token(purpose, salt)``: an HMAC of a stored random salt under SECRET_KEY, so the same link
  can be sent again or shown to its owner, while a copy of the database alone cannot make it; a
  link found by its hash must also match the HMAC under the current key (``link_matches``), so
  changing SECRET_KEY invalidates open links.
"""

import base64
import hashlib
import hmac
import secrets

from django.utils.crypto import salted_hmac


def token_new() -> tuple[str, str]:
    """Return ``(raw, hashed)``. The raw token goes into the link, the hash into the database."""
    raw = secrets.token_urlsafe(32)
    return raw, token_hash(raw)


def token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def new_salt() -> str:
    return secrets.token_hex(16)


def link_token(purpose: str, salt: str) -> str:
    digest = salted_hmac(f"tessera.{purpose}", salt, algorithm="sha256").digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def link_matches(purpose: str, salt: str, token: str) -> bool:
    """The token found by its hash is also the one the current secret key makes from the salt."""
    return bool(salt) and hmac.compare_digest(link_token(purpose, salt), token)


def looks_like_token(text: str) -> bool:
    return len(text) == 43 and all(c.isalnum() or c in "-_" for c in text)
