"""The text of an API key: making one, reading one from a request, and checking its secret."""

import hashlib
import hmac
import re
import secrets

PREFIX_BYTES = 6  # 12 hex characters: public, only has to be unique (the database checks it)
SECRET_BYTES = 32  # 256 bits: too many to guess, so one SHA-256 (no slow hash) keeps it safe at rest
KEY_SHAPE = re.compile(r"tess_(?P<prefix>[0-9a-f]{12})_(?P<secret>[A-Za-z0-9_-]{43})")


def new_key() -> tuple[str, str, str]:
    """``(full key, prefix, secret hash)`` of a fresh key."""
    prefix = secrets.token_hex(PREFIX_BYTES)
    secret = secrets.token_urlsafe(SECRET_BYTES)
    return f"tess_{prefix}_{secret}", prefix, secret_hash(secret)


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def split(text: str) -> tuple[str, str] | None:
    """``(prefix, secret)`` of something shaped like a key, else None."""
    match = KEY_SHAPE.fullmatch(text.strip())
    return (match["prefix"], match["secret"]) if match else None


def secret_matches(secret: str, stored_hash: str) -> bool:
    return hmac.compare_digest(secret_hash(secret), stored_hash)
