"""The kinds of email Tessera sends. Each app registers its own in ``AppConfig.ready()``.

A kind's default subject, text and HTML live in template files named after its key:
``emails/<app>/<name>.subject.txt``, ``.txt`` and ``.html`` for the key ``<app>.<name>``; a kind
that can also go by SMS (``sms=True``) has its short text in ``emails/<app>/<name>.sms.txt``.
"""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class EmailKind:
    key: str
    label: str
    description: str
    sample_context: dict = field(default_factory=dict)
    tenant_editable: bool = True
    # Context values that are secrets (links with tokens): never shown in the outbox.
    private: tuple[str, ...] = ()
    # It can also go by SMS, with the text of the default file ``<name>.sms.txt`` (not tenant-editable).
    sms: bool = False

    def default_template_name(self, part: str) -> str:
        app, name = self.key.split(".", 1)
        suffix = {"subject": ".subject.txt", "text": ".txt", "html": ".html", "sms": ".sms.txt"}[part]
        return f"emails/{app}/{name}{suffix}"


_kinds: dict[str, EmailKind] = {}


def register(kind: EmailKind) -> None:
    _kinds[kind.key] = kind


def get(key: str) -> EmailKind | None:
    return _kinds.get(key)


def editable_kinds() -> list[EmailKind]:
    return sorted((k for k in _kinds.values() if k.tenant_editable), key=lambda k: k.label)
