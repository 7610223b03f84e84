"""Tokens of emailed links (invitations, waitlist offers).

A token is an HMAC of a random salt under the server's secret key: 256 bits, rebuilt for a resend
from the salt, while the database holds only the salt and the token's SHA-256 — a copy of the
database alone cannot make a working link. Changing SECRET_KEY invalidates open links.
"""

import base64
import hashlib
import hmac
import secrets

from django.utils.crypto import salted_hmac


def new_salt() -> str:
    return secrets.token_hex(16)


def link_token(purpose: str, salt: str) -> str:
    digest = salted_hmac(f"tessera.sessions_roster.{purpose}", salt, algorithm="sha256").digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def matches(purpose: str, salt: str, token: str) -> bool:
    """The token found by its hash is also the one the current secret key makes from the salt."""
    return bool(salt) and hmac.compare_digest(link_token(purpose, salt), token)


def looks_like_token(text: str) -> bool:
    return len(text) == 43 and all(c.isalnum() or c in "-_" for c in text)
