"""Invitation code text: drawing, normalising what people type, and showing it.

Codes use Crockford's base-32 alphabet: digits and capital letters without I, L, O and U, so no two
symbols look alike. 32 symbols map five random bits each, so a code is drawn by translating bytes
from the operating system's cryptographic source, with no modulo bias and no per-character call.
What people type is forgiven: case, spaces and hyphens are ignored, O is read as 0 and I or L as 1.
"""

import math
import os
import re

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
BITS_PER_SYMBOL = 5
MIN_WIDTH, MAX_WIDTH, DEFAULT_WIDTH, WARN_BELOW_WIDTH = 6, 20, 10, 10
GROUP = 5  # shown as PREFIX-XXXXX-XXXXX

_TRANSLATE = bytes(ord(ALPHABET[byte & 31]) for byte in range(256))
_TYPED = str.maketrans({"O": "0", "I": "1", "L": "1"})
_SEPARATORS = re.compile(r"[\s\-_.]+")
CANONICAL = re.compile(rf"^[{ALPHABET}]+$")


def draw(count: int, width: int) -> list[str]:
    """``count`` random strings of ``width`` symbols (without the prefix)."""
    raw = os.urandom(count * width).translate(_TRANSLATE).decode("ascii")
    return [raw[i : i + width] for i in range(0, count * width, width)]


def normalise(typed: str) -> str:
    """What someone typed, as stored: upper case, no separators, look-alikes read as intended."""
    return _SEPARATORS.sub("", typed or "").upper().translate(_TYPED)


def is_well_formed(canonical: str) -> bool:
    return bool(canonical) and len(canonical) <= 40 and CANONICAL.match(canonical) is not None


def display(code: str, prefix: str) -> str:
    """``ACME7KD9QX2MF4`` with prefix ``ACME`` → ``ACME-7KD9Q-X2MF4``."""
    body = code[len(prefix) :] if prefix and code.startswith(prefix) else code
    groups = [body[i : i + GROUP] for i in range(0, len(body), GROUP)]
    return "-".join(([prefix] if prefix and code.startswith(prefix) else []) + groups)


def guess_odds(*, width: int, issued: int, attempts_per_hour: int) -> dict:
    """How guessable codes of ``width`` symbols are, with ``issued`` live codes and a rate limit."""
    space = len(ALPHABET) ** width
    per_guess = min(max(issued, 1) / space, 1.0)
    hours = 1 / (per_guess * attempts_per_hour) if per_guess else math.inf
    return {"bits": width * BITS_PER_SYMBOL, "space": space, "hours_to_first_hit": hours}


def describe_hours(hours: float) -> str:
    if hours < 1:
        return "less than an hour"
    for unit, size in (("year", 24 * 365), ("day", 24), ("hour", 1)):
        if hours >= size:
            value = hours / size
            if unit == "year" and value >= 1e6:
                return f"about {value:.1e} years"
            return f"about {value:,.0f} {unit}{'' if round(value) == 1 else 's'}"
    return "less than an hour"
