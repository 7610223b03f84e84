"""Writes of API keys: creating one (its full text returned once) and revoking one."""

from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from tenancy.events import publish
from tenancy.models import Tenant

from . import keys
from .models import ApiKey, KeyScope

ALREADY_REVOKED = gettext_noop("This key is already revoked.")
NAME_REQUIRED = gettext_noop("Give the key a name, e.g. the program that will use it.")
LAST_USED_EVERY = timedelta(minutes=1)


def api_key_create(*, tenant: Tenant, name: str, scope: str, actor) -> tuple[ApiKey, str]:
    """A new key and its full text, which is not stored and cannot be shown again."""
    name = " ".join((name or "").split())
    if not name:
        raise ValidationError({"name": _(NAME_REQUIRED)})
    scope = KeyScope(scope)
    text, prefix, secret_hash = keys.new_key()
    with transaction.atomic():
        key = ApiKey.objects.create(
            tenant=tenant, name=name, prefix=prefix, secret_hash=secret_hash, scope=scope, created_by=actor
        )
        publish(
            tenant=tenant,
            name="api_key.created",
            obj=key,
            actor=actor,
            summary=f"API key “{key.name}” created ({scope.label.lower()}, prefix {prefix}).",
            payload={"id": key.pk, "name": key.name, "prefix": prefix, "scope": scope.value},
        )
    return key, text


def api_key_revoke(*, tenant: Tenant, key: ApiKey, actor) -> ApiKey:
    """The key stops working at once; the row stays, so the audit trail keeps naming it."""
    with transaction.atomic():
        now = timezone.now()
        if not ApiKey.objects.filter(tenant=tenant, pk=key.pk, revoked_at__isnull=True).update(
            revoked_at=now, revoked_by=actor
        ):
            raise ValidationError(_(ALREADY_REVOKED))
        key.refresh_from_db()
        publish(
            tenant=tenant,
            name="api_key.revoked",
            obj=key,
            actor=actor,
            summary=f"API key “{key.name}” revoked (prefix {key.prefix}).",
            payload={"id": key.pk, "name": key.name, "prefix": key.prefix},
        )
    return key


def api_key_mark_used(*, tenant: Tenant, key: ApiKey) -> None:
    """Record the use, at most once a minute a key: a busy key does not write on every request."""
    now = timezone.now()
    if key.last_used_at is not None and now - key.last_used_at < LAST_USED_EVERY:
        return
    ApiKey.objects.filter(tenant=tenant, pk=key.pk).exclude(last_used_at__gt=now - LAST_USED_EVERY).update(
        last_used_at=now
    )
    key.last_used_at = now
