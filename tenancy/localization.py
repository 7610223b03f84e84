"""A workspace's language, formats and time zone around the work done for it.

Its pages (TenantMiddleware), its API calls, its tasks (TenantTask) and so the emails they render all
run inside ``tenant_locale``: words from locale/<language>/, Django's formats of that language for dates
and numbers, and the workspace's clock. ``money`` writes an amount the way the active language writes
numbers, always followed by the currency code: "30.00 EUR" in English, "30,00 EUR" in Dutch; ``when``
writes a moment with Django's date format letters, month and day names in the active language.
"""

from contextlib import contextmanager
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.utils import dateformat, timezone, translation
from django.utils.formats import number_format


@contextmanager
def tenant_locale(tenant):
    """Activate ``tenant``'s language and time zone; nothing changes for ``None`` (the platform)."""
    if tenant is None:
        yield
        return
    with translation.override(tenant.language or settings.LANGUAGE_CODE), timezone.override(tenant.zone):
        yield


def money(amount, currency: str) -> str:
    """``amount`` with two decimals in the active language's number format, then the currency code."""
    if amount is None or amount == "":
        return ""
    try:
        value = Decimal(str(amount))
    except InvalidOperation:
        return f"{amount} {currency}".strip()
    return f"{number_format(value, decimal_pos=2)} {currency}".strip()


def when(moment, zone, fmt: str = "l j F Y, H:i") -> str:
    """``moment`` on ``zone``'s clock in Django's ``date`` format: "Monday 3 March 2025, 09:00"."""
    if moment is None:
        return ""
    return dateformat.format(timezone.localtime(moment, zone), fmt)
