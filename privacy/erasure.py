"""Erasure of one person's personal data in one tenant, found by their email address.

Every row that holds the person (client cards, bookings, participants, session orders, registrations,
invitations and waitlist entries, learner invites, redemptions, code sends, outbox rows, audit and
webhook payloads, contract history, uploaded files) keeps its place — counts of redemptions, uses and
bookings do not change — but its address becomes ``erased-<n>@erased.invalid``, names become
"Erased", and phones, birth dates, notes and message bodies are emptied. It all happens in one
transaction, written with ``update()`` so that the model signals of the audit trail do not copy the
old values into new audit rows. The ``person.erased`` event says how many rows of each kind changed
and holds only a SHA-256 of the address.

A member of the tenant's team is refused: their login is the workspace's, not a customer's data. A
login that belongs to nobody else (no membership anywhere, no trace in another workspace) is
deactivated and anonymised; one used in another workspace is left to that workspace.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

from django.apps import apps
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Q, TextField
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from accounts.models import User, normalize_email
from tenancy.events import publish
from tenancy.models import Membership
from tenancy.scoping import scopes_disabled

from .models import Erasure

ERASED_NAME = "Erased"
ERASED_TEXT = "(erased)"
ERASED_DOMAIN = "@erased.invalid"

EMAIL_INVALID = gettext_noop("Enter an email address, e.g. jane@example.com.")
EMAIL_IS_PLACEHOLDER = gettext_noop("That address is already an erased placeholder.")
STAFF_REFUSED = gettext_noop(
    "{email} belongs to a member of this workspace's team. Remove them from the team first; "
    "staff accounts cannot be erased from here."
)
NOTHING_LEFT = gettext_noop(
    "Nothing in this workspace holds {email} any more (already erased, or never here). Nothing was changed."
)

# Keys inside audit, webhook and history JSON that hold a person's details.
NAME_KEYS = {"first_name", "last_name", "name", "full_name", "contact_name", "learner", "participant"}
DETAIL_KEYS = {
    "phone",
    "to_phone",
    "date_of_birth",
    "notes",
    "message",
    "body_text",
    "body_html",
    "subject",
    "address",
    "recipient",
}

# (kind, what the page calls it) in the order the page lists them.
KINDS = [
    ("clients", "client cards"),
    ("bookings", "bookings"),
    ("participants", "contract participants"),
    ("organisations", "organisation contacts"),
    ("orders", "session orders"),
    ("registrations", "session registrations"),
    ("session_invitations", "session invitations"),
    ("waitlist_entries", "waitlist entries"),
    ("learner_invites", "learner invitations"),
    ("staff_invitations", "team invitations"),
    ("redemptions", "code redemptions"),
    ("code_sends", "code sends"),
    ("outbox", "emails and SMS"),
    ("contract_events", "contract history lines"),
    ("audit_events", "audit trail entries"),
    ("webhook_deliveries", "webhook deliveries"),
    ("import_files", "import files"),
]
KIND_LABELS = dict(KINDS)


class ErasureRefused(Exception):
    pass


@dataclass
class ErasurePlan:
    """What an erasure would change: rows per kind (and the login's fate)."""

    email: str
    counts: dict[str, int]
    login: str = ""  # "deactivate", "kept" (used elsewhere) or ""
    login_reason: str = ""
    lines: list[tuple[str, int]] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def empty(self) -> bool:
        return self.total == 0 and self.login != "deactivate"


def email_clean(raw) -> str:
    email = normalize_email(raw if isinstance(raw, str) else "")
    if not email or len(email) > 254:
        raise ErasureRefused(_(EMAIL_INVALID))
    try:
        validate_email(email)
    except ValidationError as exc:
        raise ErasureRefused(_(EMAIL_INVALID)) from exc
    if email.endswith(ERASED_DOMAIN):
        raise ErasureRefused(_(EMAIL_IS_PLACEHOLDER))
    return email


def _model(label):
    return apps.get_model(label)


def _not_erased(field_name: str) -> Q:
    return ~Q(**{f"{field_name}__iendswith": ERASED_DOMAIN})


def _json_mentions(queryset, email: str, *fields: str):
    condition = Q()
    names = {}
    for name in fields:
        alias = f"_{name}_text"
        names[alias] = Cast(name, TextField())
        condition |= Q(**{f"{alias}__icontains": email})
    return queryset.annotate(**names).filter(condition)


class _Finder:
    """The querysets of everything in ``tenant`` that holds the person."""

    def __init__(self, tenant, email: str, user):
        self.tenant = tenant
        self.email = email
        self.user = user

    def by_email(self, label: str, field_name: str = "email", *, user_field: str | None = None):
        condition = Q(**{f"{field_name}__iexact": self.email})
        if user_field and self.user is not None:
            condition |= Q(**{user_field: self.user}) & _not_erased(field_name)
        return _model(label).objects.filter(tenant=self.tenant).filter(condition)

    def phones(self) -> set[str]:
        """The person's mobile numbers as the outbox writes them (E.164: + and digits), from the rows
        that hold their address, so SMS sent to them are found too."""
        numbers = set()
        for label in (
            "accounts.client",
            "bookings.booking",
            "contracts.participant",
            "sessions_roster.sessioninvitation",
            "regcodes.learnerinvite",
        ):
            for phone in self.by_email(label).exclude(phone="").values_list("phone", flat=True):
                digits = re.sub(r"[^\d+]", "", phone)
                if len(digits) >= 8:
                    numbers.add(digits)
        return numbers

    def querysets(self) -> dict:
        t = self.tenant
        phones = self.phones()
        sms_to_person = Q(channel="sms", to_phone__in=phones) if phones else Q(pk__in=[])
        return {
            "clients": self.by_email("accounts.client", user_field="user"),
            "bookings": self.by_email("bookings.booking"),
            "participants": self.by_email("contracts.participant"),
            "organisations": self.by_email("contracts.organisation"),
            "orders": self.by_email("sessions_roster.order", user_field="user"),
            "registrations": self.by_email("sessions_roster.registration"),
            "session_invitations": self.by_email("sessions_roster.sessioninvitation"),
            "waitlist_entries": self.by_email("sessions_roster.waitlistentry", user_field="user"),
            "learner_invites": self.by_email("regcodes.learnerinvite"),
            "staff_invitations": self.by_email("tenancy.staffinvitation"),
            "redemptions": self.by_email("invitations.redemption"),
            "code_sends": self.by_email("invitations.codesend", "recipient")
            | _model("invitations.codesend").objects.filter(tenant=t, recipient__in=phones),
            "outbox": _model("messaging.outboundemail")
            .objects.filter(tenant=t)
            .filter(
                sms_to_person
                | Q(to_email__iexact=self.email)
                | Q(subject__icontains=self.email)
                | Q(body_text__icontains=self.email)
                | Q(body_html__icontains=self.email)
            ),
            "contract_events": _json_mentions(
                _model("contracts.contractevent").objects.filter(tenant=t), self.email, "summary", "data"
            ),
            "webhook_deliveries": _json_mentions(
                _model("webhooks.webhookdelivery").objects.filter(tenant=t), self.email, "payload"
            ),
        }


def _login_fate(tenant, user) -> tuple[str, str]:
    """ "deactivate" when the login is this person's alone and used nowhere else, else "kept"."""
    if user is None:
        return "", ""
    with scopes_disabled():
        if Membership.objects.filter(user=user).exclude(tenant=tenant).exists():
            return "kept", "the login is a member of another workspace"
        elsewhere = [
            _model("accounts.client").objects.filter(Q(user=user) | Q(email__iexact=user.email)),
            _model("sessions_roster.order").objects.filter(Q(user=user) | Q(email__iexact=user.email)),
            _model("sessions_roster.waitlistentry").objects.filter(Q(user=user) | Q(email__iexact=user.email)),
            _model("sessions_roster.registration").objects.filter(email__iexact=user.email),
            _model("regcodes.seatorder").objects.filter(buyer=user),
            _model("regcodes.courseaccess").objects.filter(learner=user),
            _model("bookings.booking").objects.filter(email__iexact=user.email),
        ]
        if any(queryset.exclude(tenant=tenant).exists() for queryset in elsewhere):
            return "kept", "the login is also used in another workspace, which keeps it"
    return "deactivate", ""


def _person(tenant, email: str):
    user = User.objects.filter(email__iexact=email).first()
    if user is not None and Membership.objects.filter(tenant=tenant, user=user).exists():
        raise ErasureRefused(_(STAFF_REFUSED).format(email=email))
    return user


def _audit_rows(tenant, email: str, touched: dict[str, set]):
    audit = _model("audit.auditevent").objects.filter(tenant=tenant)
    condition = Q()
    for label, ids in touched.items():
        if ids:
            condition |= Q(object_type=label, object_id__in=[str(pk) for pk in ids])
    mentions = _json_mentions(audit, email, "changes", "data", "summary", "object_repr", "actor_label")
    about = audit.filter(condition) if condition else audit.none()
    return mentions, about


def _import_jobs(tenant, email: str):
    """Import jobs whose stored file or results mention the address (files are read in chunks)."""
    jobs = _model("imports.importjob").objects.filter(tenant=tenant)
    needle = email.encode()
    found = set(_json_mentions(jobs, email, "problems", "plan", "summary").values_list("pk", flat=True))
    for pk, content in jobs.exclude(pk__in=found).values_list("pk", "content").iterator(chunk_size=20):
        if content and needle in bytes(content).lower():
            found.add(pk)
    return jobs.filter(pk__in=found)


def erasure_plan(*, tenant, email) -> ErasurePlan:
    """What erasing ``email`` would change, without changing anything."""
    email = email_clean(email)
    user = _person(tenant, email)
    querysets = _Finder(tenant, email, user).querysets()
    counts = {kind: queryset.count() for kind, queryset in querysets.items()}
    touched = {
        queryset.model._meta.label_lower: set(queryset.values_list("pk", flat=True)) for queryset in querysets.values()
    }
    mentions, about = _audit_rows(tenant, email, touched)
    counts["audit_events"] = len(set(mentions.values_list("pk", flat=True)) | set(about.values_list("pk", flat=True)))
    counts["import_files"] = _import_jobs(tenant, email).count()
    login, reason = _login_fate(tenant, user)
    plan = ErasurePlan(email=email, counts=counts, login=login, login_reason=reason)
    plan.lines = [(label, counts[kind]) for kind, label in KINDS if counts.get(kind)]
    return plan


class _Scrubber:
    """Replaces the address (any case), the person's names and phones inside text and JSON."""

    def __init__(self, email: str, placeholder: str, names: set[str], phones: set[str]):
        self.placeholder = placeholder
        words = [re.escape(email)] + [re.escape(n) for n in sorted(names, key=len, reverse=True) if len(n) > 2]
        self.pattern = re.compile("|".join(words), re.IGNORECASE)
        self.email = email
        self.phones = {p for p in phones if p}

    def text(self, value: str) -> str:
        if not isinstance(value, str) or not value:
            return value
        for phone in self.phones:
            value = value.replace(phone, ERASED_TEXT)
        return self.pattern.sub(lambda m: self.placeholder if m.group(0).lower() == self.email else ERASED_NAME, value)

    def json(self, value, key: str = ""):
        if isinstance(value, dict):
            return {k: self.json(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [self.json(v, key) for v in value]
        if isinstance(value, str) and value:
            if key in NAME_KEYS:
                return ERASED_NAME
            if key in DETAIL_KEYS:
                return self.placeholder if value.lower() == self.email else ERASED_TEXT
            return self.text(value)
        return value

    def changes(self, value):
        """An audit row's {field: [before, after]} (or {field: value})."""
        if not isinstance(value, dict):
            return self.json(value)
        return {k: self.json(v, k) for k, v in value.items()}


def person_erase(*, tenant, email, actor) -> Erasure:
    """Erase one person's data in ``tenant``; raises ``ErasureRefused`` with a message for the page."""
    email = email_clean(email)
    with transaction.atomic():
        # One erasure at a time per tenant, so two clicks cannot interleave their updates.
        type(tenant).objects.select_for_update().filter(pk=tenant.pk).first()
        plan = erasure_plan(tenant=tenant, email=email)
        if plan.empty:
            raise ErasureRefused(_(NOTHING_LEFT).format(email=email))
        user = User.objects.filter(email__iexact=email).first()
        erasure = Erasure.objects.create(
            tenant=tenant,
            email_sha256=hashlib.sha256(email.encode()).hexdigest(),
            erased_by=actor if getattr(actor, "is_authenticated", False) else None,
        )
        placeholder = erasure.placeholder_email
        querysets = _Finder(tenant, email, user).querysets()
        touched = {qs.model._meta.label_lower: set(qs.values_list("pk", flat=True)) for qs in querysets.values()}
        names, phones = _collect_identity(querysets)
        scrub = _Scrubber(email, placeholder, names, phones)
        mentions, about = _audit_rows(tenant, email, touched)
        audit_ids = set(mentions.values_list("pk", flat=True)) | set(about.values_list("pk", flat=True))
        import_ids = set(_import_jobs(tenant, email).values_list("pk", flat=True))
        counts = _erase_rows(tenant, querysets, placeholder, scrub)
        counts["audit_events"] = _erase_audit(tenant, audit_ids, scrub)
        counts["import_files"] = _erase_imports(tenant, import_ids, email, placeholder, scrub)
        login_deactivated = False
        if user is not None and plan.login == "deactivate":
            user.set_unusable_password()
            User.objects.filter(pk=user.pk).update(
                email=placeholder,
                first_name=ERASED_NAME,
                last_name="",
                is_active=False,
                email_verified=False,
                password=user.password,
            )
            login_deactivated = True
        counts = {kind: count for kind, count in counts.items() if count}
        erasure.counts = counts
        erasure.login_deactivated = login_deactivated
        erasure.save(update_fields=["counts", "login_deactivated"])
        described = ", ".join(f"{counts[kind]} {label}" for kind, label in KINDS if counts.get(kind)) or "no rows"
        if login_deactivated:
            described += "; their login deactivated"
        publish(
            tenant=tenant,
            name="person.erased",
            summary=f"One person's data erased (erasure #{erasure.pk}): {described}",
            obj=erasure,
            payload={
                "email_sha256": erasure.email_sha256,
                "counts": counts,
                "login_deactivated": login_deactivated,
                "placeholder": placeholder,
            },
            actor=actor,
        )
    return erasure


def _collect_identity(querysets) -> tuple[set[str], set[str]]:
    """The person's names ("Jane Doe") and phone numbers as the rows hold them, to scrub from text."""
    names, phones = set(), set()
    for kind in ("clients", "bookings", "participants", "orders", "registrations", "waitlist_entries"):
        for first, last in querysets[kind].values_list("first_name", "last_name"):
            full = f"{first} {last}".strip()
            if full and full != ERASED_NAME:
                names.add(full)
    for kind in ("clients", "bookings", "participants", "session_invitations", "learner_invites"):
        for phone in querysets[kind].values_list("phone", flat=True):
            digits = re.sub(r"[^\d+]", "", phone or "")
            phones.update(p for p in (phone, digits) if len(p) >= 8)
    return names, phones


def _erase_rows(tenant, querysets: dict, placeholder: str, scrub: _Scrubber) -> dict[str, int]:
    counts = {}
    person = {"email": placeholder, "first_name": ERASED_NAME, "last_name": ERASED_NAME}

    clients = list(querysets["clients"].values_list("pk", flat=True))
    Client = querysets["clients"].model
    for index, pk in enumerate(clients):
        # client_email_unique_in_tenant: a second card of the same person needs its own placeholder.
        address = placeholder if index == 0 else placeholder.replace("@", f"-{index + 1}@")
        Client.objects.filter(tenant=tenant, pk=pk).update(**person | {"email": address, "phone": "", "notes": ""})
    counts["clients"] = len(clients)

    counts["bookings"] = querysets["bookings"].update(**person, phone="", date_of_birth=None, notes="")
    counts["participants"] = querysets["participants"].update(**person, phone="", date_of_birth=None)
    counts["organisations"] = querysets["organisations"].update(email=placeholder, contact_name=ERASED_NAME, phone="")
    counts["orders"] = querysets["orders"].update(**person)
    counts["registrations"] = querysets["registrations"].update(**person)
    counts["session_invitations"] = querysets["session_invitations"].update(email=placeholder, phone="")
    counts["waitlist_entries"] = querysets["waitlist_entries"].update(**person)
    counts["learner_invites"] = querysets["learner_invites"].update(email=placeholder, phone="", message="")
    now = timezone.now()
    staff_invitations = querysets["staff_invitations"]
    counts["staff_invitations"] = staff_invitations.count()
    staff_invitations.filter(accepted_at__isnull=True, revoked_at__isnull=True).update(revoked_at=now)
    staff_invitations.update(email=placeholder)
    counts["redemptions"] = querysets["redemptions"].update(email=placeholder)
    code_sends = querysets["code_sends"].model.objects.filter(
        tenant=tenant, pk__in=list(querysets["code_sends"].values_list("pk", flat=True))
    )
    counts["code_sends"] = code_sends.update(recipient=placeholder, name=ERASED_NAME)

    outbox = querysets["outbox"]
    Outbox = outbox.model
    outbox_rows = list(
        outbox.values_list("pk", "channel", "to_email", "to_phone", "subject", "body_text", "body_html", "status")
    )
    for pk, channel, to_email, to_phone, subject, body_text, body_html, status in outbox_rows:
        values = {}
        if to_email.lower() == scrub.email or (channel == "sms" and to_phone in scrub.phones):
            # The message was to the person: nothing of it stays, and a queued one never goes out.
            values = {
                "to_email": placeholder if to_email else "",
                "to_phone": "",
                "subject": ERASED_TEXT,
                "body_text": "",
                "body_html": "",
                "private_values": {},
            }
            if status in ("queued", "sending"):
                values |= {"status": "failed", "last_error": "Not sent: the recipient's data was erased."}
        else:
            values = {
                "subject": scrub.text(subject)[:998],
                "body_text": scrub.text(body_text),
                "body_html": scrub.text(body_html),
            }
        Outbox.objects.filter(tenant=tenant, pk=pk).update(**values)
    counts["outbox"] = len(outbox_rows)

    events = querysets["contract_events"]
    event_ids = list(events.values_list("pk", flat=True))
    for row in events.model.objects.filter(tenant=tenant, pk__in=event_ids).only("pk", "summary", "data"):
        events.model.objects.filter(tenant=tenant, pk=row.pk).update(
            summary=scrub.text(row.summary)[:500], data=scrub.json(row.data)
        )
    counts["contract_events"] = len(event_ids)

    deliveries = querysets["webhook_deliveries"]
    delivery_ids = list(deliveries.values_list("pk", flat=True))
    for pk, payload in deliveries.model.objects.filter(tenant=tenant, pk__in=delivery_ids).values_list("pk", "payload"):
        deliveries.model.objects.filter(tenant=tenant, pk=pk).update(payload=scrub.json(payload))
    counts["webhook_deliveries"] = len(delivery_ids)
    return counts


def _erase_audit(tenant, ids: set[int], scrub: _Scrubber) -> int:
    AuditEvent = _model("audit.auditevent")
    rows = AuditEvent.objects.filter(tenant=tenant, pk__in=ids)
    for event in rows.only("pk", "changes", "data", "summary", "object_repr", "actor_label"):
        AuditEvent.objects.filter(tenant=tenant, pk=event.pk).update(
            changes=scrub.changes(event.changes),
            data=scrub.json(event.data),
            summary=scrub.text(event.summary)[:500],
            object_repr=scrub.text(event.object_repr)[:200],
            actor_label=scrub.text(event.actor_label)[:254],
        )
    return len(ids)


def _erase_imports(tenant, ids: set[int], email: str, placeholder: str, scrub: _Scrubber) -> int:
    ImportJob = _model("imports.importjob")
    pattern = re.compile(re.escape(email.encode()), re.IGNORECASE)
    for pk in ids:
        job = ImportJob.objects.filter(tenant=tenant, pk=pk).only("content", "problems", "plan", "summary").first()
        content = bytes(job.content) if job.content else b""
        ImportJob.objects.filter(tenant=tenant, pk=pk).update(
            content=pattern.sub(placeholder.encode(), content),
            problems=scrub.json(job.problems),
            plan=scrub.json(job.plan),
            summary=scrub.json(job.summary),
        )
    return len(ids)
