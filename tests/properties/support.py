"""What the property tests of this folder share: a picture of the database to prove that a refused
input wrote nothing, and a way to undo each example so that every one starts from the same state."""

import html
from contextlib import contextmanager

from django.apps import apps
from django.core.cache import cache
from django.db import transaction

# Everything a form or an import could write to, whole rows: refused input must leave every one as
# it was. (audit, webhooks and imports record the attempt itself, so they are not watched.)
WATCHED_APPS = ("accounts", "contracts", "invitations", "regcodes", "messaging", "sessions_roster", "bookings")


@contextmanager
def undone():
    """One example, undone afterwards, so every example starts from the same database and cache."""
    cache.clear()
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


def snapshot() -> dict:
    return {
        model._meta.label: list(model._base_manager.order_by("pk").values())
        for label in WATCHED_APPS
        for model in apps.get_app_config(label).get_models()
    }


def changed(before: dict, after: dict) -> set[str]:
    return {label for label in before if before[label] != after[label]}


def text(response) -> str:
    return html.unescape(response.content.decode())
