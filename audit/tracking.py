"""Creates, changes and deletes of the models people edit one at a time, recorded from Django's
model signals, with the values before and after.

The other tenant-owned models are recorded by the services that write them, as domain events with
their own words (a code redeemed, 10,000 emails queued, access removed): writes made in bulk (COPY,
``update()``) send no signals, and an event says what happened better than a changed column does.
``NOT_TRACKED`` names each such model and why; a test keeps both lists complete.
"""

from django.apps import apps
from django.db import models
from django.db.models.signals import post_delete, post_save, pre_save

from tenancy.events import json_ready, publish

# Model label → fields left out of the trail (secrets, file contents, counters kept by the system).
TRACKED = {
    "tenancy.tenant": {"slug", "logo_type", "logo_updated_at"},  # the logo itself shows as "logo" changed
    "tenancy.membership": set(),
    "tenancy.staffinvitation": set(),
    "accounts.client": set(),
    "bookings.service": set(),
    "bookings.weeklyavailability": set(),
    "contracts.organisation": set(),
    "messaging.emailtemplateoverride": set(),
    "sessions_roster.session": {"spots_taken"},
    "sessions_roster.discountcode": {"uses"},
    "sessions_roster.order": set(),
    "sessions_roster.registration": set(),
    "sessions_roster.sessioninvitation": {"proof_attempts", "proof_codes_sent", "proof_expires_at"},
    "sessions_roster.waitlistentry": set(),
    "regcodes.product": set(),
    "regcodes.productsession": set(),
    "regcodes.seatorder": set(),
    "regcodes.learnerinvite": set(),
    "regcodes.courseaccess": {"revoked_at", "revoked_by"},  # granting and removing are events
    "packages_credits.package": set(),
    "packages_credits.packageitem": set(),
    "packages_credits.clientpackage": set(),
    "packages_credits.packagepayment": set(),
}
# Only these actions of a tracked model (the others are published as events).
TRACKED_ACTIONS = {
    "regcodes.courseaccess": {"changed"},
}
NOT_TRACKED = {
    "contracts.contract": "its history (contract.* events) records every change",
    "contracts.contractprice": "contract.price_* events",
    "contracts.participant": "contract.participant_* events; thousands at once come from imports",
    "contracts.contractevent": "the contract's history itself; each line is also a contract.* event",
    "invitations.invitationcode": "contract.code_* events; made 100,000 at a time",
    "invitations.codebatch": "code_batch.created when asked for, contract.codes_generated when it is done",
    "invitations.redemption": "code.redeemed",
    "invitations.codesend": "codes.sent / code.resent",
    "bookings.booking": "booking.created, booking.cancelled",
    "bookings.slot": "a seat counter kept by bookings",
    "messaging.outboundemail": "email.queued / emails.queued / sms.queued: the send, not the delivery",
    "imports.importjob": "import.started, import.committed",
    "regcodes.registrationcode": "made per seat order; claimed and freed through learner.registered, access.removed",
    "packages_credits.credit": "a counter; package.used records each use",
    "packages_credits.credituse": "package.used",
    "audit.auditevent": "the trail itself",
    "api.apikey": "api_key.created, api_key.revoked",
    "webhooks.webhookendpoint": "webhook_endpoint.created / changed / deleted",
    "webhooks.webhookdelivery": "its own delivery log; a replay is webhook_delivery.replayed",
    "privacy.dataexport": "data_export.requested, data_export.downloaded",
    "privacy.erasure": "person.erased",
}
REVOKING_STATUSES = {"cancelled", "void", "revoked", "withdrawn", "invalid", "expired"}
SKIPPED_ALWAYS = {"id", "tenant", "created_at", "updated_at", "last_login"}
# Secrets and what leads to them never enter the trail, whatever the model.
SECRET_PARTS = ("hash", "salt", "token", "secret", "password")


def _fields(model, excluded: set[str]) -> list:
    return [
        field
        for field in model._meta.concrete_fields
        if field.name not in SKIPPED_ALWAYS
        and field.name not in excluded
        and not any(part in field.name for part in SECRET_PARTS)
    ]


def _shown(field, value):
    """File contents (a logo) enter the trail as a size and a fingerprint, never as bytes."""
    if isinstance(field, models.BinaryField):
        from tenancy.branding import logo_digest

        return logo_digest(value)
    return value


def _values(instance, fields) -> dict:
    return json_ready({field.name: _shown(field, getattr(instance, field.attname)) for field in fields})


def _tenant_of(instance):
    if instance._meta.label_lower == "tenancy.tenant":
        return instance
    return getattr(instance, "tenant", None) if getattr(instance, "tenant_id", None) else None


def _wanted(label: str, what: str) -> bool:
    return what in TRACKED_ACTIONS.get(label, {"created", "changed", "deleted"})


def _before_save(sender, instance, raw=False, update_fields=None, **kwargs):
    label = sender._meta.label_lower
    instance._audit_before = None
    if raw or instance._state.adding or instance.pk is None or not _wanted(label, "changed"):
        return
    fields = _fields(sender, TRACKED[label])
    if update_fields is not None:
        fields = [field for field in fields if field.name in update_fields or field.attname in update_fields]
    if not fields:
        return
    before = sender._base_manager.filter(pk=instance.pk).values(*[field.attname for field in fields]).first()
    if before is not None:
        instance._audit_before = (
            json_ready({field.name: _shown(field, before[field.attname]) for field in fields}),
            fields,
        )


def _after_save(sender, instance, created, raw=False, **kwargs):
    label = sender._meta.label_lower
    tenant = _tenant_of(instance)
    if raw or tenant is None:
        return
    name = sender._meta.verbose_name
    if created:
        if _wanted(label, "created"):
            values = _values(instance, _fields(sender, TRACKED[label]))
            publish(
                tenant=tenant,
                name=f"{label}.created",
                obj=instance,
                summary=f"{name.capitalize()} “{instance}” created.",
                changes={key: [None, value] for key, value in values.items() if value not in (None, "")},
            )
        return
    remembered = getattr(instance, "_audit_before", None)
    if not remembered:
        return
    before, fields = remembered
    after = _values(instance, fields)
    changes = {key: [before[key], after[key]] for key in after if before.get(key) != after[key]}
    if changes:
        # A status moved to an end such as "cancelled" is a revocation, and named after it.
        ending = changes.get("status", [None, None])[1]
        publish(
            tenant=tenant,
            name=f"{label}.{ending if ending in REVOKING_STATUSES else 'changed'}",
            obj=instance,
            summary=f"{name.capitalize()} “{instance}” changed: {', '.join(k.replace('_', ' ') for k in changes)}.",
            changes=changes,
        )


def _after_delete(sender, instance, **kwargs):
    label = sender._meta.label_lower
    tenant = _tenant_of(instance)
    if tenant is None or not _wanted(label, "deleted") or label == "tenancy.tenant":
        return
    values = _values(instance, _fields(sender, TRACKED[label]))
    publish(
        tenant=tenant,
        name=f"{label}.deleted",
        obj=instance,
        summary=f"{sender._meta.verbose_name.capitalize()} “{instance}” deleted.",
        changes={key: [value, None] for key, value in values.items() if value not in (None, "")},
    )


def connect() -> None:
    for label in TRACKED:
        model = apps.get_model(label)
        uid = f"audit:{label}"
        pre_save.connect(_before_save, sender=model, dispatch_uid=uid)
        post_save.connect(_after_save, sender=model, dispatch_uid=uid)
        post_delete.connect(_after_delete, sender=model, dispatch_uid=uid)
