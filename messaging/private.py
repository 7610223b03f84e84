"""Secrets in emails (links carrying a token) never rest readable in the outbox.

An email kind names its private context values. They are rendered as placeholders; the real values
wait in the row's ``private_values`` only until the email is sent, and pages show a mask instead.
So nobody who can read the outbox (staff, a later resend, a database dump after delivery) can use
a link that was meant for the recipient's inbox only.
"""

import html
import re
import secrets

from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

PLACEHOLDER = re.compile(r"private-[0-9a-f]{16}-[a-z_]+")
MASK = gettext_noop("[private link — only in the recipient's copy]")


def hide(context: dict, names: tuple[str, ...]) -> tuple[dict, dict[str, str]]:
    """Return the context with placeholders for ``names``, and ``{placeholder: real value}``."""
    nonce = secrets.token_hex(8)
    values, shown = {}, dict(context)
    for name in names:
        if name in context:
            placeholder = f"private-{nonce}-{name}"
            values[placeholder] = str(context[name])
            shown[name] = placeholder
    return shown, values


def copy_with_values(texts: tuple[str, ...], shown: dict[str, str], values: dict) -> tuple[tuple[str, ...], dict]:
    """``texts`` were rendered with the placeholders ``shown`` (``{name: placeholder}``); return them
    for another email with its own ``values``: fresh placeholders (a new nonce), so that no two emails
    share one, and ``{placeholder: real value}``."""
    nonce = secrets.token_hex(8)
    copied = {}
    for name, placeholder in shown.items():
        fresh = f"private-{nonce}-{name}"
        texts = tuple(text.replace(placeholder, fresh) for text in texts)
        copied[fresh] = str(values[name])
    return texts, copied


def reveal(text: str, values: dict[str, str], *, is_html: bool = False) -> str:
    for placeholder, value in values.items():
        text = text.replace(placeholder, html.escape(value) if is_html else value)
    return text


def mask(text: str) -> str:
    return PLACEHOLDER.sub(_(MASK), text)


def carries_private(text: str) -> bool:
    return bool(PLACEHOLDER.search(text))
