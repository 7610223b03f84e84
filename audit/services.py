"""Writing the audit trail: every domain event (tenancy/events.py) becomes one row, in the
transaction that published it."""

from tenancy.events import Event

from .models import Action, AuditEvent

# What kind of action each event is, by its exact name; otherwise by the last part of its name.
ACTION_OF_EVENT = {
    "code.redeemed": Action.REDEEM,
    "learner.registered": Action.REDEEM,
    "package.used": Action.REDEEM,
    "booking.created": Action.CREATE,
    "booking.cancelled": Action.REVOKE,
    "access.removed": Action.REVOKE,
    "contract.contract_created": Action.CREATE,
    "contract.price_added": Action.CREATE,
    "contract.participant_added": Action.CREATE,
    "contract.codes_generated": Action.CREATE,
    "contract.contract_changed": Action.CHANGE,
    "contract.price_changed": Action.CHANGE,
    "contract.participant_changed": Action.CHANGE,
    "contract.code_changed": Action.CHANGE,
    "contract.price_removed": Action.DELETE,
    "contract.code_deleted": Action.DELETE,
    "contract.code_voided": Action.REVOKE,
    "contract.code_released": Action.CHANGE,
    "contract.code_shown": Action.OTHER,
    "contract.codes_downloaded": Action.OTHER,
    "contract.import_committed": Action.IMPORT,
}
ACTION_OF_ENDING = {
    "created": Action.CREATE,
    "added": Action.CREATE,
    "changed": Action.CHANGE,
    "deleted": Action.DELETE,
    "removed": Action.DELETE,
    "queued": Action.SEND,
    "sent": Action.SEND,
    "resent": Action.SEND,
    "redeemed": Action.REDEEM,
    "revoked": Action.REVOKE,
    "cancelled": Action.REVOKE,
    "voided": Action.REVOKE,
    "replayed": Action.SEND,
    "pinged": Action.SEND,
    "erased": Action.DELETE,
    "requested": Action.OTHER,
    "downloaded": Action.OTHER,
    "void": Action.REVOKE,
    "withdrawn": Action.REVOKE,
    "invalid": Action.REVOKE,
    "expired": Action.REVOKE,
}


def action_for(name: str) -> str:
    if name in ACTION_OF_EVENT:
        return ACTION_OF_EVENT[name]
    if name.startswith("import."):
        return Action.IMPORT
    return ACTION_OF_ENDING.get(name.rsplit(".", 1)[-1].rsplit("_", 1)[-1], Action.OTHER)


def audit_record(event: Event) -> AuditEvent | None:
    """The subscriber: one row per event of a tenant (platform events, without one, are not a
    tenant's to read)."""
    if event.tenant is None:
        return None
    return AuditEvent.objects.create(
        tenant=event.tenant,
        occurred_at=event.occurred_at,
        action=action_for(event.name),
        event=event.name[:80],
        actor_label=event.actor.label[:254],
        actor_user_id=event.actor.user_id,
        api_key_id=event.actor.api_key_id,
        object_type=event.object_type[:100],
        object_id=event.object_id[:40],
        object_repr=event.object_repr[:200],
        summary=event.summary[:500],
        changes=event.changes,
        data=event.payload,
    )
