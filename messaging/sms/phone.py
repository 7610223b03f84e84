"""Phone numbers as SMS providers take them: E.164, a + and 8 to 15 digits, the country code first."""

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

PHONE_INVALID = gettext_noop(
    "“{text}” is not a phone number in international format: a + and the country code, then the number, "
    "8 to 15 digits in all (e.g. +44 7700 900123)."
)
# What people put between the digits: spaces, hyphens, dots, slashes, brackets around an area code.
SEPARATORS = re.compile(r"[\s\-./()\u00a0]+")
E164 = re.compile(r"^\+[1-9][0-9]{7,14}$")


# "+44 (0)20 …": the trunk 0 in brackets after the country code is not dialled from abroad.
TRUNK_ZERO = re.compile(r"^(\s*(?:\+|00)\s*[1-9][0-9]{0,2})\s*\(\s*0\s*\)")


def phone_normalise(text: str) -> str:
    """``+44 (0)20 7946-0958`` style input as ``+442079460958``; ``ValidationError`` when it is not a
    number with its country code. A national number (no + or 00) is refused: which country it
    belongs to cannot be known, and a wrong guess would send a code to a stranger."""
    shown = (text or "").strip()[:60]
    compact = SEPARATORS.sub("", TRUNK_ZERO.sub(r"\1", shown))
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    if not compact.isascii() or not E164.match(compact):
        raise ValidationError(_(PHONE_INVALID).format(text=shown or "(empty)"), code="phone")
    return compact
